/**
 * The predictions tests' world: the real app on a real Postgres, real BTC/USD daily candles
 * from data/bundled/XBTUSD_1440.csv stored through market's CSV import (so 'candles.stored'
 * fires as in production), and a user and an administrator logged in for real.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startApp, type StartAppOptions, type TestApp } from '../../support/app.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import type { PredictionsFacade } from '../../../src/modules/predictions/index.js';
import type { MarketServices } from '../../../src/modules/market/index.js';
import type { SchedulerService } from '../../../src/modules/scheduler/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The bundled file's lines (time,open,high,low,close,volume,trades), oldest first. */
export function btcDailyLines(): string[] {
  return readFileSync(ROOT + 'data/bundled/XBTUSD_1440.csv', 'utf8').split('\n').filter(Boolean);
}

export const lineTime = (line: string) => Number(line.split(',')[0]);
export const lineClose = (line: string) => Number(line.split(',')[4]);

export interface World {
  app: TestApp;
  admin: TestAccount;
  user: TestAccount;
  predictions: PredictionsFacade;
  market: MarketServices;
  scheduler: SchedulerService;
  pairId: number;
  /** stores candles (CSV lines) through market's importer and waits for what they trigger (predict, score) */
  importLines(lines: string[]): Promise<number>;
  get(path: string, account?: TestAccount | null): Promise<{ status: number; body: any }>;
  send(method: string, path: string, json: unknown, account?: TestAccount): Promise<{ status: number; body: any }>;
  /** waits for a job run to end and returns it */
  waitRun(runId: number): Promise<any>;
  /** polls until fn returns a truthy value */
  until<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, ms?: number): Promise<T>;
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export async function startWorld(opts: { lines?: string[]; env?: Record<string, string>; app?: StartAppOptions } = {}): Promise<World> {
  const app = await startApp({ ...opts.app, env: { KRAKEN_MAX_RETRIES: '0', KRAKEN_TIMEOUT_MS: '500', LOG_LEVEL: 'warn', ...opts.env } });
  const services = app.running.app.services;
  const market = services.market;
  const { pair } = await market.service.ensurePair('XBTUSD');
  const admin = await createUserAndLogin(app, { role: 'admin' });
  const user = await createUserAndLogin(app);
  const call = async (method: string, path: string, json: unknown, account: TestAccount | null) => {
    const r = await app.fetch(path, { method, ...(account ? { token: account.token } : {}), ...(json === undefined ? {} : { json }) });
    const text = await r.text();
    let body: unknown = text;
    if ((r.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: r.status, body: body as any };
  };
  const { Client } = (await import('pg')).default;
  const sqlClient = new Client({ connectionString: app.db.connectionString });
  await sqlClient.connect();
  const world: World = {
    app,
    admin,
    user,
    predictions: services.predictions,
    market,
    scheduler: services.scheduler as SchedulerService,
    pairId: pair.id,
    async importLines(lines) {
      const r = await market.importer.importCsv(pair, 1440, lines.join('\n') + '\n');
      await app.running.app.events.drain();
      return r.inserted;
    },
    get: (path, account = user) => call('GET', path, undefined, account),
    send: (method, path, json, account = admin) => call(method, path, json, account),
    async waitRun(runId) {
      await (services.scheduler as SchedulerService).waitFor(runId);
      await app.running.app.events.drain();
      return (services.scheduler as SchedulerService).getRun(runId);
    },
    async until(fn, what, ms = 120_000) {
      const end = Date.now() + ms;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async sql(text, params = []) {
      return (await sqlClient.query(text, params)).rows;
    },
    async stop() {
      await sqlClient.end().catch(() => undefined);
      await app.stop();
    },
  };
  if (opts.lines) await world.importLines(opts.lines);
  return world;
}

/** A small, fast suite for tests: the naive baseline and two linear models. */
export const SMALL_SUITE = [
  { algorithm: 'naive', params: {} },
  { algorithm: 'ridge', params: { lambda: 30 } },
  { algorithm: 'linear', params: { intercept: true } },
];
/** Fewer walk-forward folds: quicker, same code. */
export const QUICK_VALIDATION = { walkForward: { maxFolds: 3 } };
