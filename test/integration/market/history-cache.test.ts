/**
 * Closed candles served from memory (docs/performance.md#read-path), against what an instance
 * without the cache answers from the database on the same Postgres, byte for byte (body,
 * Content-Type, Link, Content-Disposition, ETag):
 *   - A and B cache, R has the cache off (HISTORY_CACHE_MAX_BYTES=0) and is the reference;
 *   - a cached read sends no query for candles or pairs, a strong ETag answers 304;
 *   - new candles stored by ingest on A, a CSV import on B and a purge on A are seen at once on
 *     the instance that made them and, through Postgres NOTIFY, on the other one;
 *   - a small byte bound evicts (instance S).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startApp, type TestApp } from '../../support/app.js';
import { installQueryCounter, type QueryCounter } from '../../support/query-counter.js';
import { startMarketWorld, ts, type MarketWorld } from './setup.js';
import { rawGet } from '../../support/raw-get.js';

// three days before the stand-in's series end, so ingest has candles to add later
const NOW = ts('2023-01-04T09:30:00');

const PATHS = [
  '/api/crypto/asset_history/XBTUSD',
  '/api/crypto/asset_history/btc-usd?interval=1d&limit=400',
  '/api/crypto/asset_history/XBTUSD?interval=1h&limit=100',
  '/api/crypto/asset_history/XBTUSD?interval=1h&start_date=2022-12-20&limit=100',
  '/api/crypto/asset_history/XBTUSD?interval=1h&start_date=2023-01-03&end_date=2030-01-01',
  '/api/crypto/asset_history/XBTUSD?interval=1h&format=csv&start_date=2023-01-02',
  '/api/crypto/asset_history/XBTUSD?exact=true&start_date=2019-12-01&end_date=2021-06-01',
  '/api/crypto/asset_history/XBTUSD?format=csv&start_date=2019-01-01',
  '/api/crypto/asset_history/XBTUSD?start_date=2019-01-01&end_date=2019-12-31',
];

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | null>;
}

describe('history served from memory, equal to the database', () => {
  let w: MarketWorld;
  let b: TestApp;
  let r: TestApp;
  let s: TestApp | undefined;
  let counter: QueryCounter;
  // many reads from one user and address: the limits and the anomaly detector are not under test here
  const env = { JWT_SECRET: randomBytes(32).toString('hex'), RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_PER_IP_PER_MINUTE: '1000000', ANOMALY_RATE_FLOOR_PER_MINUTE: '1000000' };

  const read = async (app: TestApp, path: string, requestId?: string): Promise<Answer> => {
    const res = await app.fetch(path, { token: w.user.token, headers: requestId ? { 'x-request-id': requestId } : {} });
    const body = Buffer.from(await res.arrayBuffer()).toString('utf8');
    const h = (n: string) => res.headers.get(n);
    return { status: res.status, body, headers: { 'content-type': h('content-type'), link: h('link'), 'content-disposition': h('content-disposition'), etag: h('etag') } };
  };
  const reference = async () => Promise.all(PATHS.map((p) => read(r, p)));
  /** every path read twice (a miss then, if cached, a hit) equals the reference */
  const assertSame = async (app: TestApp, name: string, ref: Answer[]) => {
    for (let i = 0; i < PATHS.length; i++) {
      for (const round of [1, 2]) assert.deepEqual(await read(app, PATHS[i]!), ref[i], `${name}, read ${round}: ${PATHS[i]}`);
    }
  };
  /** polls (bounded) until the other instance has taken the NOTIFY in */
  const eventuallySame = async (app: TestApp, name: string, ref: Answer[]) => {
    for (let i = 0; i < 200; i++) {
      const now = await Promise.all(PATHS.map((p) => read(app, p)));
      if (now.every((a, j) => JSON.stringify(a) === JSON.stringify(ref[j]))) return assertSame(app, name, ref);
      await new Promise((res) => setTimeout(res, 50));
    }
    await assertSame(app, name, ref);
  };

  before(async () => {
    counter = installQueryCounter();
    w = await startMarketWorld({ standin: { now: NOW }, env });
    const common = { ...env, KRAKEN_API_URL: w.kraken.url, KRAKEN_TIMEOUT_MS: '2000', LOG_LEVEL: 'warn' };
    b = await startApp({ db: w.app.db, clock: w.clock, env: common });
    r = await startApp({ db: w.app.db, clock: w.clock, env: { ...common, HISTORY_CACHE_MAX_BYTES: '0' } });
    const added = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    for (const x of added.body.backfill.backfills) assert.equal((await w.waitBackfill(x.id)).status, 'succeeded');
  });
  after(async () => {
    counter?.uninstall();
    await s?.stop();
    await r?.stop();
    await b?.stop();
    await w?.stop();
  });

  test('cached reads equal the uncached instance byte for byte, headers included', async () => {
    const ref = await reference();
    assert.ok(ref.every((a) => a.status === 200));
    assert.ok(ref[2]!.headers.link?.includes('rel="prev"'), 'a paged read has its Link header');
    assert.ok(ref[3]!.headers.link?.includes('rel="next"'));
    assert.equal(ref[5]!.headers['content-type'], 'text/csv; charset=utf-8');
    assert.match(ref[5]!.headers['content-disposition'] ?? '', /XBTUSD_1h\.csv/);
    assert.equal(ref[0]!.headers['content-type'], 'application/json; charset=utf-8');
    await assertSame(w.app, 'A', ref);
    await assertSame(b, 'B', ref);
  });

  test('a cached read sends no query for candles or pairs (the uncached instance does); a strong ETag answers 304', async () => {
    const path = PATHS[0]!;
    await read(w.app, path);
    const id = `hist-${randomBytes(6).toString('hex')}`;
    const floorId = `floor-${randomBytes(6).toString('hex')}`;
    const floor = await counter.during(floorId, () => w.app.fetch('/api/auth/protected', { token: w.user.token, headers: { 'x-request-id': floorId } }).then((x) => x.arrayBuffer()));
    const cached = await counter.during(id, () => read(w.app, path, id));
    assert.equal(cached.result.status, 200);
    const data = cached.queries.filter((q) => /candles|pairs/i.test(q));
    assert.deepEqual(data, [], `a cached read queried:\n${cached.queries.join('\n')}`);
    assert.ok(cached.queries.length <= floor.queries.length, `${cached.queries.length} queries, the credential check alone ${floor.queries.length}:\n${cached.queries.join('\n')}`);
    const rid = `ref-${randomBytes(6).toString('hex')}`;
    const uncached = await counter.during(rid, () => read(r, path, rid));
    assert.ok(uncached.queries.some((q) => /candles/i.test(q)), 'the uncached instance reads the candles');

    const url = new URL(path, w.app.url).toString();
    const auth = { authorization: `Bearer ${w.user.token}` };
    const etag = cached.result.headers.etag!;
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/, 'a strong validator');
    const nid = `inm-${randomBytes(6).toString('hex')}`;
    const again = await counter.during(nid, () => rawGet(url, { ...auth, 'if-none-match': etag, 'x-request-id': nid }));
    assert.equal(again.result.status, 304);
    assert.equal(again.result.bytes, 0);
    assert.deepEqual(again.queries.filter((q) => /candles|pairs/i.test(q)), []);
    const other = await rawGet(url, { ...auth, 'if-none-match': '"something-else"' });
    assert.equal(other.status, 200);
  });

  test('new candles stored by ingest on A: A answers like the database at once, B as soon as the NOTIFY arrives', async () => {
    const before = await reference();
    // the next hours close; both caching instances read (and cache) before they are stored
    w.advance(3 * 3600);
    const closedNotStored = await reference();
    await assertSame(w.app, 'A before ingest', closedNotStored);
    await assertSame(b, 'B before ingest', closedNotStored);
    const run = await w.market.ingest.runAll();
    assert.ok(run.added > 0, JSON.stringify(run));
    const after = await reference();
    assert.notDeepEqual(after.map((a) => a.body), closedNotStored.map((a) => a.body), 'the store changed some answers');
    assert.notDeepEqual(after.map((a) => a.body), before.map((a) => a.body));
    await assertSame(w.app, 'A after ingest', after);
    await eventuallySame(b, 'B after ingest', after);
  });

  test('a CSV import on B: B answers like the database at once, A as soon as the NOTIFY arrives', async () => {
    const before = await reference();
    const rows = w.kraken.sourceCandles('XBTUSD', 1440).filter((c) => c.time >= ts('2019-06-01') && c.time < ts('2020-01-01'));
    const csv = rows.map((c) => [c.time, c.open, c.high, c.low, c.close, c.volume, c.trades].join(',')).join('\n');
    const res = await b.fetch('/api/crypto/assets/XBTUSD/import?interval=1d', { method: 'POST', token: w.admin.token, headers: { 'content-type': 'text/csv' }, body: csv });
    const out = (await res.json()) as { inserted: number };
    assert.equal(res.status, 201, JSON.stringify(out));
    assert.equal(out.inserted, rows.length);
    const after = await reference();
    assert.notDeepEqual(after.map((a) => a.body), before.map((a) => a.body), 'the import changed some answers');
    await assertSame(b, 'B after import', after);
    await eventuallySame(w.app, 'A after import', after);
  });

  test('the bound evicts: with room for about one answer, reading another sends the first back to the database', async () => {
    const common = { ...env, KRAKEN_API_URL: w.kraken.url, LOG_LEVEL: 'warn' };
    const x = '/api/crypto/asset_history/XBTUSD?interval=1h&limit=300';
    const y = '/api/crypto/asset_history/XBTUSD?interval=1h&limit=299';
    const size = Buffer.byteLength((await read(r, x)).body);
    s = await startApp({ db: w.app.db, clock: w.clock, env: { ...common, HISTORY_CACHE_MAX_BYTES: String(Math.floor(size * 1.5)) } });
    const candleQueries = async (path: string) => {
      const id = `lru-${randomBytes(6).toString('hex')}`;
      const q = await counter.during(id, () => read(s!, path, id));
      assert.equal(q.result.status, 200);
      return q.queries.filter((t) => /candles/i.test(t)).length;
    };
    assert.ok((await candleQueries(x)) > 0, 'first read: the database');
    assert.equal(await candleQueries(x), 0, 'second read: memory');
    assert.ok((await candleQueries(y)) > 0);
    assert.equal(await candleQueries(y), 0);
    assert.ok((await candleQueries(x)) > 0, 'x was evicted to make room for y');
  });

  test('a purge on A: both instances answer like the database (no candles)', async () => {
    const id = (await w.get('/api/crypto/assets')).body[0].id as number;
    const del = await w.send('DELETE', `/api/crypto/assets/${id}?purge=true`, undefined);
    assert.equal(del.status, 204);
    const after = await reference();
    assert.equal(after[0]!.body, '[]');
    await assertSame(w.app, 'A after purge', after);
    await eventuallySame(b, 'B after purge', after);
  });
});
