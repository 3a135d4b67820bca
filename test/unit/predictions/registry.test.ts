/** Pure parts of the predictions module: best-model ranking, suites, caches, cache messages, input schemas. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSuite, rankCandidates } from '../../../src/modules/predictions/registry.service.js';
import { KeyedQueue, SingleFlight, TtlCache } from '../../../src/modules/predictions/caches.js';
import { decodeCacheMessage, encodeCacheMessage } from '../../../src/modules/predictions/cache-bus.js';
import { backtestBody, retrainParams, seriesQuery, timeSchema } from '../../../src/modules/predictions/predictions.schemas.js';
import { skill } from '../../../src/modules/predictions/views.js';
import { DEFAULT_SUITE } from '../../../src/modules/models/index.js';

test('rankCandidates: lowest test MSE first; naive wins a tie; runs without a test MSE go last', () => {
  const runs = [
    { id: 1, algorithm: 'ridge', testMse: 10 },
    { id: 2, algorithm: 'naive', testMse: 10 },
    { id: 3, algorithm: 'linear', testMse: 9.5 },
    { id: 4, algorithm: 'random-forest', testMse: null },
    { id: 5, algorithm: 'polynomial', testMse: NaN },
  ];
  assert.deepEqual(rankCandidates(runs).map((r) => r.id), [3, 2, 1, 4, 5]);
  assert.deepEqual(rankCandidates(runs.slice(0, 2)).map((r) => r.algorithm), ['naive', 'ridge']);
  assert.deepEqual(rankCandidates([]), []);
});

test('buildSuite: the default suite, a subset, or explicit entries; tuned params replace defaults; naive is always in', () => {
  const none = new Map();
  assert.deepEqual(buildSuite({}, none).map((e) => e.algorithm), DEFAULT_SUITE.map((e) => e.algorithm));
  const sub = buildSuite({ algorithms: ['ridge', 'linear'] }, none);
  assert.deepEqual(sub.map((e) => e.algorithm), ['naive', 'ridge', 'linear']);
  assert.deepEqual(sub[1]!.params, DEFAULT_SUITE.find((e) => e.algorithm === 'ridge')!.params);
  const tuned = new Map([['ridge', { tuningId: 7, params: { lambda: 300 } }]]);
  const withTuned = buildSuite({ algorithms: ['ridge'] }, tuned);
  assert.deepEqual(withTuned[1], { algorithm: 'ridge', params: { lambda: 300 }, tuningId: 7 });
  const explicit = buildSuite({ suite: [{ algorithm: 'ridge', params: { lambda: 1 } }] }, tuned);
  assert.deepEqual(explicit, [
    { algorithm: 'naive', params: {} },
    { algorithm: 'ridge', params: { lambda: 1 } },
  ]);
  assert.equal(buildSuite({ suite: [{ algorithm: 'naive', params: {} }] }, none).length, 1);
});

test('TtlCache: hits (null included), expiry, size bound', () => {
  let now = 0;
  const c = new TtlCache<string, number | null>(100, 2, () => now);
  c.set('a', 1);
  c.set('n', null);
  assert.equal(c.get('a'), 1);
  assert.equal(c.get('n'), null);
  assert.equal(c.get('x'), undefined);
  c.set('b', 2);
  assert.equal(c.size, 2);
  assert.equal(c.get('a'), undefined, 'the oldest entry was evicted');
  now = 150;
  assert.equal(c.get('b'), undefined, 'expired');
});

test('SingleFlight shares one computation; KeyedQueue runs tasks of one key in order', async () => {
  const sf = new SingleFlight<string, number>();
  let calls = 0;
  const slow = () => new Promise<number>((r) => setTimeout(() => r(++calls), 10));
  const [x, y] = await Promise.all([sf.run('k', slow), sf.run('k', slow)]);
  assert.equal(x, 1);
  assert.equal(y, 1);
  assert.equal(await sf.run('k', slow), 2);

  const q = new KeyedQueue();
  const order: string[] = [];
  const task = (name: string, ms: number) => () => new Promise<void>((r) => setTimeout(() => (order.push(name), r()), ms));
  const p1 = q.run('a', task('a1', 20));
  const p2 = q.run('a', task('a2', 1));
  const p3 = q.run('b', task('b1', 1));
  await Promise.all([p1, p2, p3]);
  assert.deepEqual(order, ['b1', 'a1', 'a2']);
  await assert.rejects(q.run('a', () => Promise.reject(new Error('boom'))), /boom/);
  await q.run('a', task('a3', 1));
  await q.idle();
  assert.equal(order.at(-1), 'a3', 'a failed task does not stop the queue');
});

test('cache messages round-trip and anything else is ignored', () => {
  const wire = encodeCacheMessage({ kind: 'best', pairId: 3, interval: 1440 }, 'inst-1');
  assert.deepEqual(decodeCacheMessage(wire), { kind: 'best', pairId: 3, interval: 1440, from: 'inst-1' });
  assert.equal(decodeCacheMessage('nope'), null);
  assert.equal(decodeCacheMessage(JSON.stringify({ kind: 'other', pairId: 1, interval: 60, from: 'x' })), null);
  assert.equal(decodeCacheMessage(undefined), null);
});

test('schemas: BTC/USD daily by default; intervals by name or minutes; times as ISO or Unix seconds', () => {
  assert.deepEqual(seriesQuery.parse({}), { pair: 'BTC/USD', interval: 1440 });
  assert.equal(seriesQuery.parse({ interval: '1h' }).interval, 60);
  assert.equal(seriesQuery.parse({ interval: 'daily' }).interval, 1440);
  assert.equal(seriesQuery.safeParse({ interval: '5m' }).success, false);
  assert.equal(timeSchema.parse('2024-01-01'), 1704067200);
  assert.equal(timeSchema.parse('1704067200'), 1704067200);
  assert.equal(timeSchema.parse(1704067200), 1704067200);
  assert.equal(timeSchema.safeParse('yesterday').success, false);
  assert.equal(backtestBody.safeParse({ from: '2024-01-02', to: '2024-01-01' }).success, false);
  assert.equal(retrainParams.safeParse({ algorithms: ['ridge'], suite: [{ algorithm: 'ridge' }] }).success, false);
  assert.equal(retrainParams.safeParse({ algorithms: ['nope'] }).success, false);
  assert.equal(retrainParams.safeParse({ extra: 1 }).success, false);
});

test('skill: 1 - error / naive error, undefined without a naive error', () => {
  assert.equal(skill(50, 100), 0.5);
  assert.ok(skill(110, 100)! < 0);
  assert.equal(skill(1, 0), null);
  assert.equal(skill(null, 100), null);
  assert.equal(skill(NaN, 100), null);
});
