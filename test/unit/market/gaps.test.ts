import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCandleCsv } from '../../../src/modules/market/candles/csv.js';
import { findGaps } from '../../../src/modules/market/candles/gaps.js';
import { readProjectFile } from './market-helpers.js';

const D = 86400;

test('reports missing ranges between candles', () => {
  const times = [0, D, 4 * D, 5 * D, 7 * D];
  assert.deepEqual(findGaps(times, 1440), [
    { from: 2 * D, to: 3 * D, missing: 2 },
    { from: 6 * D, to: 6 * D, missing: 1 },
  ]);
  assert.deepEqual(findGaps([0, D, 2 * D], 1440), []);
  assert.deepEqual(findGaps([], 1440), []);
});

test('with bounds, reports missing candles at both ends', () => {
  assert.deepEqual(findGaps([2 * D, 3 * D], 1440, { from: 0, end: 6 * D }), [
    { from: 0, to: D, missing: 2 },
    { from: 4 * D, to: 5 * D, missing: 2 },
  ]);
  assert.deepEqual(findGaps([], 1440, { from: 0, end: 3 * D }), [{ from: 0, to: 2 * D, missing: 3 }]);
  // times outside the bounds are ignored
  assert.deepEqual(findGaps([0, 5 * D, 9 * D], 1440, { from: 4 * D, end: 7 * D }), [
    { from: 4 * D, to: 4 * D, missing: 1 },
    { from: 6 * D, to: 6 * D, missing: 1 },
  ]);
});

test('refuses unsorted, duplicate or misaligned times', () => {
  assert.throws(() => findGaps([D, 0], 1440), /strictly ascending/);
  assert.throws(() => findGaps([D, D], 1440), /strictly ascending/);
  assert.throws(() => findGaps([0, 3600], 1440), /not aligned/);
  assert.throws(() => findGaps([0], 1440, { from: 5 }), /not aligned/);
});

test('finds the real gaps of the bundled daily files', () => {
  const btc = parseCandleCsv(readProjectFile('data/bundled/XBTUSD_1440.csv'), { intervalMinutes: 1440 });
  const eth = parseCandleCsv(readProjectFile('data/bundled/ETHUSD_1440.csv'), { intervalMinutes: 1440 });
  assert.ok(btc.ok && eth.ok);
  const btcGaps = findGaps(
    btc.candles.map((c) => c.time),
    1440,
  );
  // The data's README: 11 daily gaps in BTC, all before 2016; ETH misses 2018-01-12.
  assert.equal(btcGaps.length, 11);
  assert.ok(btcGaps.every((g) => g.to < Date.UTC(2016, 0, 1) / 1000));
  const span = (btc.candles.at(-1)!.time - btc.candles[0]!.time) / D + 1;
  assert.equal(btc.candles.length + btcGaps.reduce((n, g) => n + g.missing, 0), span);
  const ethGaps = findGaps(
    eth.candles.map((c) => c.time),
    1440,
  );
  assert.ok(ethGaps.some((g) => g.from === Date.UTC(2018, 0, 12) / 1000 && g.missing === 1));
});
