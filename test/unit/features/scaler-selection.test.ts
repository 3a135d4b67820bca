import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyStandardScaler,
  buildFeatures,
  cleanCandles,
  fitStandardScaler,
  gatherRows,
  parseFeatureConfig,
  pearson,
  rankByCorrelation,
  rankByPermutation,
  selectFeatures,
  trainableRows,
} from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const cfg = parseFeatureConfig({});
const daily = cleanCandles(loadBundledCandles('btcDaily'), 1440).candles;
const frame = buildFeatures(daily, 1440, cfg);
const rows = trainableRows(frame);
const allIdx = frame.names.map((_, j) => j);

describe('standard scaler', () => {
  test('fits mean and population std of exactly the rows given', () => {
    const train = rows.slice(0, 1000);
    const X = gatherRows(frame, train, allIdx);
    const s = fitStandardScaler(X);
    const j = frame.names.indexOf('vol_30');
    const vals = train.map((i) => frame.columns[j]![i]!);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
    assert.ok(Math.abs(s.mean[j]! - mean) < 1e-15);
    assert.ok(Math.abs(s.std[j]! - std) < 1e-15);
    const all = fitStandardScaler(gatherRows(frame, rows, allIdx));
    assert.ok(Math.abs(all.mean[j]! - mean) > 1e-4, 'whole-series mean differs, so the check above is meaningful');
    const Z = applyStandardScaler(s, X);
    const zm = Z.reduce((a, r) => a + r[j]!, 0) / Z.length;
    const zv = Z.reduce((a, r) => a + r[j]! ** 2, 0) / Z.length;
    assert.ok(Math.abs(zm) < 1e-12 && Math.abs(zv - 1) < 1e-12);
  });

  test('a constant column maps to 0 instead of dividing by zero', () => {
    const s = fitStandardScaler([[1, 5], [2, 5], [3, 5]]);
    assert.deepEqual(s.std[1], 1);
    assert.deepEqual(applyStandardScaler(s, [[2, 5]]), [[0, 0]]);
  });
});

describe('feature selection', () => {
  const train = rows.slice(0, 1500);
  const X = gatherRows(frame, train, allIdx);
  const y = train.map((i) => frame.target[i]!);

  test('correlation ranking = |Pearson r| with the next return inside the training rows, best first', () => {
    const ranking = rankByCorrelation(frame.names, X, y);
    assert.equal(ranking.length, frame.names.length);
    assert.deepEqual(ranking.map((r) => r.rank), ranking.map((_, k) => k + 1));
    for (let k = 1; k < ranking.length; k++) assert.ok(ranking[k - 1]!.score >= ranking[k]!.score);
    // Hand Pearson for one feature.
    const j = frame.names.indexOf('logret');
    const x = X.map((r) => r[j]!);
    const mx = x.reduce((a, b) => a + b, 0) / x.length;
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < x.length; i++) {
      sxy += (x[i]! - mx) * (y[i]! - my);
      sxx += (x[i]! - mx) ** 2;
      syy += (y[i]! - my) ** 2;
    }
    const hand = Math.abs(sxy / Math.sqrt(sxx * syy));
    assert.ok(Math.abs(ranking.find((r) => r.name === 'logret')!.score - hand) < 1e-12);
    assert.ok(Math.abs(Math.abs(pearson(x, y)) - hand) < 1e-12);
  });

  test('ranking uses only the training rows: later targets do not move it', () => {
    const a = rankByCorrelation(frame.names, X, y);
    const later = rows.slice(0, 2500);
    const b = rankByCorrelation(frame.names, gatherRows(frame, later, allIdx), later.map((i) => frame.target[i]!));
    assert.notDeepEqual(a, b, 'a longer window ranks differently (so the next check can fail)');
    assert.deepEqual(rankByCorrelation(frame.names, X, [...y]), a);
  });

  test('topK and minScore choose the set; never empty', () => {
    const ranking = rankByCorrelation(frame.names, X, y);
    assert.deepEqual(selectFeatures(ranking, { topK: 3, minScore: 0 }), ranking.slice(0, 3).map((r) => r.name));
    const thr = ranking[1]!.score;
    assert.deepEqual(selectFeatures(ranking, { topK: 10, minScore: thr }), ranking.filter((r) => r.score >= thr).slice(0, 10).map((r) => r.name));
    assert.deepEqual(selectFeatures(ranking, { topK: 5, minScore: 1e9 }), [ranking[0]!.name]);
  });

  test('permutation importance finds the feature the target is built from', () => {
    const j = frame.names.indexOf('sma_ratio_20');
    const yy = X.map((r, i) => 0.5 * r[j]! + 0.001 * Math.sin(i));
    const ols = (Xt: number[][], yt: number[]) => {
      // one-variable-at-a-time least squares is enough to show the mechanics
      const mx = Xt[0]!.map((_, k) => Xt.reduce((a, r) => a + r[k]!, 0) / Xt.length);
      const my = yt.reduce((a, b) => a + b, 0) / yt.length;
      const w = mx.map((m, k) => {
        let sxy = 0;
        let sxx = 0;
        Xt.forEach((r, i) => {
          sxy += (r[k]! - m) * (yt[i]! - my);
          sxx += (r[k]! - m) ** 2;
        });
        return k === j ? sxy / sxx : 0;
      });
      return (Xp: number[][]) => Xp.map((r) => my + r.reduce((a, v, k) => a + w[k]! * (v - mx[k]!), 0));
    };
    const ranking = rankByPermutation(frame.names, X, yy, ols, { seed: 3 });
    assert.equal(ranking[0]!.name, 'sma_ratio_20');
    assert.ok(ranking[0]!.score > 0);
    assert.ok(ranking.slice(1).every((r) => r.score === 0));
  });
});
