import type { Candle } from '../../platform/candle.js';
import { ValidationError } from '../../platform/errors.js';
import { buildFeatures, cleanCandles } from '../features/index.js';
import type { FeatureFrame } from '../features/index.js';
import type { PredictionInterval } from './intervals.js';
import { predictionInterval, priceFromReturn } from './intervals.js';
import type { LoadedPipeline, SerializedPipeline } from './pipeline.js';
import { loadPipeline, predictRows } from './pipeline.js';

export interface Prediction extends PredictionInterval {
  predictedReturn: number;
  /** Predicted close of the next candle: lastClose * exp(predictedReturn). */
  value: number;
  /** Open time of the candle the prediction is made from (its close is known). */
  baseTime: number;
  baseClose: number;
  /** Open time of the predicted candle (Candle.time convention); it closes at targetTime + interval. */
  targetTime: number;
  /** "Next = last": what the naive baseline says for the same target. */
  naiveValue: number;
}

export interface BacktestPoint extends Prediction {
  /** The realised close of the target candle, when it is in the data. */
  actualValue: number | null;
}

export interface PredictInput {
  /** A SerializedPipeline as stored (plain JSON) or an already loaded one (batch use). */
  serializedModel: SerializedPipeline | LoadedPipeline | unknown;
  candles: readonly Candle[];
}

function asLoaded(m: unknown): LoadedPipeline {
  if (m && typeof m === 'object' && 'meta' in m && 'model' in m && typeof (m as LoadedPipeline).model?.predict === 'function') return m as LoadedPipeline;
  return loadPipeline(m);
}

function frameFor(p: LoadedPipeline, candles: readonly Candle[]): { frame: FeatureFrame; candles: Candle[] } {
  const clean = cleanCandles(candles, p.meta.intervalMinutes).candles;
  return { frame: buildFeatures(clean, p.meta.intervalMinutes, p.meta.featureConfig), candles: clean };
}

function toPrediction(p: LoadedPipeline, frame: FeatureFrame, row: number, r: number): Prediction {
  const baseClose = frame.close[row]!;
  const q = p.meta.residualQuantiles;
  const interval = q ? predictionInterval(baseClose, r, q) : { lower80: NaN, upper80: NaN, lower95: NaN, upper95: NaN };
  return {
    predictedReturn: r,
    value: priceFromReturn(baseClose, r),
    ...interval,
    baseTime: frame.times[row]!,
    baseClose,
    targetTime: frame.times[row]! + p.meta.intervalMinutes * 60,
    naiveValue: baseClose,
  };
}

/**
 * Predictions for every candle whose open time is in [from, to] (defaults: all rows with
 * complete features). Each uses only candles up to its own base time, so a backtest over
 * history is what live predictions would have said, through the same predictRows path.
 */
export function predictSeries(input: PredictInput & { from?: number; to?: number }): BacktestPoint[] {
  const p = asLoaded(input.serializedModel);
  const { frame } = frameFor(p, input.candles);
  const from = input.from ?? -Infinity;
  const to = input.to ?? Infinity;
  const rows: number[] = [];
  for (let i = 0; i < frame.times.length; i++) {
    const t = frame.times[i]!;
    if (t >= from && t <= to && frame.complete[i] === 1) rows.push(i);
  }
  const r = predictRows(p, frame, rows);
  return rows.map((row, k) => {
    const next = frame.nextClose[row]!;
    return { ...toPrediction(p, frame, row, r[k]!), actualValue: Number.isFinite(next) ? next : null };
  });
}

/** The prediction for the interval after the last candle given. */
export function predictNext(input: PredictInput): Prediction {
  const p = asLoaded(input.serializedModel);
  const { frame } = frameFor(p, input.candles);
  const last = frame.times.length - 1;
  if (last < 0 || frame.complete[last] !== 1) {
    throw new ValidationError(`Not enough candle history to predict: got ${frame.times.length} candles, the model needs about ${p.meta.requiredHistory}`);
  }
  const [r] = predictRows(p, frame, [last]);
  return toPrediction(p, frame, last, r!);
}
