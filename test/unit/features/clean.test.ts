import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Candle } from '../../../src/platform/candle.js';
import { cleanCandles, findGaps } from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

describe('cleanCandles on real Kraken data', () => {
  test('BTC daily is clean as published and has its 11 pre-2016 gaps', () => {
    const raw = loadBundledCandles('btcDaily');
    const { candles, report } = cleanCandles(raw, 1440);
    assert.equal(candles.length, raw.length);
    assert.deepEqual([report.duplicates, report.invalid, report.unaligned], [0, 0, 0]);
    assert.equal(report.gaps.length, 11);
    assert.ok(report.gaps.every((g) => g.before < Date.UTC(2016, 0, 1) / 1000));
    // 2014-09-25 -> 2014-09-28: two daily candles were never written.
    const g = report.gaps.find((x) => x.after === Date.UTC(2014, 8, 25) / 1000);
    assert.deepEqual(g, { after: Date.UTC(2014, 8, 25) / 1000, before: Date.UTC(2014, 8, 28) / 1000, missing: 2 });
    assert.equal(report.missingIntervals, 12);
  });

  test('sorts, keeps the last duplicate, drops invalid and unaligned rows, invents nothing', () => {
    const real = loadBundledCandles('btcHourly').slice(60_000, 60_200);
    const dupIndex = 50;
    const replacement: Candle = { ...real[dupIndex]!, close: real[dupIndex]!.close + 1, high: Math.max(real[dupIndex]!.high, real[dupIndex]!.close + 1) };
    const bad: Candle[] = [
      { ...real[10]!, time: real[10]!.time + 1800, close: real[10]!.close }, // half past: unaligned
      { ...real[11]!, high: real[11]!.low - 1 }, // high < low
      { ...real[12]!, close: Number.NaN },
      { ...real[13]!, open: -5 },
      { ...real[14]!, volume: -1 },
    ];
    // Reverse order, corrupt copies spread in, and the replacement AFTER the original copy.
    const input = [...real].reverse();
    input.splice(30, 0, ...bad);
    input.push(replacement);
    const { candles, report } = cleanCandles(input, 60);
    assert.equal(report.input, 206);
    assert.equal(report.duplicates, 1);
    assert.equal(report.invalid, 4);
    assert.equal(report.unaligned, 1);
    const expected = real.map((c, i) => (i === dupIndex ? replacement : c));
    assert.deepEqual(candles, expected);
    // cleaned copies, never the caller's objects
    assert.notEqual(candles[0], real[0]);
  });

  test('gaps are reported where candles are missing, and none are filled', () => {
    const stretch = loadBundledCandles('btcHourly').slice(65_000, 65_100);
    assert.equal(findGaps(stretch, 60).length, 0, 'fixture stretch should be contiguous');
    const removed = new Set([20, 21, 22, 70]);
    const holed = stretch.filter((_, i) => !removed.has(i));
    const { candles, report } = cleanCandles(holed, 60);
    assert.equal(candles.length, 96);
    assert.deepEqual(report.gaps, [
      { after: stretch[19]!.time, before: stretch[23]!.time, missing: 3 },
      { after: stretch[69]!.time, before: stretch[71]!.time, missing: 1 },
    ]);
  });
});
