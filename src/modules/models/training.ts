import { createHash } from 'node:crypto';
import type { Candle } from '../../platform/candle.js';
import { ValidationError } from '../../platform/errors.js';
import type { CleanReport, FeatureConfig, FeatureFrame, FeatureRank, FeatureSummary } from '../features/index.js';
import { buildFeatures, cleanCandles, describeFeatures, trainableRows } from '../features/index.js';
import type { ResidualQuantiles } from './intervals.js';
import { residualQuantiles } from './intervals.js';
import type { EvalMetrics } from './metrics.js';
import { evaluateNaive, evaluatePoints } from './metrics.js';
import type { TrainSpec, TrainSpecInput } from './models.schemas.js';
import { parseOrThrow, trainSpecSchema } from './models.schemas.js';
import type { PipelineSpec, SerializedPipeline } from './pipeline.js';
import { fitPipeline, PIPELINE_FORMAT, predictRows, requiredHistory } from './pipeline.js';
import type { ProgressEvent, RunHooks } from './progress.js';
import { checkpoint } from './progress.js';
import type { Fold, ResolvedWalkForward } from './walk-forward.js';
import { chronologicalSplit, resolveWalkForward, walkForwardFolds } from './walk-forward.js';
import { parseModelParams } from './zoo.js';

/** Fewer trainable rows than this and no honest evaluation is possible. */
export const MIN_TRAIN_ROWS = 60;

export interface PreparedData {
  candles: Candle[];
  report: CleanReport;
  frame: FeatureFrame;
  /** Trainable rows (complete features, known target), chronological. */
  rows: number[];
  fingerprint: string;
}

/** sha256 of the cleaned candle rows, so a run can prove which data it saw. */
export function fingerprintCandles(candles: readonly Candle[]): string {
  const h = createHash('sha256');
  for (const c of candles) h.update(`${c.time},${c.open},${c.high},${c.low},${c.close},${c.volume},${c.trades}\n`);
  return h.digest('hex');
}

export function prepareData(candles: readonly Candle[], intervalMinutes: number, featureConfig: FeatureConfig): PreparedData {
  const { candles: clean, report } = cleanCandles(candles, intervalMinutes);
  const frame = buildFeatures(clean, intervalMinutes, featureConfig);
  return { candles: clean, report, frame, rows: trainableRows(frame), fingerprint: fingerprintCandles(clean) };
}

/** Out-of-sample points in time order: base candle time and close, realised and predicted log return. */
export interface OosPoints {
  times: number[];
  baseClose: number[];
  actualReturn: number[];
  predictedReturn: number[];
}

export interface SideBySide {
  model: EvalMetrics;
  naive: EvalMetrics;
}

export interface FoldResult extends SideBySide {
  index: number;
  trainRows: number;
  testRows: number;
  /** Open times of the first/last training and test rows (base candles). */
  trainFrom: number;
  trainTo: number;
  testFrom: number;
  testTo: number;
  features: string[];
  fitMs: number;
}

function score(frame: FeatureFrame, rows: readonly number[], predicted: readonly number[]): SideBySide {
  const baseClose = rows.map((i) => frame.close[i]!);
  const actualReturn = rows.map((i) => frame.target[i]!);
  return { model: evaluatePoints({ baseClose, actualReturn, predictedReturn: predicted }), naive: evaluateNaive({ baseClose, actualReturn }) };
}

export interface WalkForwardResult {
  folds: FoldResult[];
  oos: OosPoints;
  pooled: SideBySide;
}

/**
 * Fits a fresh pipeline (selection, scaler, model) on each fold's training rows and predicts
 * its test rows. `rows` are the trainable rows; fold ranges index into them.
 */
