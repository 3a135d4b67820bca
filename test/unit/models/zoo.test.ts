import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyStandardScaler, buildFeatures, cleanCandles, fitStandardScaler, gatherRows, parseFeatureConfig, trainableRows } from '../../../src/modules/features/index.js';
import { ALGORITHMS, createModel, loadModel, parseModelParams, zoo } from '../../../src/modules/models/index.js';
import { monomials } from '../../../src/modules/models/polynomial.model.js';
import { ValidationError } from '../../../src/platform/errors.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const daily = cleanCandles(loadBundledCandles('btcDaily'), 1440).candles;
const frame = buildFeatures(daily, 1440, parseFeatureConfig({}));
const rows = trainableRows(frame);
const featIdx = ['logret', 'logret_lag1', 'mom_5', 'sma_ratio_20', 'ema_ratio_26', 'rsi_14', 'vol_30', 'volume_z_20', 'range', 'dow_sin'].map((n) => frame.names.indexOf(n));
const trainRows = rows.slice(1000, 2200);
const testRows = rows.slice(2200, 2400);
const scaler = fitStandardScaler(gatherRows(frame, trainRows, featIdx));
const X = applyStandardScaler(scaler, gatherRows(frame, trainRows, featIdx));
const y = trainRows.map((i) => frame.target[i]!);
const Xtest = applyStandardScaler(scaler, gatherRows(frame, testRows, featIdx));

