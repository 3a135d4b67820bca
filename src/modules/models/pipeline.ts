import { z } from 'zod';
import type { FeatureConfig, FeatureFrame, FeatureRank, FeatureSelectionConfig, StandardScalerState } from '../features/index.js';
import {
  applyStandardScaler,
  featureConfigSchema,
  featureIndex,
  fitStandardScaler,
  gatherRows,
  rankByCorrelation,
  rankByPermutation,
  selectFeatures,
  warmupCandles,
} from '../features/index.js';
import type { ResidualQuantiles } from './intervals.js';
import { linearPredict, ridgeFit } from './linalg.js';
import type { Model, SerializedModel } from './model.js';
import { createModel, loadModel } from './zoo.js';

/** A fitted chain: pick features by name -> standard-scale -> model. */
export interface FittedPipeline {
  algorithm: string;
  params: Record<string, unknown>;
  /** Selected features in the model's column order (best ranked first). */
  features: string[];
  scaler: StandardScalerState;
  model: Model;
  /** Ranking of every candidate feature inside the training rows. */
  ranking: FeatureRank[];
}

export interface PipelineSpec {
  algorithm: string;
  params: Record<string, unknown>;
  selection: FeatureSelectionConfig;
  seed: number;
}

/**
 * Fits feature selection, the scaler and the model on exactly `rows` (indices into the
 * frame, all with a known target). Everything learned comes from these rows only, which is
 * what makes walk-forward folds honest: the caller passes a fold's training rows.
 */
export function fitPipeline(frame: FeatureFrame, rows: readonly number[], spec: PipelineSpec): FittedPipeline {
  if (rows.length < 2) throw new RangeError('need at least two training rows');
  const allIdx = frame.names.map((_, j) => j);
  const Xall = gatherRows(frame, rows, allIdx);
  const y = rows.map((i) => {
    const t = frame.target[i]!;
    if (!Number.isFinite(t) || frame.complete[i] !== 1) throw new RangeError(`row ${i} has no target or incomplete features`);
    return t;
  });
  const ranking =
    spec.selection.method === 'permutation'
      ? rankByPermutation(frame.names, standardize(Xall), y, (Xt, yt) => {
          const fit = ridgeFit(Xt, yt, 10);
          return (Xp) => linearPredict(fit, Xp);
        }, { seed: spec.seed })
      : rankByCorrelation(frame.names, Xall, y);
  const features = selectFeatures(ranking, spec.selection);
  const idx = features.map((n) => frame.names.indexOf(n));
  const Xsel = Xall.map((row) => idx.map((j) => row[j]!));
  const scaler = fitStandardScaler(Xsel);
  const model = createModel(spec.algorithm, spec.params, { seed: spec.seed });
  model.fit(applyStandardScaler(scaler, Xsel), y);
  return { algorithm: spec.algorithm, params: spec.params, features, scaler, model, ranking };
}

function standardize(X: number[][]): number[][] {
  return applyStandardScaler(fitStandardScaler(X), X);
}

/** The parts of a pipeline prediction needs; both fitted and loaded pipelines have them. */
export interface PredictivePipeline {
  features: readonly string[];
  scaler: StandardScalerState;
  model: Model;
}

/**
 * THE prediction code path: walk-forward scoring, predictNext and batch backtests all call
 * this, so a stored model cannot behave differently from the one that was evaluated.
 */
export function predictRows(p: PredictivePipeline, frame: FeatureFrame, rows: readonly number[]): number[] {
  for (const i of rows) {
    if (frame.complete[i] !== 1) throw new RangeError(`row ${i} (time ${frame.times[i]}) lacks complete features: not enough history`);
  }
  if (rows.length === 0) return [];
  const X = gatherRows(frame, rows, featureIndex(frame, p.features));
  return p.model.predict(applyStandardScaler(p.scaler, X));
}

export const PIPELINE_FORMAT = 'candlecast.pipeline/v1';

/** A stored model: everything predictNext needs, as plain JSON. */
export interface SerializedPipeline {
  format: typeof PIPELINE_FORMAT;
  algorithm: string;
  params: Record<string, unknown>;
  seed: number;
  intervalMinutes: number;
  featureConfig: FeatureConfig;
  features: string[];
  scaler: StandardScalerState;
  model: SerializedModel;
  /** From walk-forward out-of-sample residuals of the log return; null if none were collected. */
  residualQuantiles: ResidualQuantiles | null;
  /** Open time of the last candle whose close was used as a training target. */
  trainedThrough: number;
  dataFingerprint: string;
  /** Candles of history to pass for full-precision features (EMA/RSI burn-in included). */
  requiredHistory: number;
}

const quantilesSchema = z.object({ n: z.number(), q025: z.number(), q10: z.number(), q50: z.number(), q90: z.number(), q975: z.number() });
const serializedPipelineSchema = z.object({
  format: z.literal(PIPELINE_FORMAT),
  algorithm: z.string(),
  params: z.record(z.string(), z.unknown()),
  seed: z.number(),
  intervalMinutes: z.number().int().positive(),
  featureConfig: featureConfigSchema,
  features: z.array(z.string()).min(1),
  scaler: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }),
  model: z.object({ algorithm: z.string(), params: z.record(z.string(), z.unknown()), state: z.unknown() }),
  residualQuantiles: quantilesSchema.nullable(),
  trainedThrough: z.number(),
  dataFingerprint: z.string(),
  requiredHistory: z.number().int().positive(),
});

export interface LoadedPipeline extends PredictivePipeline {
  meta: SerializedPipeline;
}

export function loadPipeline(json: unknown): LoadedPipeline {
  const r = serializedPipelineSchema.safeParse(json);
  if (!r.success) throw new TypeError(`not a stored candlecast model: ${z.prettifyError(r.error)}`);
  const meta = r.data as SerializedPipeline;
  if (meta.scaler.mean.length !== meta.features.length) throw new TypeError('stored model: scaler and feature list differ in length');
  return { meta, features: meta.features, scaler: meta.scaler, model: loadModel(meta.model) };
}

/** Steps for a recursive indicator's start-up effect to fall below 1e-6. */
function burnIn(alpha: number): number {
  return Math.ceil(Math.log(1e-6) / Math.log(1 - alpha));
}

export function requiredHistory(config: FeatureConfig): number {
  const recursive = [...config.emaWindows.map((n) => burnIn(2 / (n + 1))), config.rsiPeriod ? burnIn(1 / config.rsiPeriod) : 0];
  return warmupCandles(config) + 1 + Math.max(0, ...recursive);
}
