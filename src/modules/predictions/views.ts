/**
 * The JSON shapes of the prediction API, built from registry rows. The original gateway's
 * field names come first and are never renamed; candlecast's additions (bounds, the naive
 * baseline, skill, run ids) sit beside them. Pages render the same objects.
 *
 * Numbers that are undefined (NaN, a skill without naive error) are null: JSON has no NaN.
 */
import { intervalLabel } from '../../platform/candle.js';
import { isAlgorithm, zoo } from '../models/index.js';
import type { LiveMetricsRow, PredictionRow, RunDetail, RunSummary, TuningRow } from './predictions.repo.js';

export const fin = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);
const isoSeconds = (t: number): string => new Date(t * 1000).toISOString();

export { intervalLabel } from '../../platform/candle.js';

export function algorithmLabel(algorithm: string): string {
  return isAlgorithm(algorithm) ? zoo[algorithm].label : algorithm;
}

/** 1 - a / b: how much smaller an error is than the naive baseline's (> 0 beats naive). */
export function skill(model: number | null | undefined, naive: number | null | undefined): number | null {
  const m = fin(model);
  const n = fin(naive);
  return m === null || n === null || n <= 0 ? null : 1 - m / n;
}

export interface SeriesRef {
  id: number;
  key: string;
  altname: string;
}

function seriesJson(pair: { altname: string; key: string }, interval: number) {
  return { pair: pair.altname, pair_key: pair.key, interval: intervalLabel(interval), interval_minutes: interval };
}

/** Compact train/test/walk-forward scores beside the naive baseline on the same points. */
export function scoresJson(r: RunSummary) {
  const s = r.scores;
  return {
    train: { mse: fin(s.trainMse), r2: fin(s.trainR2), naive_mse: fin(s.naiveTrainMse), naive_r2: fin(s.naiveTrainR2) },
    test: {
      mse: fin(s.testMse),
      mae: fin(s.testMae),
      r2: fin(s.testR2),
      skill_vs_naive: fin(s.testSkill),
      naive_mse: fin(s.naiveTestMse),
      naive_mae: fin(s.naiveTestMae),
      naive_r2: fin(s.naiveTestR2),
    },
    walk_forward: { mae: fin(s.wfMae), rmse: fin(s.wfRmse), skill_vs_naive: fin(s.wfSkill), naive_mae: fin(s.naiveWfMae) },
  };
}

