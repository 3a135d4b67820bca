/**
 * Boots the whole app on port 0 against a real Postgres, the way `npm start` does, for
 * integration tests. Only the outside world (Kraken, webhook receivers) is replaced.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { boot, type Running } from '../../src/boot.js';
import type { Clock } from '../../src/platform/clock.js';
import { startTestDatabase, type TestDatabase } from './postgres.js';

export interface TestApp {
  url: string;
  running: Running;
  db: TestDatabase;
  dataDir: string;
  /** every JSON log line the app wrote */
  logs: string[];
  fetch(pathname: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export interface StartAppOptions {
  env?: Record<string, string | undefined>;
  /** reuse a database (e.g. to boot a second instance on it) */
  db?: TestDatabase;
  clock?: Clock;
}

export async function startApp(opts: StartAppOptions = {}): Promise<TestApp> {
  const db = opts.db ?? (await startTestDatabase());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'candlecast-app-'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    DATABASE_URL: db.connectionString,
    LOG_LEVEL: 'info',
    SCHEDULER_ENABLED: 'false',
    BUNDLED_DATA: 'false',
    KRAKEN_API_URL: 'http://127.0.0.1:9/0/public',
    // never the real Kraken: tests that want the feed point it at the WebSocket stand-in
    KRAKEN_WS_ENABLED: 'false',
    KRAKEN_WS_URL: 'ws://127.0.0.1:9/v2',
    KRAKEN_MIN_INTERVAL_MS: '0',
    ...opts.env,
  };
  const ownsDb = !opts.db;
  let running: Running;
  try {
    running = await boot({ env, clock: opts.clock, logDestination: sink });
  } catch (err) {
    // a failed boot must not leave its Postgres and temp dir behind
    if (ownsDb) await db.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: running.url,
    running,
    db,
    dataDir,
    logs,
    fetch(pathname, init = {}) {
      const headers = new Headers(init.headers);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      return fetch(new URL(pathname, running.url), { ...init, headers, body, redirect: init.redirect ?? 'manual' });
    },
    async stop() {
      await running.shutdown('test');
      if (ownsDb) await db.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