export async function runWalkForward(
  frame: FeatureFrame,
  rows: readonly number[],
  folds: readonly Fold[],
  spec: PipelineSpec,
  hooks: RunHooks & { onFold?: (fold: Fold) => void } = {},
): Promise<WalkForwardResult> {
  const now = hooks.now ?? (() => performance.now());
  const oos: OosPoints = { times: [], baseClose: [], actualReturn: [], predictedReturn: [] };
  const results: FoldResult[] = [];
  for (const fold of folds) {
    await checkpoint(hooks.signal);
    hooks.onFold?.(fold);
    const trainRows = rows.slice(fold.train.start, fold.train.end);
    const testRows = rows.slice(fold.test.start, fold.test.end);
    const t = now();
    const fitted = fitPipeline(frame, trainRows, spec);
    const fitMs = now() - t;
    const predicted = predictRows(fitted, frame, testRows);
    for (let k = 0; k < testRows.length; k++) {
      const i = testRows[k]!;
      oos.times.push(frame.times[i]!);
      oos.baseClose.push(frame.close[i]!);
      oos.actualReturn.push(frame.target[i]!);
      oos.predictedReturn.push(predicted[k]!);
    }
    results.push({
      index: fold.index,
      trainRows: trainRows.length,
      testRows: testRows.length,
      trainFrom: frame.times[trainRows[0]!]!,
      trainTo: frame.times[trainRows[trainRows.length - 1]!]!,
      testFrom: frame.times[testRows[0]!]!,
      testTo: frame.times[testRows[testRows.length - 1]!]!,
      features: fitted.features,
      fitMs,
      ...score(frame, testRows, predicted),
    });
  }
  const pooled = {
    model: evaluatePoints(oos),
    naive: evaluateNaive(oos),
  };
  return { folds: results, oos, pooled };
}

export interface TrainInput extends TrainSpecInput {
  candles: readonly Candle[];
}

export interface TrainResult {
  algorithm: string;
  params: Record<string, unknown>;
  seed: number;
  intervalMinutes: number;
  metrics: {
    /** In-sample: the holdout model scored on its own training rows. */
    train: SideBySide;
    /** The most recent holdoutFraction of rows, never seen by the holdout model. */
    test: SideBySide;
    /** Pooled out-of-sample points of every walk-forward fold, plus each fold. */
    walkForward: SideBySide & { folds: FoldResult[] };
  };
  /** Quantiles of walk-forward out-of-sample residuals of the log return. */
  residualQuantiles: ResidualQuantiles;
  oos: OosPoints;
  features: { selected: string[]; ranking: FeatureRank[]; config: FeatureConfig; summary?: FeatureSummary[] };
  dataWindow: {
    firstTime: number;
    lastTime: number;
    candles: number;
    rows: number;
    gaps: number;
    missingIntervals: number;
    dropped: { duplicates: number; invalid: number; unaligned: number };
  };
  validation: {
    holdout: { trainRows: number; testRows: number; testFrom: number };
    walkForward: ResolvedWalkForward & { folds: number };
  };
  dataFingerprint: string;
  model: SerializedPipeline;
  durationMs: number;
  timings: { prepareMs: number; holdoutMs: number; walkForwardMs: number; finalFitMs: number; summaryMs: number };
}

export function parseTrainSpec(input: TrainSpecInput): TrainSpec {
  const spec = parseOrThrow(trainSpecSchema, input, 'training spec');
  return { ...spec, params: parseModelParams(spec.algorithm, spec.params) };
}

/**
 * The whole training run as one pure function: clean -> features -> holdout split ->
 * walk-forward -> final fit on the full window. Deterministic for a given input and seed.
 */
