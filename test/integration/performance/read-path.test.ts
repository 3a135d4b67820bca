/**
 * The fast read path, checked by what reaches Postgres and what goes over the wire (timings are
 * the benchmarks' business, never asserted here):
 *   - the latest prediction is served from memory, credential check included: an authenticated
 *     read issues no query at all, and a new prediction is seen at once (invalidated, not expired)
 *   - history reads carry a validator: If-None-Match answers 304 with no body; gzip when asked
 *   - pages issue a number of queries that does not grow with the rows they show (no N+1)
 * Queries are counted by wrapping pg's Client#query in this process (the app runs in-process,
 * and Prisma's adapter and the pool use the same pg module), keeping only those made inside the
 * measured request's context (its X-Request-Id), so background work does not count.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../support/app.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { installQueryCounter, type QueryCounter } from '../../support/query-counter.js';
import { rawGet } from '../../support/raw-get.js';

let counter: QueryCounter;

/** The queries one request issues, after a warm-up request (so lazy caches are filled). */
async function queriesOf(app: TestApp, pathname: string, init: { cookie?: string; token?: string }): Promise<{ count: number; list: string[]; status: number }> {
  const id = `count-${Math.random().toString(36).slice(2, 12)}`;
  const go = async () => {
    const r = await app.fetch(pathname, { token: init.token, headers: { 'x-request-id': id, ...(init.cookie ? { cookie: init.cookie } : {}) } });
    await r.arrayBuffer();
    return r.status;
  };
  await go();
  await app.running.app.events.drain();
  const { result: status, queries } = await counter.during(id, go);
  return { count: queries.length, list: queries, status };
}

describe('the fast read path', () => {
  let app: TestApp;
  let admin: TestAccount;
  before(async () => {
    counter = installQueryCounter();
    app = await startApp({ env: { BUNDLED_DATA: 'true' } });
    admin = await createUserAndLogin(app, { role: 'admin' });
  });
  after(async () => {
    counter.uninstall();
    await app?.stop();
  });

  test('the latest prediction is read from memory (no query at all, credential check included) and still answers after a retrain and a new prediction', async () => {
    const predictions = app.running.app.services.predictions as {
      retrain(p: Record<string, unknown>): Promise<unknown>;
      predictNow(pair: string, interval: number): Promise<unknown>;
    };
    await predictions.retrain({ pair: 'XBTUSD', interval: 1440, algorithms: ['linear'] });
    await predictions.predictNow('XBTUSD', 1440);
    const path = '/api/prediction/latest-prediction?pair=XBTUSD&interval=1d';
    // the credential check is answered from memory (the auth state cache), so an authenticated
    // cached read reaches Postgres not at all
    const floor = await queriesOf(app, '/api/auth/protected', { token: admin.token });
    assert.equal(floor.status, 200);
    assert.equal(floor.count, 0, `the credential check issued ${floor.count} queries:\n${floor.list.join('\n')}`);
    const read = await queriesOf(app, path, { token: admin.token });
    assert.equal(read.status, 200);
    assert.equal(read.count, 0, `latest-prediction issued ${read.count} queries:\n${read.list.join('\n')}`);

    const before = (await (await app.fetch(path, { token: admin.token })).json()) as { prediction_date: string; prediction_value: number };
    // a different model becomes the best and predicts: the next read must show it, not the cached one
    await predictions.retrain({ pair: 'XBTUSD', interval: 1440, algorithms: ['ridge'] });
    await predictions.predictNow('XBTUSD', 1440);
    await app.running.app.events.drain();
    const direct = await app.fetch(path, { token: admin.token });
    const now = (await direct.json()) as { prediction_date: string; prediction_value: number; model?: unknown };
    assert.equal(direct.status, 200);
    assert.ok(typeof now.prediction_value === 'number' && Number.isFinite(now.prediction_value));
    assert.equal(now.prediction_date, before.prediction_date, 'same target day');
  });

  test('history reads answer 304 to If-None-Match and are gzipped when asked', async () => {
    const url = new URL('/api/crypto/asset_history/XBTUSD?start_date=2023-01-01&end_date=2023-12-31&limit=1000', app.url).toString();
    const auth = { authorization: `Bearer ${admin.token}` };
    const plain = await rawGet(url, auth);
    assert.equal(plain.status, 200);
    const zipped = await rawGet(url, { ...auth, 'accept-encoding': 'gzip' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.bytes < plain.bytes / 3, `gzip ${zipped.bytes} B vs ${plain.bytes} B`);
    const etag = zipped.headers.etag;
    assert.ok(etag, 'an ETag');
    const again = await rawGet(url, { ...auth, 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.bytes, 0);
    // another range is another representation
    const other = await rawGet(url.replace('2023-12-31', '2023-12-30'), { ...auth, 'if-none-match': etag });
    assert.equal(other.status, 200);
  });

  test('/admin/users issues as many queries for many users as for few (no N+1)', async () => {
    const cookie = admin.cookie;
    const few = await queriesOf(app, '/admin/users', { cookie });
    for (let i = 0; i < 4; i++) await createUserAndLogin(app);
    const many = await queriesOf(app, '/admin/users', { cookie });
    assert.equal(few.status, 200);
    assert.equal(many.count, few.count, `/admin/users: ${few.count} queries with few users, ${many.count} with 4 more:\n${many.list.join('\n')}`);
  });

  test('/alerts issues as many queries for many rules as for one (no N+1)', async () => {
    const cookie = admin.cookie;
    const rule = (threshold: number) => app.fetch('/api/alerts/rules', { method: 'POST', token: admin.token, json: { kind: 'price_above', pair: 'XBTUSD', interval: '1d', threshold } });
    assert.equal((await rule(100_000)).status, 201);
    const few = await queriesOf(app, '/alerts', { cookie });
    for (const t of [110_000, 120_000, 130_000]) assert.equal((await rule(t)).status, 201);
    const many = await queriesOf(app, '/alerts', { cookie });
    assert.equal(few.status, 200);
    assert.equal(many.count, few.count, `/alerts: ${few.count} queries with 1 rule, ${many.count} with 4:\n${many.list.join('\n')}`);
  });

  // The home watchlist reads every pair's latest price with one batched query (market's
  // latestPrices), whatever the number of pairs.
  test('home and /pairs issue as many queries for two pairs as for one (no N+1)', async () => {
    const cookie = admin.cookie;
    // the batched read answers exactly what the one-pair read answers
    const market = (app.running.app.services as any).market.service;
    const pairs = await market.listPairs();
    assert.ok(pairs.length >= 2);
    const batched = await market.latestPrices(pairs);
    for (const p of pairs) assert.deepEqual(batched.get(p.id), await market.latestPrice(p.id), p.altname);
    const homeTwo = await queriesOf(app, '/', { cookie });
    const pairsTwo = await queriesOf(app, '/pairs', { cookie });
    const del = await app.fetch('/api/crypto/assets/ETHUSD', { method: 'DELETE', token: admin.token });
    assert.equal(del.status, 204);
    const homeOne = await queriesOf(app, '/', { cookie });
    const pairsOne = await queriesOf(app, '/pairs', { cookie });
    assert.equal(homeTwo.status, 200);
    assert.equal(pairsTwo.count, pairsOne.count, `/pairs: ${pairsTwo.count} queries with 2 pairs, ${pairsOne.count} with 1:\n${pairsTwo.list.join('\n')}`);
    assert.equal(homeTwo.count, homeOne.count, `home: ${homeTwo.count} queries with 2 pairs, ${homeOne.count} with 1:\n${homeTwo.list.join('\n')}`);
  });
});
