import type { Candle } from '../../platform/candle.js';
import { ValidationError } from '../../platform/errors.js';
import type { TuneSpec, TuneSpecInput } from './models.schemas.js';
import { parseOrThrow, tuneSpecSchema } from './models.schemas.js';
import type { RunHooks } from './progress.js';
import { checkpoint } from './progress.js';
import { createRng, shuffleInPlace } from '../../platform/rng.js';
import type { SideBySide } from './training.js';
import { MIN_TRAIN_ROWS, prepareData, runWalkForward } from './training.js';
import type { ResolvedWalkForward } from './walk-forward.js';
import { chronologicalSplit, resolveWalkForward, walkForwardFolds } from './walk-forward.js';
import { parseModelParams, zooEntry } from './zoo.js';

export interface Trial {
  index: number;
  params: Record<string, unknown>;
  /** The objective (walk-forward price MAE or RMSE); null when the trial failed. */
  score: number | null;
  metrics: SideBySide | null;
  durationMs: number;
  error?: string;
}

export interface TuneResult {
  algorithm: string;
  objective: 'mae' | 'rmse';
  strategy: 'grid' | 'random';
  /** Distinct parameter sets in the grid, and whether maxTrials cut it. */
  candidates: number;
  truncated: boolean;
  trials: Trial[];
  best: Trial | null;
  /** Rows tuned on: those before the holdout test window, which tuning never sees. */
  rows: number;
  walkForward: ResolvedWalkForward & { folds: number };
  dataFingerprint: string;
  durationMs: number;
}

export interface TuneInput extends TuneSpecInput {
  candles: readonly Candle[];
}

function stableKey(o: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** Every distinct, valid parameter set of the grid (cartesian product), in grid order. */
export function gridCandidates(algorithm: string, grid: Record<string, readonly unknown[]>, base: Record<string, unknown> = {}): Record<string, unknown>[] {
  const keys = Object.keys(grid);
  let combos: Record<string, unknown>[] = [{}];
  for (const k of keys) {
    const values = grid[k]!;
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
  }
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const c of combos) {
    const params = parseModelParams(algorithm, { ...base, ...c });
    const key = stableKey(params);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(params);
  }
  return out;
}

/**
 * Grid or seeded random search with walk-forward cross-validation. Tuning sees only the rows
 * before the holdout test window of the same validation config, so a model trained later
 * with the winning params still has an untouched holdout. Every trial is returned, failed
 * ones included, so the caller can store them all.
 */
export async function tuneModel(input: TuneInput, hooks: RunHooks = {}): Promise<TuneResult> {
  const now = hooks.now ?? (() => performance.now());
  const t0 = now();
  const { candles, ...specInput } = input;
  const spec: TuneSpec = parseOrThrow(tuneSpecSchema, specInput, 'tuning spec');
  const entry = zooEntry(spec.algorithm);
  const grid = { ...(entry.paramGrid as Record<string, readonly unknown[]>), ...(spec.search.paramGrid ?? {}) };
  const all = gridCandidates(spec.algorithm, grid, spec.baseParams);
  const ordered = spec.search.strategy === 'random' ? shuffleInPlace([...all], createRng(spec.seed)) : all;
  const chosen = ordered.slice(0, spec.search.maxTrials);

  const data = prepareData(candles, spec.interval, spec.featureConfig);
  const split = chronologicalSplit(data.rows.length, spec.validation.holdoutFraction);
  const rows = data.rows.slice(split.train.start, split.train.end);
  if (rows.length < MIN_TRAIN_ROWS) throw new ValidationError(`Not enough data to tune: ${rows.length} rows before the holdout, need ${MIN_TRAIN_ROWS}`);
  let wf: ResolvedWalkForward;
  try {
    wf = resolveWalkForward(rows.length, spec.validation.walkForward);
  } catch (err) {
    throw new ValidationError((err as Error).message);
  }
  const folds = walkForwardFolds(rows.length, wf);

  const trials: Trial[] = [];
  for (const [index, params] of chosen.entries()) {
    await checkpoint(hooks.signal);
    hooks.onProgress?.({ stage: 'trial', step: index + 1, totalSteps: chosen.length, trial: index, message: `trial ${index + 1}/${chosen.length}` });
    const t = now();
    try {
      const wfr = await runWalkForward(data.frame, rows, folds, { algorithm: spec.algorithm, params, selection: spec.featureConfig.selection, seed: spec.seed }, { signal: hooks.signal, now });
      const m = wfr.pooled.model.price;
      trials.push({ index, params, score: spec.search.objective === 'mae' ? m.mae : m.rmse, metrics: wfr.pooled, durationMs: now() - t });
    } catch (err) {
      if (hooks.signal?.aborted) throw err;
      // One bad combination (e.g. a singular fit) should not sink the whole search.
      trials.push({ index, params, score: null, metrics: null, durationMs: now() - t, error: err instanceof Error ? err.message : String(err) });
    }
  }
  let best: Trial | null = null;
  for (const tr of trials) if (tr.score !== null && Number.isFinite(tr.score) && (best === null || tr.score < best.score!)) best = tr;
  return {
    algorithm: spec.algorithm,
    objective: spec.search.objective,
    strategy: spec.search.strategy,
    candidates: all.length,
    truncated: chosen.length < all.length,
    trials,
    best,
    rows: rows.length,
    walkForward: { ...wf, folds: folds.length },
    dataFingerprint: data.fingerprint,
    durationMs: now() - t0,
  };
}