export function runJson(r: RunSummary, version?: number) {
  return {
    id: r.id,
    run_id: String(r.id),
    ...seriesJson({ altname: r.altname, key: r.pairKey }, r.interval),
    experiment_id: r.experimentId,
    algorithm: r.algorithm,
    label: algorithmLabel(r.algorithm),
    model_name: r.algorithm,
    ...(version !== undefined ? { model_version: String(version) } : {}),
    kind: r.kind,
    status: r.status,
    is_naive: r.algorithm === 'naive',
    is_best: r.isBest,
    params: r.params,
    progress: r.progress,
    error: r.error,
    tuning_id: r.tuningId,
    job_run_id: r.jobRunId,
    created_by: r.createdById,
    promoted_by: r.promotedById,
    promoted_at: iso(r.promotedAt),
    created_at: iso(r.createdAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    data: { from: iso(r.dataFrom), to: iso(r.dataTo), rows: r.dataRows, fingerprint: r.fingerprint },
    code_version: r.codeVersion,
    metrics: scoresJson(r),
  };
}

interface StoredMetrics {
  train?: unknown;
  test?: unknown;
  walkForward?: { model?: unknown; naive?: unknown; folds?: unknown };
  validation?: unknown;
  timings?: unknown;
  dataWindow?: unknown;
  seed?: unknown;
  objective?: unknown;
  score?: unknown;
}

interface StoredResiduals {
  quantiles?: unknown;
  oos?: unknown;
}

interface StoredFeatureSet {
  selected?: unknown;
  config?: unknown;
}

/** Everything about one run: full metrics (train, test, walk-forward and each fold, naive beside), features, residual quantiles. */
export function runDetailJson(r: RunDetail, version: number | undefined, opts: { oos?: boolean } = {}) {
  const m = (r.metrics ?? {}) as StoredMetrics;
  const res = (r.residuals ?? {}) as StoredResiduals;
  const fs = (r.featureSet ?? {}) as StoredFeatureSet;
  return {
    ...runJson(r, version),
    evaluation: {
      train: m.train ?? null,
      test: m.test ?? null,
      walk_forward: m.walkForward ? { model: m.walkForward.model ?? null, naive: m.walkForward.naive ?? null } : null,
      folds: m.walkForward?.folds ?? null,
      ...(m.objective !== undefined ? { objective: m.objective, score: m.score ?? null } : {}),
    },
    validation: m.validation ?? null,
    timings_ms: m.timings ?? null,
    data_window: m.dataWindow ?? null,
    seed: m.seed ?? null,
    features: { selected: fs.selected ?? null, config: fs.config ?? null, ranking: r.featureRanking ?? null },
    residual_quantiles: res.quantiles ?? null,
    ...(opts.oos ? { out_of_sample: res.oos ?? null } : {}),
    artifact_bytes: r.artifactBytes,
  };
}

/** The original's evaluation fields (price MSE and R² of the model on its training rows and on the holdout test rows). */
export function evaluationJson(r: RunSummary, version: number) {
  const s = r.scores;
  return {
    evaluation_date: iso(r.finishedAt ?? r.createdAt),
    mse_train: fin(s.trainMse),
    r2_score_train: fin(s.trainR2),
    mse_test: fin(s.testMse),
    r2_score_test: fin(s.testR2),
    run_id: String(r.id),
    model_name: r.algorithm,
    model_version: String(version),
    algorithm: r.algorithm,
    is_naive: r.algorithm === 'naive',
    ...seriesJson({ altname: r.altname, key: r.pairKey }, r.interval),
    mae_test: fin(s.testMae),
    skill_vs_naive: fin(s.testSkill),
    naive: { mse_train: fin(s.naiveTrainMse), r2_score_train: fin(s.naiveTrainR2), mse_test: fin(s.naiveTestMse), r2_score_test: fin(s.naiveTestR2), mae_test: fin(s.naiveTestMae) },
    walk_forward: { mae: fin(s.wfMae), rmse: fin(s.wfRmse), skill_vs_naive: fin(s.wfSkill), naive_mae: fin(s.naiveWfMae) },
    data: { from: iso(r.dataFrom), to: iso(r.dataTo), rows: r.dataRows, fingerprint: r.fingerprint },
  };
}

export function bestModelJson(r: RunSummary, version: number) {
  const e = evaluationJson(r, version);
  return {
    model_name: e.model_name,
    model_version: e.model_version,
    evaluation_date: e.evaluation_date,
    mse_train: e.mse_train,
    r2_score_train: e.r2_score_train,
    mse_test: e.mse_test,
    r2_score_test: e.r2_score_test,
    run_id: e.run_id,
    algorithm: r.algorithm,
    label: algorithmLabel(r.algorithm),
    is_naive: r.algorithm === 'naive',
    /** how this run became the best: lowest test MSE among its batch (naive included) or an administrator's promotion */
    selected_by: r.promotedAt ? 'promoted' : 'lowest_test_mse',
    promoted_by: r.promotedById,
    promoted_at: iso(r.promotedAt),
    stage: 'Production',
    params: r.params,
    pair: e.pair,
    pair_key: e.pair_key,
    interval: e.interval,
    interval_minutes: e.interval_minutes,
    mae_test: e.mae_test,
    skill_vs_naive: e.skill_vs_naive,
    naive: e.naive,
    walk_forward: e.walk_forward,
    data: e.data,
    code_version: r.codeVersion,
  };
}

/** MLflow's model registry shape: one entry per algorithm, its latest version and, if it serves, the Production one. */
export function modelsJson(versions: (RunSummary & { version: number })[], pair: { altname: string; key: string }, interval: number) {
  const byAlgorithm = new Map<string, (RunSummary & { version: number })[]>();
  for (const v of versions) {
    const list = byAlgorithm.get(v.algorithm) ?? [];
    list.push(v);
    byAlgorithm.set(v.algorithm, list);
  }
  const models = [...byAlgorithm.entries()].map(([name, list]) => {
    const latest = list[list.length - 1]!;
    const best = list.find((v) => v.isBest);
    const shown = best && best !== latest ? [best, latest] : [latest];
    return {
      name,
      label: algorithmLabel(name),
      is_naive: name === 'naive',
      versions: list.length,
      latest_versions: shown.map((v) => ({
        version: String(v.version),
        stage: v.isBest ? 'Production' : 'None',
        description: describeRun(v),
        run_id: String(v.id),
        created_at: iso(v.createdAt),
        mse_test: fin(v.scores.testMse),
        skill_vs_naive: fin(v.scores.testSkill),
        is_best: v.isBest,
      })),
    };
  });
  return { models, ...seriesJson(pair, interval), best_run_id: versions.find((v) => v.isBest)?.id ?? null };
}

function fmt(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  return Math.abs(v) >= 1000 ? v.toExponential(3) : v.toPrecision(4);
}

export function describeRun(v: RunSummary): string {
  const s = v.scores;
  const sk = fin(s.testSkill);
  return `${algorithmLabel(v.algorithm)} trained on ${v.dataRows ?? '?'} rows to ${v.dataTo?.toISOString().slice(0, 10) ?? '?'}; test MSE ${fmt(s.testMse)} (naive ${fmt(s.naiveTestMse)})${
    v.algorithm === 'naive' ? '' : sk === null ? '' : `, skill vs naive ${(sk * 100).toFixed(1)} %`
  }`;
}

export function predictionJson(p: PredictionRow, pair: { altname: string }, opts: { bestRunId?: number | null } = {}) {
  return {
    id: p.id,
    prediction_date: p.targetTime.toISOString(),
    prediction_value: fin(p.value),
    pair: pair.altname,
    interval: intervalLabel(p.interval),
    kind: p.kind,
    algorithm: p.algorithm,
    run_id: p.modelRunId === null ? null : String(p.modelRunId),
    is_naive: p.algorithm === 'naive',
    ...(opts.bestRunId !== undefined ? { is_best_model: p.modelRunId !== null && p.modelRunId === opts.bestRunId } : {}),
    made_at: p.madeAt.toISOString(),
    base_time: p.baseTime.toISOString(),
    base_close: fin(p.baseClose),
    target_time: p.targetTime.toISOString(),
    target_close_time: new Date(p.targetTime.getTime() + p.interval * 60_000).toISOString(),
    predicted_return: fin(p.predictedReturn),
    lower80: fin(p.lower80),
    upper80: fin(p.upper80),
    lower95: fin(p.lower95),
    upper95: fin(p.upper95),
    naive_value: fin(p.naiveValue),
    actual: fin(p.actual),
    error: fin(p.error),
    abs_error: fin(p.absError),
    naive_abs_error: fin(p.naiveAbsError),
    scored_at: iso(p.scoredAt),
  };
}

export interface LiveStats {
  n: number;
  mae: number | null;
  naiveMae: number | null;
}

/** GET /latest-prediction: the original's two fields, then bounds, the naive baseline, the model and its skill. */
export function latestPredictionJson(p: PredictionRow, naive: PredictionRow | null, best: RunSummary, version: number, live: LiveStats) {
  const base = predictionJson(p, { altname: best.altname });
  return {
    prediction_date: base.prediction_date,
    prediction_value: base.prediction_value,
    ...seriesJson({ altname: best.altname, key: best.pairKey }, best.interval),
    lower80: base.lower80,
    upper80: base.upper80,
    lower95: base.lower95,
    upper95: base.upper95,
    predicted_return: base.predicted_return,
    predicted_change_pct: fin((p.value / p.baseClose - 1) * 100),
    made_at: base.made_at,
    base_time: base.base_time,
    base_close: base.base_close,
    target_time: base.target_time,
    target_close_time: base.target_close_time,
    prediction_id: p.id,
    naive: {
      value: fin(p.naiveValue),
      lower80: naive ? fin(naive.lower80) : null,
      upper80: naive ? fin(naive.upper80) : null,
      lower95: naive ? fin(naive.lower95) : null,
      upper95: naive ? fin(naive.upper95) : null,
      run_id: naive?.modelRunId != null ? String(naive.modelRunId) : null,
    },
    model: {
      name: best.algorithm,
      version: String(version),
      run_id: String(best.id),
      algorithm: best.algorithm,
      label: algorithmLabel(best.algorithm),
      is_naive: best.algorithm === 'naive',
      stage: 'Production',
      selected_by: best.promotedAt ? 'promoted' : 'lowest_test_mse',
      trained_to: iso(best.dataTo),
    },
    /** the naive baseline won the model selection: the forecast is "next close = last close" */
    naive_is_best: best.algorithm === 'naive',
    skill: {
      test: fin(best.scores.testSkill),
      walk_forward: fin(best.scores.wfSkill),
      live: skill(live.mae, live.naiveMae),
      live_n: live.n,
      live_mae: fin(live.mae),
      live_naive_mae: fin(live.naiveMae),
    },
  };
}

export function liveMetricsJson(rows: LiveMetricsRow[], runs: Map<number, RunSummary>, pair: { altname: string; key: string }, interval: number, bestRunId: number | null) {
  return {
    ...seriesJson(pair, interval),
    best_run_id: bestRunId,
    models: rows.map((r) => {
      const run = r.modelRunId === null ? undefined : runs.get(r.modelRunId);
      return {
        run_id: r.modelRunId === null ? null : String(r.modelRunId),
        algorithm: r.algorithm,
        label: algorithmLabel(r.algorithm),
        is_naive: r.algorithm === 'naive',
        is_best: r.modelRunId !== null && r.modelRunId === bestRunId,
        n: r.n,
        mae: fin(r.mae),
        rmse: fin(r.rmse),
        naive_mae: fin(r.naiveMae),
        naive_rmse: fin(r.naiveRmse),
        skill_vs_naive: r.algorithm === 'naive' ? null : skill(r.mae, r.naiveMae),
        direction_accuracy: r.calls > 0 ? r.hits / r.calls : null,
        direction_calls: r.calls,
        first_target: iso(r.firstTarget),
        last_target: iso(r.lastTarget),
        walk_forward_mae: run ? fin(run.testMae) : null,
        test_mse: run ? fin(run.testMse) : null,
      };
    }),
  };
}

export function tuningJson(t: TuningRow, trials: RunSummary[] | undefined) {
  return {
    id: t.id,
    tuning_id: t.id,
    pair: t.altname,
    interval: intervalLabel(t.interval),
    interval_minutes: t.interval,
    experiment_id: t.experimentId,
    algorithm: t.algorithm,
    strategy: t.method,
    max_trials: t.budget,
    status: t.status,
    progress: t.progress,
    error: t.error,
    best_run_id: t.bestRunId,
    job_run_id: t.jobRunId,
    created_by: t.createdById,
    created_at: iso(t.createdAt),
    started_at: iso(t.startedAt),
    finished_at: iso(t.finishedAt),
    spec: t.spec,
    summary: t.summary,
    ...(trials
      ? {
          trials: trials.map((r) => ({
            run_id: String(r.id),
            id: r.id,
            status: r.status,
            params: r.params,
            is_best_trial: r.id === t.bestRunId,
            duration_ms: r.durationMs,
            error: r.error,
            walk_forward: { mae: fin(r.scores.wfMae), rmse: fin(r.scores.wfRmse), skill_vs_naive: fin(r.scores.wfSkill), naive_mae: fin(r.scores.naiveWfMae) },
          })),
        }
      : {}),
  };
}

export { isoSeconds };