/** Gaussian elimination with partial pivoting: an independent solver for the checks. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

function normalEquations(Xa: number[][], ya: number[]): number[] {
  const Z = Xa.map((r) => [...r, 1]); // intercept last, like ml-regression
  const k = Z[0]!.length;
  const A = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => Z.reduce((s, r) => s + r[i]! * r[j]!, 0)));
  const b = Array.from({ length: k }, (_, i) => Z.reduce((s, r, n) => s + r[i]! * ya[n]!, 0));
  return solve(A, b);
}

const maxAbs = (v: number[]) => Math.max(...v.map(Math.abs));

describe('model zoo', () => {
  test('linear regression equals the normal-equations least-squares solution (1e-6)', () => {
    const beta = normalEquations(X, y);
    const m = createModel('linear', {}, { seed: 1 });
    m.fit(X, y);
    const coef = (m as unknown as { coefficients(): number[] }).coefficients();
    const scale = maxAbs(beta);
    for (let j = 0; j < beta.length; j++) assert.ok(Math.abs(coef[j]! - beta[j]!) <= 1e-6 * scale, `coef ${j}: ${coef[j]} vs ${beta[j]}`);
    const p = m.predict(Xtest);
    const hand = Xtest.map((r) => r.reduce((s, v, j) => s + v * beta[j]!, beta[beta.length - 1]!));
    const ys = maxAbs(y);
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i]! - hand[i]!) <= 1e-6 * ys);
  });

  test('ridge equals the closed form (Xc\'Xc + lambda I)^-1 Xc\'yc, and lambda = 0 is OLS', () => {
    const lambda = 250;
    const k = X[0]!.length;
    const mx = Array.from({ length: k }, (_, j) => X.reduce((s, r) => s + r[j]!, 0) / X.length);
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    const Xc = X.map((r) => r.map((v, j) => v - mx[j]!));
    const A = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => Xc.reduce((s, r) => s + r[i]! * r[j]!, 0) + (i === j ? lambda : 0)));
    const b = Array.from({ length: k }, (_, i) => Xc.reduce((s, r, n) => s + r[i]! * (y[n]! - my), 0));
    const w = solve(A, b);
    const intercept = my - w.reduce((s, v, j) => s + v * mx[j]!, 0);
    const m = createModel('ridge', { lambda }, { seed: 1 });
    m.fit(X, y);
    const p = m.predict(Xtest);
    Xtest.forEach((r, i) => assert.ok(Math.abs(p[i]! - r.reduce((s, v, j) => s + v * w[j]!, intercept)) < 1e-12));
    const ridge0 = createModel('ridge', { lambda: 0 }, { seed: 1 });
    ridge0.fit(X, y);
    const lin = createModel('linear', {}, { seed: 1 });
    lin.fit(X, y);
    const a = ridge0.predict(Xtest);
    const c = lin.predict(Xtest);
    a.forEach((v, i) => assert.ok(Math.abs(v - c[i]!) <= 1e-6 * maxAbs(y)));
    assert.ok(Math.abs(p[0]! - a[0]!) > 1e-9, 'the penalty changes the fit');
  });

  test('a saved model predicts the same after toJSON / load, for every algorithm', () => {
    for (const algorithm of ALGORITHMS) {
      const m = createModel(algorithm, zoo[algorithm].defaults, { seed: 7 });
      m.fit(X, y);
      const before = m.predict(Xtest);
      const stored = JSON.parse(JSON.stringify(m.toJSON())) as ReturnType<typeof m.toJSON>;
      assert.equal(stored.algorithm, algorithm);
      const loaded = loadModel(stored);
      assert.deepEqual(loaded.predict(Xtest), before, algorithm);
      assert.ok(before.every(Number.isFinite), `${algorithm} predicts finite numbers`);
      if (algorithm !== 'naive' && algorithm !== 'mean-drift') assert.ok(new Set(before).size > 1, `${algorithm} is not constant`);
    }
  });

  test('naive predicts a log return of exactly 0; mean-drift the mean training return', () => {
    const naive = createModel('naive', {}, { seed: 1 });
    naive.fit(X, y);
    assert.ok(naive.predict(Xtest).every((v) => Object.is(v, 0)));
    const drift = createModel('mean-drift', {}, { seed: 1 });
    drift.fit(X, y);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    assert.ok(drift.predict(Xtest).every((v) => Math.abs(v - mean) < 1e-15));
    const recent = createModel('mean-drift', { window: 30 }, { seed: 1 });
    recent.fit(X, y);
    assert.ok(Math.abs(recent.predict([Xtest[0]!])[0]! - y.slice(-30).reduce((a, b) => a + b, 0) / 30) < 1e-15);
  });

  test('polynomial = ridge on the expanded degree-2 terms of the top features', () => {
    assert.deepEqual(monomials(3, 2), [[0], [0, 0], [0, 1], [0, 2], [1], [1, 1], [1, 2], [2], [2, 2]]);
    const poly = createModel('polynomial', { degree: 2, topFeatures: 3, lambda: 0 }, { seed: 1 });
    poly.fit(X, y);
    const expand = (r: number[]) => monomials(3, 2).map((t) => t.reduce((p, j) => p * r[j]!, 1));
    const beta = normalEquations(X.map(expand), y);
    const p = poly.predict(Xtest);
    Xtest.forEach((r, i) => {
      const e = expand(r);
      assert.ok(Math.abs(p[i]! - e.reduce((s, v, j) => s + v * beta[j]!, beta[beta.length - 1]!)) <= 1e-6 * maxAbs(y));
    });
  });

  test('kernel ridge interpolates with a tiny lambda and falls back to the mean far away', () => {
    const Xs = X.slice(0, 60);
    const ys = y.slice(0, 60);
    const m = createModel('kernel-ridge', { lambda: 1e-9, sigma: 1, maxTrainRows: 100 }, { seed: 1 });
    m.fit(Xs, ys);
    m.predict(Xs).forEach((v, i) => assert.ok(Math.abs(v - ys[i]!) < 1e-5, `row ${i}`));
    const far = m.predict([Xs[0]!.map(() => 1e3)])[0]!;
    assert.ok(Math.abs(far - ys.reduce((a, b) => a + b, 0) / ys.length) < 1e-12);
  });

  test('random forest: same seed same forest, other seed other forest', () => {
    const params = { nEstimators: 6, maxSamples: 150 };
    const a = createModel('random-forest', params, { seed: 11 });
    const b = createModel('random-forest', params, { seed: 11 });
    const c = createModel('random-forest', params, { seed: 12 });
    for (const m of [a, b, c]) m.fit(X, y);
    assert.deepEqual(a.predict(Xtest), b.predict(Xtest));
    assert.notDeepEqual(a.predict(Xtest), c.predict(Xtest));
  });

  test('params are validated by each algorithm\'s schema, defaults filled in', () => {
    assert.deepEqual(parseModelParams('ridge', {}), { lambda: 30 });
    assert.throws(() => parseModelParams('ridge', { lambda: -1 }), ValidationError);
    assert.throws(() => parseModelParams('ridge', { alpha: 1 }), ValidationError);
    assert.throws(() => parseModelParams('lstm', {}), ValidationError);
    for (const algorithm of ALGORITHMS) {
      const entry = zoo[algorithm];
      assert.deepEqual(parseModelParams(algorithm, {}), entry.defaults, `${algorithm} defaults match its schema`);
      for (const [key, values] of Object.entries(entry.paramGrid)) {
        for (const v of values as unknown[]) parseModelParams(algorithm, { [key]: v });
      }
    }
    assert.throws(() => loadModel({ algorithm: 'ridge', params: {}, state: { weights: 'x' } }));
  });
});
