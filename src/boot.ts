/**
 * boot: config -> logger -> secrets -> database (+migrations) -> app -> listen -> background
 * work; and the matching graceful shutdown. server.ts calls it for `npm start`; tests call it
 * with their own environment and port 0.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from './config.js';
import { createLogger, LogBuffer, type Logger } from './platform/log.js';
import { resolveSecrets } from './platform/secrets.js';
import { systemClock, type Clock } from './platform/clock.js';
import { openDatabase, type Database } from './db/database.js';
import { createApp, type App } from './app.js';

export interface BootOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** where JSON log lines go (tests capture them); stdout by default */
  logDestination?: NodeJS.WritableStream;
}

export interface Running {
  config: Config;
  log: Logger;
  logBuffer: LogBuffer;
  db: Database;
  app: App;
  server: http.Server | https.Server;
  url: string;
  timings: { databaseMs: number; appMs: number; totalMs: number };
  /** graceful: stop taking requests, finish in-flight ones, stop jobs, close the database */
  shutdown(reason?: string): Promise<void>;
}

export async function boot(opts: BootOptions = {}): Promise<Running> {
  const t0 = performance.now();
  const config = loadConfig(opts.env);
  const logBuffer = new LogBuffer(config.LOG_BUFFER_SIZE);
  const log = createLogger({ level: config.LOG_LEVEL, buffer: logBuffer, destination: opts.logDestination });
  const secrets = await resolveSecrets(config, log);
  const db = await openDatabase(config, log);
  const tDb = performance.now();
  let app: App;
  try {
    app = await createApp({ config, log, logBuffer, db, secrets, clock: opts.clock ?? systemClock, instanceId: randomUUID() });
  } catch (err) {
    await db.close();
    throw err;
  }
  const tApp = performance.now();

  const tls = config.TLS_CERT_FILE && config.TLS_KEY_FILE;
  const server = tls
    ? https.createServer({ cert: readFileSync(config.TLS_CERT_FILE!), key: readFileSync(config.TLS_KEY_FILE!) }, app.express)
    : http.createServer(app.express);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `${tls ? 'https' : 'http'}://${host}:${addr.port}`;

  try {
    await app.start();
  } catch (err) {
    server.close();
    await app.stop();
    await db.close();
    throw err;
  }
  const tEnd = performance.now();

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> => {
    shuttingDown ??= (async () => {
      log.info({ reason }, 'shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), config.SHUTDOWN_TIMEOUT_MS - 1000).unref());
      const stopJobs = app.stop();
      if ((await Promise.race([closed.then(() => 'ok' as const), deadline])) === 'timeout') {
        log.warn('in-flight requests did not finish in time; closing their connections');
        server.closeAllConnections();
      }
      await stopJobs;
      await db.close();
      log.info('stopped');
      log.flush?.();
    })();
    return shuttingDown;
  };

  return {
    config,
    log,
    logBuffer,
    db,
    app,
    server,
    url,
    timings: { databaseMs: Math.round(tDb - t0), appMs: Math.round(tApp - tDb), totalMs: Math.round(tEnd - t0) },
    shutdown,
  };
}
