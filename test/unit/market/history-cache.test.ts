/**
 * The history cache's rules, with a fake clock and loaders that count their calls (the real
 * thing, bytes in and out, is test/integration/market/history-cache.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/platform/clock.js';
import { createHistoryCache, strongEtag, type HistoryBody, type HistoryRange } from '../../../src/modules/market/history-cache.js';

const DAY = 86400;
const T0 = 1_700_000_000 - (1_700_000_000 % DAY) + 3600; // an hour into a day

function body(text: string, pairId = 1, interval = 1440): HistoryBody {
  const b = Buffer.from(text);
  return { pairId, interval, body: b, etag: strongEtag(b), contentType: 'application/json; charset=utf-8' };
}

function loader(text = '[]', pairId = 1, interval = 1440) {
  const calls: HistoryRange[] = [];
  const load = async (r: HistoryRange) => {
    calls.push(r);
    return body(`${text}${calls.length}`, pairId, interval);
  };
  return { calls, load };
}

test('a repeated read is served from memory; the end of the range is clamped to the forming candle', async () => {
  const clock = new FakeClock(T0 * 1000);
  const cache = createHistoryCache({ maxBytes: 1 << 20, clock });
  const l = loader();
  const a = await cache.read('XBTUSD', 1440, { from: 0, to: T0 + 10 * DAY }, 'json', l.load);
  const b = await cache.read('XBTUSD', 1440, { from: 0, to: T0 + 5 * DAY }, 'json', l.load);
  // both ends lie beyond the forming candle: one question, one database read
  assert.equal(l.calls.length, 1);
  assert.equal(b, a);
  assert.equal(l.calls[0]!.to, T0 - 3600);
  // the next day the open candle of today has closed: another bucket
  clock.set((T0 + DAY) * 1000);
  await cache.read('XBTUSD', 1440, { from: 0, to: T0 + 10 * DAY }, 'json', l.load);
  assert.equal(l.calls.length, 2);
  assert.equal(l.calls[1]!.to, T0 - 3600 + DAY);
  // format, limit and cursor are part of the question
  await cache.read('XBTUSD', 1440, { from: 0, to: T0 + 10 * DAY }, 'csv', l.load);
  await cache.read('XBTUSD', 1440, { from: 0, to: T0 + 10 * DAY, limit: 5 }, 'json', l.load);
  assert.equal(l.calls.length, 4);
});

test("invalidating a pair and interval drops only its entries; a change to the pairs drops all", async () => {
  const clock = new FakeClock(T0 * 1000);
  const cache = createHistoryCache({ maxBytes: 1 << 20, clock });
  const btcDaily = loader('d', 1, 1440);
  const btcHourly = loader('h', 1, 60);
  const eth = loader('e', 2, 1440);
  const readAll = async () => {
    await cache.read('XBTUSD', 1440, {}, 'json', btcDaily.load);
    await cache.read('XBTUSD', 60, {}, 'json', btcHourly.load);
    await cache.read('ETHUSD', 1440, {}, 'json', eth.load);
  };
  await readAll();
  await readAll();
  assert.deepEqual([btcDaily.calls.length, btcHourly.calls.length, eth.calls.length], [1, 1, 1]);
  cache.invalidate({ kind: 'candles', pairId: 1, interval: 60 });
  await readAll();
  assert.deepEqual([btcDaily.calls.length, btcHourly.calls.length, eth.calls.length], [1, 2, 1]);
  cache.invalidate({ kind: 'candles', pairId: 1 });
  await readAll();
  assert.deepEqual([btcDaily.calls.length, btcHourly.calls.length, eth.calls.length], [2, 3, 1]);
  cache.invalidate({ kind: 'pairs' });
  await readAll();
  assert.deepEqual([btcDaily.calls.length, btcHourly.calls.length, eth.calls.length], [3, 4, 2]);
});

test('a read that raced an invalidation does not keep what it read', async () => {
  const cache = createHistoryCache({ maxBytes: 1 << 20, clock: new FakeClock(T0 * 1000) });
  let calls = 0;
  const slow = async () => {
    calls++;
    // candles are stored (and invalidated) while this read is at the database
    cache.invalidate({ kind: 'candles', pairId: 1, interval: 1440 });
    return body('old');
  };
  await cache.read('XBTUSD', 1440, {}, 'json', slow);
  await cache.read('XBTUSD', 1440, {}, 'json', slow);
  assert.equal(calls, 2);
});

test('while invalidations cannot be trusted nothing is served from memory; the cache is empty after a resync', async () => {
  let trusted = true;
  const cache = createHistoryCache({ maxBytes: 1 << 20, clock: new FakeClock(T0 * 1000), trusted: () => trusted });
  const l = loader();
  await cache.read('XBTUSD', 1440, {}, 'json', l.load);
  trusted = false;
  await cache.read('XBTUSD', 1440, {}, 'json', l.load);
  await cache.read('XBTUSD', 1440, {}, 'json', l.load);
  assert.equal(l.calls.length, 3);
  trusted = true;
  cache.resync();
  assert.equal(cache.stats().entries, 0);
  await cache.read('XBTUSD', 1440, {}, 'json', l.load);
  await cache.read('XBTUSD', 1440, {}, 'json', l.load);
  assert.equal(l.calls.length, 4);
});

test('the byte bound holds: old entries are evicted, and a size of 0 turns the cache off', async () => {
  const cache = createHistoryCache({ maxBytes: 3000, clock: new FakeClock(T0 * 1000) });
  const big = async () => body('x'.repeat(1000));
  for (let i = 0; i < 10; i++) await cache.read('XBTUSD', 1440, { limit: i + 1 }, 'json', big);
  const s = cache.stats();
  assert.ok(s.bytes <= 3000, `${s.bytes} bytes`);
  assert.ok(s.entries >= 1 && s.entries < 10, `${s.entries} entries`);
  // the evicted entries' index is gone too: invalidating touches nothing left over
  cache.invalidate({ kind: 'candles', pairId: 1, interval: 1440 });
  assert.equal(cache.stats().entries, 0);
  assert.equal(cache.stats().bytes, 0);

  const off = createHistoryCache({ maxBytes: 0, clock: new FakeClock(T0 * 1000) });
  const l = loader();
  await off.read('XBTUSD', 1440, {}, 'json', l.load);
  await off.read('XBTUSD', 1440, {}, 'json', l.load);
  assert.equal(l.calls.length, 2);
});
