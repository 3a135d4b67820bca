/**
 * The market tests' world: the Kraken stand-in, the real app on a real Postgres with its
 * clock held at the stand-in's "now", and a user and an administrator logged in for real.
 */
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/platform/clock.js';
import { startApp, type StartAppOptions, type TestApp } from '../../support/app.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { startKrakenStandin, type KrakenStandin, type KrakenStandinOptions } from '../../support/kraken-standin.js';
import type { MarketServices } from '../../../src/modules/market/index.js';

export interface MarketWorld {
  app: TestApp;
  kraken: KrakenStandin;
  clock: FakeClock;
  admin: TestAccount;
  user: TestAccount;
  market: MarketServices;
  /** moves the stand-in's and the app's "now" together (Unix seconds) */
  setNow(t: number): void;
  advance(seconds: number): void;
  get(path: string, account?: TestAccount): Promise<{ status: number; body: any; headers: Headers }>;
  send(method: string, path: string, json: unknown, account?: TestAccount): Promise<{ status: number; body: any; headers: Headers }>;
  /** polls a backfill until it is no longer queued or running; fails after `maxPolls` */
  waitBackfill(id: number, maxPolls?: number): Promise<any>;
  stop(): Promise<void>;
}

export async function startMarketWorld(
  opts: {
    standin?: KrakenStandinOptions;
    env?: Record<string, string>;
    app?: StartAppOptions;
    /** more settings that need the stand-in (e.g. a WebSocket stand-in built on it) */
    envFor?: (kraken: KrakenStandin) => Promise<Record<string, string>>;
  } = {},
): Promise<MarketWorld> {
  const kraken = await startKrakenStandin(opts.standin);
  const clock = new FakeClock(kraken.now() * 1000);
  let app: TestApp;
  try {
    const more = opts.envFor ? await opts.envFor(kraken) : {};
    app = await startApp({ ...opts.app, clock, env: { KRAKEN_API_URL: kraken.url, KRAKEN_TIMEOUT_MS: '2000', ...opts.env, ...more } });
  } catch (err) {
    await kraken.close();
    throw err;
  }
  const admin = await createUserAndLogin(app, { role: 'admin' });
  const user = await createUserAndLogin(app);
  const call = async (method: string, path: string, json: unknown, account: TestAccount) => {
    const r = await app.fetch(path, { method, token: account.token, ...(json === undefined ? {} : { json }) });
    const text = await r.text();
    let body: unknown = text;
    if ((r.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: r.status, body: body as any, headers: r.headers };
  };
  const world: MarketWorld = {
    app,
    kraken,
    clock,
    admin,
    user,
    market: app.running.app.services.market,
    setNow(t) {
      kraken.setNow(t);
      clock.set(t * 1000);
    },
    advance(seconds) {
      world.setNow(kraken.now() + seconds);
    },
    get: (path, account = user) => call('GET', path, undefined, account),
    send: (method, path, json, account = admin) => call(method, path, json, account),
    async waitBackfill(id, maxPolls = 2400) {
      for (let i = 0; i < maxPolls; i++) {
        const r = await call('GET', `/api/crypto/backfills/${id}`, undefined, user);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        if (!['queued', 'running'].includes(r.body.status)) return r.body;
        await new Promise((res) => setTimeout(res, 50));
      }
      assert.fail(`backfill ${id} did not finish`);
    },
    async stop() {
      await app.stop();
      await kraken.close();
    },
  };
  return world;
}

/** Unix seconds of an ISO date. */
export const ts = (iso: string) => Date.parse(iso.endsWith('Z') || iso.length === 10 ? iso : `${iso}Z`) / 1000;
