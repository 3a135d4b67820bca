import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chronologicalSplit, resolveWalkForward, trainModel, walkForwardFolds, walkForwardSchema } from '../../../src/modules/models/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

describe('walk-forward folds', () => {
  test('expanding: each test window starts where its training ends; windows tile, most recent kept', () => {
    const cfg = resolveWalkForward(1000, walkForwardSchema.parse({ initialTrain: 300, testSize: 100, maxFolds: 5 }));
    const folds = walkForwardFolds(1000, cfg);
    assert.equal(folds.length, 5);
    assert.deepEqual(folds.map((f) => f.test), [500, 600, 700, 800, 900].map((s) => ({ start: s, end: s + 100 })));
    for (const f of folds) {
      assert.equal(f.train.start, 0);
      assert.equal(f.train.end, f.test.start);
    }
  });

  test('sliding: fixed-length training windows just before the test window', () => {
    const cfg = resolveWalkForward(950, walkForwardSchema.parse({ mode: 'sliding', initialTrain: 300, testSize: 100, maxFolds: 50 }));
    const folds = walkForwardFolds(950, cfg);
    assert.equal(folds.length, 7);
    for (const f of folds) {
      assert.equal(f.train.end - f.train.start, 300);
      assert.equal(f.train.end, f.test.start);
    }
    assert.deepEqual(folds.at(-1)!.test, { start: 900, end: 950 }, 'a short last window is kept');
  });

  test('auto sizes: half the rows train first, maxFolds windows cover the rest', () => {
    const cfg = resolveWalkForward(3000, walkForwardSchema.parse({}));
    assert.deepEqual([cfg.initialTrain, cfg.testSize, cfg.step, cfg.maxFolds], [1500, 188, 188, 8]);
    const folds = walkForwardFolds(3000, cfg);
    assert.equal(folds.length, 8);
    assert.equal(folds.at(-1)!.test.end, 3000);
    assert.throws(() => resolveWalkForward(100, walkForwardSchema.parse({ initialTrain: 100 })), /more rows/);
  });

  test('chronological split', () => {
    assert.deepEqual(chronologicalSplit(1000, 0.2), { train: { start: 0, end: 800 }, test: { start: 800, end: 1000 } });
  });

  test('on real BTC data no test window overlaps its training data in time', async () => {
    const candles = loadBundledCandles('btcDaily');
    for (const mode of ['expanding', 'sliding'] as const) {
      const r = await trainModel({ candles, interval: 1440, algorithm: 'ridge', validation: { walkForward: { mode, initialTrain: 800, testSize: 250, maxFolds: 20 } } });
      const folds = r.metrics.walkForward.folds;
      assert.ok(folds.length >= 10);
      for (const f of folds) {
        // The last training row's target is the close of the candle after trainTo; it must not
        // be later than the first test row's own (base) candle.
        assert.ok(f.trainTo + 86_400 <= f.testFrom, `fold ${f.index}: train ends ${f.trainTo}, test starts ${f.testFrom}`);
        assert.ok(f.trainFrom < f.trainTo && f.testFrom <= f.testTo);
      }
      for (let k = 1; k < folds.length; k++) assert.ok(folds[k - 1]!.testTo < folds[k]!.testFrom, 'test windows do not overlap each other');
      const oos = r.oos.times;
      for (let k = 1; k < oos.length; k++) assert.ok(oos[k - 1]! < oos[k]!);
      assert.equal(oos.length, folds.reduce((s, f) => s + f.testRows, 0));
    }
  });
});