export async function trainModel(input: TrainInput, hooks: RunHooks = {}): Promise<TrainResult> {
  const now = hooks.now ?? (() => performance.now());
  const t0 = now();
  const { candles, ...specInput } = input;
  const spec = parseTrainSpec(specInput);
  const pspec: PipelineSpec = { algorithm: spec.algorithm, params: spec.params, selection: spec.featureConfig.selection, seed: spec.seed };

  const data = prepareData(candles, spec.interval, spec.featureConfig);
  const { frame, rows } = data;
  if (rows.length < MIN_TRAIN_ROWS) {
    throw new ValidationError(`Not enough data to train: ${rows.length} usable rows after cleaning and feature warm-up, need at least ${MIN_TRAIN_ROWS}`);
  }
  const split = chronologicalSplit(rows.length, spec.validation.holdoutFraction);
  let wf: ResolvedWalkForward;
  try {
    wf = resolveWalkForward(rows.length, spec.validation.walkForward);
  } catch (err) {
    throw new ValidationError((err as Error).message);
  }
  const folds = walkForwardFolds(rows.length, wf);
  const totalSteps = 3 + folds.length + (spec.summary ? 1 : 0);
  let step = 0;
  const progress = (e: Omit<ProgressEvent, 'step' | 'totalSteps'>) => hooks.onProgress?.({ ...e, step: ++step, totalSteps });
  progress({ stage: 'prepare', message: `${data.candles.length} candles, ${rows.length} rows, ${frame.names.length} candidate features` });
  const prepareMs = now() - t0;

  await checkpoint(hooks.signal);
  let t = now();
  const trainRows = rows.slice(split.train.start, split.train.end);
  const testRows = rows.slice(split.test.start, split.test.end);
  const holdoutFit = fitPipeline(frame, trainRows, pspec);
  const trainScore = score(frame, trainRows, predictRows(holdoutFit, frame, trainRows));
  const testScore = score(frame, testRows, predictRows(holdoutFit, frame, testRows));
  const holdoutMs = now() - t;
  progress({ stage: 'holdout', message: `holdout: ${trainRows.length} train / ${testRows.length} test rows` });

  t = now();
  const walk = await runWalkForward(frame, rows, folds, pspec, {
    ...hooks,
    onFold: (f) => progress({ stage: 'walk-forward', fold: f.index, message: `fold ${f.index + 1}/${folds.length}` }),
  });
  const walkForwardMs = now() - t;

  await checkpoint(hooks.signal);
  t = now();
  const final = fitPipeline(frame, rows, pspec);
  const finalFitMs = now() - t;
  progress({ stage: 'final', message: `final fit on ${rows.length} rows` });

  let summary: FeatureSummary[] | undefined;
  let summaryMs = 0;
  if (spec.summary) {
    await checkpoint(hooks.signal);
    t = now();
    summary = await describeFeatures(frame, rows);
    summaryMs = now() - t;
    progress({ stage: 'summary', message: 'feature summary' });
  }

  const residuals = walk.oos.actualReturn.map((a, k) => a - walk.oos.predictedReturn[k]!);
  const quantiles = residualQuantiles(residuals);
  const lastRow = rows[rows.length - 1]!;
  const step_s = spec.interval * 60;
  const model: SerializedPipeline = {
    format: PIPELINE_FORMAT,
    algorithm: spec.algorithm,
    params: spec.params,
    seed: spec.seed,
    intervalMinutes: spec.interval,
    featureConfig: spec.featureConfig,
    features: final.features,
    scaler: final.scaler,
    model: final.model.toJSON(),
    residualQuantiles: quantiles.n > 0 ? quantiles : null,
    trainedThrough: frame.times[lastRow]! + step_s,
    dataFingerprint: data.fingerprint,
    requiredHistory: requiredHistory(spec.featureConfig),
  };

  return {
    algorithm: spec.algorithm,
    params: spec.params,
    seed: spec.seed,
    intervalMinutes: spec.interval,
    metrics: { train: trainScore, test: testScore, walkForward: { ...walk.pooled, folds: walk.folds } },
    residualQuantiles: quantiles,
    oos: walk.oos,
    features: { selected: final.features, ranking: final.ranking, config: spec.featureConfig, ...(summary ? { summary } : {}) },
    dataWindow: {
      firstTime: data.candles[0]!.time,
      lastTime: data.candles[data.candles.length - 1]!.time,
      candles: data.candles.length,
      rows: rows.length,
      gaps: data.report.gaps.length,
      missingIntervals: data.report.missingIntervals,
      dropped: { duplicates: data.report.duplicates, invalid: data.report.invalid, unaligned: data.report.unaligned },
    },
    validation: {
      holdout: { trainRows: trainRows.length, testRows: testRows.length, testFrom: frame.times[testRows[0]!]! },
      walkForward: { ...wf, folds: folds.length },
    },
    dataFingerprint: data.fingerprint,
    model,
    durationMs: now() - t0,
    timings: { prepareMs, holdoutMs, walkForwardMs, finalFitMs, summaryMs },
  };
}
