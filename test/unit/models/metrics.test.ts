import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  directionalAccuracy,
  errorMetrics,
  evaluateNaive,
  evaluatePoints,
  predictionInterval,
  quantileSorted,
  residualQuantiles,
} from '../../../src/modules/models/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const close = (d: string) => {
  const t = Date.parse(`${d}T00:00:00Z`) / 1000;
  const c = loadBundledCandles('btcDaily').find((x) => x.time === t);
  assert.ok(c, `no candle ${d}`);
  return c.close;
};
const near = (a: number | null, b: number, tol = 1e-9) => assert.ok(a !== null && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

// Real BTC daily closes, 2023-08-27 .. 2023-08-31: 26087.4, 26109.6, 27731.7, 27305.4, 25936.2.
const base = ['2023-08-27', '2023-08-28', '2023-08-29', '2023-08-30'].map(close);
const actual = ['2023-08-28', '2023-08-29', '2023-08-30', '2023-08-31'].map(close);
const guess = [26100, 26200, 27500, 27000];

describe('metrics on real closes, against hand arithmetic', () => {
  test('the closes are the ones the hand computation below uses', () => {
    assert.deepEqual(base, [26087.4, 26109.6, 27731.7, 27305.4]);
    assert.deepEqual(actual, [26109.6, 27731.7, 27305.4, 25936.2]);
  });

  test('MSE, RMSE, MAE, MAPE, R2', () => {
    const m = errorMetrics(actual, guess);
    // errors: 9.6, 1531.7, -194.6, -1063.8
    const mse = (9.6 ** 2 + 1531.7 ** 2 + 194.6 ** 2 + 1063.8 ** 2) / 4;
    near(m.mse, mse);
    near(m.mse, 878934.1625);
    near(m.rmse, Math.sqrt(878934.1625));
    near(m.mae, (9.6 + 1531.7 + 194.6 + 1063.8) / 4);
    near(m.mae, 699.925);
    near(m.mape, (100 / 4) * (9.6 / 26109.6 + 1531.7 / 27731.7 + 194.6 / 27305.4 + 1063.8 / 25936.2));
    const mean = (26109.6 + 27731.7 + 27305.4 + 25936.2) / 4;
    const sst = (26109.6 - mean) ** 2 + (27731.7 - mean) ** 2 + (27305.4 - mean) ** 2 + (25936.2 - mean) ** 2;
    near(m.r2, 1 - (4 * 878934.1625) / sst);
    assert.equal(m.n, 4);
    assert.equal(errorMetrics([5, 5], [4, 6]).r2, null, 'constant actuals: R2 undefined');
  });

  test('directional accuracy counts calls only; 0 is no call', () => {
    const ar = actual.map((a, i) => Math.log(a / base[i]!)); // +, +, -, -
    assert.deepEqual(directionalAccuracy(ar, [0.001, -0.01, 0, -0.02]), { accuracy: 2 / 3, calls: 3 });
    assert.deepEqual(directionalAccuracy(ar, [0, 0, 0, 0]), { accuracy: null, calls: 0 });
    assert.deepEqual(directionalAccuracy([0.01, 0], [0.02, 0.01]), { accuracy: 0.5, calls: 2 }, 'a call on a flat day is a miss');
  });

  test('evaluatePoints: price and return metrics, skill vs naive = 1 - MAE/MAE_naive', () => {
    const actualReturn = actual.map((a, i) => Math.log(a / base[i]!));
    const predictedReturn = guess.map((g, i) => Math.log(g / base[i]!));
    const e = evaluatePoints({ baseClose: base, actualReturn, predictedReturn });
    near(e.price.mae, 699.925);
    const naiveMae = (22.2 + 1622.1 + 426.3 + 1369.2) / 4; // |next - last|
    near(e.skillVsNaive, 1 - 699.925 / naiveMae);
    near(e.returns.mae, actualReturn.reduce((s, a, i) => s + Math.abs(a - predictedReturn[i]!), 0) / 4, 1e-12);
    assert.equal(e.returns.mape, null);
    assert.equal(e.directionalAccuracy, 1); // guesses move +, +, -, - like the actual closes
    const n = evaluateNaive({ baseClose: base, actualReturn });
    near(n.price.mae, naiveMae);
    assert.equal(n.skillVsNaive, 0);
    assert.equal(n.directionalAccuracy, null);
  });

  test('quantiles (type 7) and prediction intervals', () => {
    const s = [-0.04, -0.01, 0, 0.02, 0.03];
    near(quantileSorted(s, 0.1), -0.04 + 0.4 * 0.03, 1e-15);
    near(quantileSorted(s, 0.9), 0.02 + 0.6 * 0.01, 1e-15);
    near(quantileSorted(s, 0.5), 0, 1e-15);
    const q = residualQuantiles([0.03, -0.01, 0.02, -0.04, 0, Number.NaN]);
    assert.equal(q.n, 5);
    near(q.q025, -0.04 + 0.1 * 0.03, 1e-15);
    near(q.q975, 0.02 + 0.9 * 0.01, 1e-15);
    const iv = predictionInterval(25936.2, 0.001, q);
    near(iv.lower80, 25936.2 * Math.exp(0.001 + q.q10));
    near(iv.upper95, 25936.2 * Math.exp(0.001 + q.q975));
    assert.ok(iv.lower95 < iv.lower80 && iv.lower80 < iv.upper80 && iv.upper80 < iv.upper95);
  });
});
