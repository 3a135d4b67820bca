import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Candle } from '../../../src/platform/candle.js';
import { AppError } from '../../../src/platform/errors.js';
import { cleanCandles, fitStandardScaler, gatherRows } from '../../../src/modules/features/index.js';
import type { ProgressEvent, SerializedPipeline, TrainResult } from '../../../src/modules/models/index.js';
import { fitPipeline, predictNext, predictSeries, prepareData, trainModel } from '../../../src/modules/models/index.js';
import { parseFeatureConfig } from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const DAY = 86_400;
const candles = loadBundledCandles('btcDaily');
const fast = { validation: { walkForward: { maxFolds: 4 } } } as const;

function perturbAfter(cs: readonly Candle[], t: number): Candle[] {
  return cs.map((c) => {
    if (c.time <= t) return { ...c };
    const f = 1 + 0.15 * Math.sin(c.time / DAY);
    return { ...c, open: c.open * f, high: c.high * f * 1.02, low: c.low * f * 0.98, close: c.close * f, volume: c.volume * 1.7 };
  });
}

let ridge: TrainResult;

describe('trainModel', () => {
  test('returns metrics side by side with naive, residual quantiles, features, window, fingerprint and a model', async () => {
    const events: ProgressEvent[] = [];
    ridge = await trainModel({ candles, interval: 1440, algorithm: 'ridge', params: { lambda: 100 }, seed: 5 }, { onProgress: (e) => events.push(e) });
    const m = ridge.metrics;
    for (const part of [m.train, m.test, m.walkForward]) {
      assert.ok(part.model.n > 0 && part.model.n === part.naive.n);
      assert.equal(part.naive.skillVsNaive, 0);
      assert.ok(Number.isFinite(part.model.price.mae) && Number.isFinite(part.model.returns.rmse));
      assert.ok(part.model.price.r2! > 0.9, 'price R2 is high for any near-naive model');
      assert.ok(Math.abs(part.model.skillVsNaive! - (1 - part.model.price.mae / part.naive.price.mae)) < 1e-12);
    }
    assert.equal(m.walkForward.folds.length, 8);
    assert.equal(ridge.validation.holdout.testRows + ridge.validation.holdout.trainRows, ridge.dataWindow.rows);
    const q = ridge.residualQuantiles;
    assert.ok(q.q025 < q.q10 && q.q10 < q.q50 && q.q50 < q.q90 && q.q90 < q.q975);
    assert.equal(q.n, ridge.oos.times.length);
    assert.ok(ridge.features.selected.length >= 1 && ridge.features.selected.length <= 8);
    assert.deepEqual(ridge.features.selected, ridge.features.ranking.slice(0, ridge.features.selected.length).map((r) => r.name));
    assert.equal(ridge.dataWindow.firstTime, candles[0]!.time);
    assert.equal(ridge.dataWindow.lastTime, candles.at(-1)!.time);
    assert.equal(ridge.dataWindow.gaps, 11);
    const h = createHash('sha256');
    for (const c of cleanCandles(candles, 1440).candles) h.update(`${c.time},${c.open},${c.high},${c.low},${c.close},${c.volume},${c.trades}\n`);
    assert.equal(ridge.dataFingerprint, h.digest('hex'));
    assert.equal(ridge.model.dataFingerprint, ridge.dataFingerprint);
    assert.deepEqual(events.map((e) => e.step), events.map((_, i) => i + 1));
    assert.ok(events.every((e) => e.totalSteps === events.length));
    assert.deepEqual([...new Set(events.map((e) => e.stage))], ['prepare', 'holdout', 'walk-forward', 'final']);
  });

  test('is deterministic, and the fingerprint changes when one candle changes', async () => {
    const again = await trainModel({ candles, interval: 1440, algorithm: 'ridge', params: { lambda: 100 }, seed: 5 });
    assert.deepEqual(again.model, ridge.model);
    assert.deepEqual(again.oos, ridge.oos);
    const edited = candles.map((c, i) => (i === 1234 ? { ...c, volume: c.volume + 1 } : c));
    const other = await trainModel({ candles: edited, interval: 1440, algorithm: 'naive', ...fast });
    assert.notEqual(other.dataFingerprint, ridge.dataFingerprint);
  });

  test('refuses too little data and bad params with a 422', async () => {
    await assert.rejects(trainModel({ candles: candles.slice(0, 80), interval: 1440, algorithm: 'ridge' }), (e: unknown) => e instanceof AppError && e.status === 422);
    await assert.rejects(trainModel({ candles, interval: 1440, algorithm: 'ridge', params: { lambda: 'big' } }), (e: unknown) => e instanceof AppError && e.status === 422);
  });

  test('cancels through an AbortSignal', async () => {
    const ac = new AbortController();
    let steps = 0;
    await assert.rejects(
      trainModel({ candles, interval: 1440, algorithm: 'ridge' }, { signal: ac.signal, onProgress: () => ++steps === 3 && ac.abort() }),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
    assert.equal(steps, 3, 'no step ran after the abort');
    await assert.rejects(trainModel({ candles, interval: 1440, algorithm: 'naive' }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  test('fold scalers are fitted on the fold\'s training rows only', () => {
    const data = prepareData(candles, 1440, parseFeatureConfig({}));
    const trainRows = data.rows.slice(0, 1200);
    const spec = { algorithm: 'ridge', params: { lambda: 30 }, selection: { method: 'correlation' as const, topK: 6, minScore: 0 }, seed: 1 };
    const fitted = fitPipeline(data.frame, trainRows, spec);
    const idx = fitted.features.map((n) => data.frame.names.indexOf(n));
    assert.deepEqual(fitted.scaler, fitStandardScaler(gatherRows(data.frame, trainRows, idx)));
    // Rewriting every candle after the training window (its last target included) changes nothing.
    const cut = data.frame.times[trainRows.at(-1)! + 1]!;
    const other = prepareData(perturbAfter(candles, cut), 1440, parseFeatureConfig({}));
    const refit = fitPipeline(other.frame, trainRows, spec);
    assert.deepEqual(refit.scaler, fitted.scaler);
    assert.deepEqual(refit.ranking, fitted.ranking);
    assert.deepEqual(refit.model.toJSON(), fitted.model.toJSON());
    const wider = fitPipeline(data.frame, data.rows.slice(0, 2400), spec);
    assert.notDeepEqual(wider.scaler.mean, fitted.scaler.mean);
  });

  test('permutation-based selection runs inside the pipeline', async () => {
    const r = await trainModel({ candles, interval: 1440, algorithm: 'ridge', featureConfig: { selection: { method: 'permutation', topK: 4 } }, ...fast });
    assert.ok(r.features.selected.length <= 4);
    assert.ok(r.features.ranking.every((x) => x.score >= 0));
  });

  test('summary: danfojs describes the training features', async () => {
    const r = await trainModel({ candles: candles.slice(-600), interval: 1440, algorithm: 'naive', summary: true, ...fast });
    const s = r.features.summary!;
    assert.equal(s.length, r.features.ranking.length);
    const range = s.find((x) => x.name === 'range')!;
    assert.ok(range.min >= 0 && range.max > range.median && range.count === r.dataWindow.rows);
  });
});

describe('predictNext / predictSeries', () => {
  test('naive baseline is exactly next = last', async () => {
    const naive = await trainModel({ candles, interval: 1440, algorithm: 'naive', ...fast });
    for (const k of [500, 2000, candles.length - 1]) {
      const p = predictNext({ serializedModel: naive.model, candles: candles.slice(0, k + 1) });
      assert.equal(p.value, candles[k]!.close);
      assert.equal(p.naiveValue, candles[k]!.close);
      assert.equal(p.predictedReturn, 0);
      assert.equal(p.baseTime, candles[k]!.time);
      assert.equal(p.targetTime, candles[k]!.time + DAY);
    }
    for (const p of predictSeries({ serializedModel: naive.model, candles })) assert.equal(p.value, p.baseClose);
  });

  test('predictNext = the matching row of a batch backtest; stored JSON predicts the same', () => {
    const stored = JSON.parse(JSON.stringify(ridge.model)) as SerializedPipeline;
    const series = predictSeries({ serializedModel: stored, candles, from: candles[3000]!.time, to: candles[3010]!.time });
    assert.equal(series.length, 11);
    for (const [k, point] of series.entries()) {
      const next = predictNext({ serializedModel: ridge.model, candles: candles.slice(0, 3001 + k) });
      const { actualValue, ...rest } = point;
      assert.deepEqual(next, rest);
      assert.equal(actualValue, candles[3001 + k]!.close);
      assert.ok(next.lower95 < next.lower80 && next.lower80 < next.value && next.value < next.upper80 && next.upper80 < next.upper95);
      assert.ok(Math.abs(next.value - next.baseClose * Math.exp(next.predictedReturn)) < 1e-9);
    }
    const last = predictSeries({ serializedModel: ridge.model, candles }).at(-1)!;
    assert.equal(last.actualValue, null);
  });

  test('a recent window of requiredHistory candles predicts (nearly) what the full history does', () => {
    const h = ridge.model.requiredHistory;
    const full = predictNext({ serializedModel: ridge.model, candles });
    const recent = predictNext({ serializedModel: ridge.model, candles: candles.slice(-h) });
    assert.ok(Math.abs(full.value - recent.value) < 1e-6 * full.value);
    assert.throws(() => predictNext({ serializedModel: ridge.model, candles: candles.slice(-20) }), /Not enough candle history/);
    assert.throws(() => predictNext({ serializedModel: { format: 'nope' }, candles }), /not a stored candlecast model/);
  });

  test('no leakage: candles after t change no prediction at or before t (backtest and walk-forward)', async () => {
    const spec = { interval: 1440, algorithm: 'polynomial', seed: 3, validation: { walkForward: { initialTrain: 1500, testSize: 300, maxFolds: 7 } } } as const;
    const base = await trainModel({ candles, ...spec });
    const series = predictSeries({ serializedModel: base.model, candles });
    for (const idx of [1800, 2600, 3300, candles.length - 3]) {
      const t = candles[idx]!.time;
      const changed = perturbAfter(candles, t);
      const s2 = predictSeries({ serializedModel: base.model, candles: changed });
      const upTo = series.filter((p) => p.baseTime <= t);
      assert.deepEqual(s2.slice(0, upTo.length).map(({ actualValue: _a, ...p }) => p), upTo.map(({ actualValue: _a, ...p }) => p));
      assert.notDeepEqual(s2[upTo.length]!.value, series[upTo.length]!.value, 'the first prediction after t does change');
      const other = await trainModel({ candles: changed, ...spec });
      const keep = base.oos.times.filter((x) => x <= t).length;
      assert.deepEqual(other.oos.predictedReturn.slice(0, keep), base.oos.predictedReturn.slice(0, keep), `walk-forward predictions up to ${t}`);
      if (keep < base.oos.times.length) assert.notDeepEqual(other.oos.predictedReturn.slice(keep), base.oos.predictedReturn.slice(keep));
    }
  });
});
