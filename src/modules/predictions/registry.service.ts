/**
 * The model registry: experiments (pair, interval, target, features), training and tuning runs
 * (trained in worker threads, every run stored with its data window, fingerprint, code
 * version, metrics beside the naive baseline, duration, status and artifact), and the best run
 * per pair and interval, chosen by holdout test MSE among the runs trained on the same data,
 * the naive baseline included; administrators may promote another run by hand.
 *
 * No Express and no Prisma here: the repo, the worker pool, market's service and the clock are
 * handed in.
 */
import type { Candle } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { EventBus } from '../../platform/events.js';
import { JobAbortError } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import { parseFeatureConfig, type FeatureConfig } from '../features/index.js';
import type { MarketPair, MarketService } from '../market/index.js';
import { DEFAULT_SUITE, loadPipeline, type Algorithm, type LoadedPipeline, type ProgressEvent, type TrainResult, type TuneResult, type WorkerPool } from '../models/index.js';
import type { Metrics } from '../monitoring/index.js';
import { SingleFlight, seriesKey, TtlCache } from './caches.js';
import type { CacheMessage } from './cache-bus.js';
import type { NewRun, PredictionsRepo, RunDetail, RunFilter, RunSummary, TuningRow } from './predictions.repo.js';
import type { RetrainParams, TuneBody } from './predictions.schemas.js';
import { tuneBody } from './predictions.schemas.js';
import { intervalLabel } from './views.js';

/** What every experiment predicts: the next interval's log return (docs/decisions/011). */
export const TARGET = 'log_return';
/** Fewer closed candles than this and a pair/interval is not trained: features need ~240 candles of history. */
export const MIN_TRAIN_CANDLES = 300;
export const INTERRUPTED_RUN = 'interrupted: the job running it ended before the run finished';

export interface PairRef {
  id: number;
  key: string;
  altname: string;
  intervals: number[];
  tracked: boolean;
}

export interface TrainHooks {
  signal?: AbortSignal;
  /** fraction 0..1 of the whole job, and a message */
  progress?(fraction: number, message?: string): Promise<void> | void;
  log?: Logger;
  jobRunId?: number;
  startedById?: number | null;
}

export interface SuiteItem {
  algorithm: string;
  params: Record<string, unknown>;
  /** the tuning whose winning params these are */
  tuningId?: number;
}

export interface SeriesOutcome {
  pairId: number;
  pair: string;
  interval: number;
  status: 'trained' | 'skipped' | 'failed';
  reason?: string;
  candles?: number;
  runs?: { id: number; algorithm: string; status: string; testMse: number | null; error?: string }[];
  best?: { runId: number; algorithm: string; testMse: number | null; isNaive: boolean } | null;
  bestChanged?: boolean;
}

export interface RetrainSummary {
  series: SeriesOutcome[];
  trained: number;
  skipped: number;
  runs: number;
  failedRuns: number;
}

export interface RegistryDeps {
  repo: PredictionsRepo;
  market: MarketService;
  pool: WorkerPool;
  events: EventBus;
  metrics: Pick<Metrics, 'modelScore'>;
  clock: Clock;
  log: Logger;
  codeVersion: () => Promise<string>;
  /** drops cached best runs (here and, through the bus, on other instances) */
  invalidate(m: CacheMessage): void;
  /** records an administrator's action in the audit log */
  audit?(entry: { action: string; actor: { id: number; username: string }; target: string; details?: Record<string, unknown> }): Promise<void>;
  /** cache TTL (ms) of pair names and best runs */
  cacheTtlMs?: number;
}

function abortStatus(signal: AbortSignal): { status: 'cancelled' | 'failed'; message: string } {
  const r: unknown = signal.reason;
  if (r instanceof JobAbortError) return r.kind === 'cancelled' ? { status: 'cancelled', message: r.message } : { status: 'failed', message: `interrupted: ${r.message}` };
  return { status: 'cancelled', message: r instanceof Error ? r.message : 'cancelled' };
}

const errMessage = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 2000);

/** Orders candidates: lowest test MSE first; on a tie the naive baseline (simplest), then the older run. */
export function rankCandidates<T extends { id: number; algorithm: string; testMse: number | null }>(runs: readonly T[]): T[] {
  const key = (r: T) => (r.testMse === null || !Number.isFinite(r.testMse) ? Infinity : r.testMse);
  return [...runs].sort((a, b) => key(a) - key(b) || Number(b.algorithm === 'naive') - Number(a.algorithm === 'naive') || a.id - b.id);
}

/** The suite of a retrain: explicit entries, or default-suite entries with tuned params where a tuning succeeded; naive always first. */
export function buildSuite(params: Pick<RetrainParams, 'algorithms' | 'suite'>, tuned: Map<string, { tuningId: number; params: Record<string, unknown> }>): SuiteItem[] {
  let items: SuiteItem[];
  if (params.suite) {
    items = params.suite.map((e) => ({ algorithm: e.algorithm, params: e.params }));
  } else {
    const base = params.algorithms ? params.algorithms.map((a) => DEFAULT_SUITE.find((e) => e.algorithm === a) ?? { algorithm: a, params: {} }) : DEFAULT_SUITE;
    items = base.map((e) => {
      const t = tuned.get(e.algorithm);
      return t ? { algorithm: e.algorithm, params: t.params, tuningId: t.tuningId } : { algorithm: e.algorithm, params: { ...e.params } };
    });
  }
  if (!items.some((e) => e.algorithm === 'naive')) items.unshift({ algorithm: 'naive', params: {} });
  return items;
}

/** What is stored of a training result. */
export function runUpdateFrom(result: TrainResult) {
  return {
    status: 'succeeded' as const,
    params: result.params,
    dataFrom: new Date(result.dataWindow.firstTime * 1000),
    dataTo: new Date(result.dataWindow.lastTime * 1000),
    dataRows: result.dataWindow.rows,
    fingerprint: result.dataFingerprint,
    metrics: {
      train: result.metrics.train,
      test: result.metrics.test,
      walkForward: result.metrics.walkForward,
      validation: result.validation,
      timings: result.timings,
      dataWindow: result.dataWindow,
      seed: result.seed,
    },
    featureSet: { selected: result.features.selected, config: result.features.config },
    featureRanking: result.features.ranking,
    residuals: { quantiles: result.residualQuantiles, oos: result.oos },
    artifact: result.model,
    durationMs: result.durationMs,
    progress: 1,
    error: null,
    testMae: result.metrics.walkForward.model.price.mae,
    testMse: result.metrics.test.model.price.mse,
  };
}

export function createRegistryService(deps: RegistryDeps) {
  const { repo, market, pool, events, clock } = deps;
  const log = deps.log;
  const ttl = deps.cacheTtlMs ?? 60_000;
  const pairs = new TtlCache<string, PairRef>(ttl, 1000);
  const best = new TtlCache<string, RunSummary | null>(ttl, 1000);
  const bestGen = new Map<string, number>();
  let epoch = 0;
  const genOf = (key: string) => `${epoch}:${bestGen.get(key) ?? 0}`;
  const models = new TtlCache<number, LoadedPipeline>(24 * 3600_000, 16);
  const flights = new SingleFlight<string, RunSummary | null>();

  // ---------------------------------------------------------------- lookups

  function pairRef(p: MarketPair): PairRef {
    return { id: p.id, key: p.key, altname: p.altname, intervals: p.intervals, tracked: p.tracked };
  }

  /** A stored pair by any of its names (cached: the read path resolves names on every request). */
  async function resolvePair(ref: string | number): Promise<PairRef> {
    const k = typeof ref === 'number' ? `#${ref}` : ref.trim().toUpperCase();
    const hit = pairs.get(k);
    if (hit) return hit;
    const p = pairRef(await market.resolvePair(ref));
    pairs.set(k, p);
    return p;
  }

  async function experimentOf(pairId: number, interval: number) {
    return repo.experiment(pairId, interval, TARGET);
  }

  async function ensureExperiment(pairId: number, interval: number) {
    return repo.ensureExperiment(pairId, interval, TARGET, parseFeatureConfig({}));
  }

  /** The best run of a pair and interval (cached; invalidated when it changes). */
  async function bestRun(pairId: number, interval: number): Promise<RunSummary | null> {
    const key = seriesKey(pairId, interval);
    const hit = best.get(key);
    if (hit !== undefined) return hit;
    const gen = genOf(key);
    const value = await flights.run(`${key}@${gen}`, async () => {
      const exp = await experimentOf(pairId, interval);
      return exp ? repo.bestRun(exp.id) : null;
    });
    // An invalidation that arrived while reading wins: the value read may predate it.
    if (genOf(key) === gen) best.set(key, value);
    return value;
  }

  function dropBest(pairId: number, interval: number): void {
    const key = seriesKey(pairId, interval);
    bestGen.set(key, (bestGen.get(key) ?? 0) + 1);
    best.delete(key);
  }

  /** The loaded pipeline of a run (artifacts never change, so a loaded model is kept). */
  async function loadModel(runId: number): Promise<LoadedPipeline> {
    const hit = models.get(runId);
    if (hit) return hit;
    const artifact = await repo.artifact(runId);
    if (!artifact) throw new ConflictError(`Model run ${runId} has no stored model`, 'no_artifact');
    const loaded = loadPipeline(artifact);
    models.set(runId, loaded);
    return loaded;
  }

  async function getRun(id: number): Promise<RunDetail> {
    const r = await repo.runDetail(id);
    if (!r) throw new NotFoundError(`No model run ${id}`);
    return r;
  }

  // ---------------------------------------------------------------- best selection

  function reportScores(r: RunSummary): void {
    const labels = { pair: r.altname, interval: intervalLabel(r.interval) };
    const set = (metric: string, v: number | null) => {
      if (v !== null && Number.isFinite(v)) deps.metrics.modelScore.set({ ...labels, metric }, v);
    };
    set('test_mse', r.scores.testMse);
    set('test_mae', r.scores.testMae);
    set('test_r2', r.scores.testR2);
    set('naive_test_mse', r.scores.naiveTestMse);
    set('skill_vs_naive_test', r.scores.testSkill);
    set('walk_forward_mae', r.scores.wfMae);
    set('skill_vs_naive_walk_forward', r.scores.wfSkill);
    deps.metrics.modelScore.set({ ...labels, metric: 'best_is_naive' }, r.algorithm === 'naive' ? 1 : 0);
    deps.metrics.modelScore.set({ ...labels, metric: 'best_run_id' }, r.id);
  }

  function bestChanged(pairId: number, interval: number): void {
    dropBest(pairId, interval);
    deps.invalidate({ kind: 'best', pairId, interval });
  }

  /** Picks the best among the succeeded training runs on `fingerprint`'s data; returns it and whether it changed. */
  async function chooseBest(experimentId: number, pairId: number, interval: number, fingerprint: string): Promise<{ best: RunSummary; changed: boolean } | null> {
    const ranked = rankCandidates(await repo.candidates(experimentId, fingerprint));
    const winner = ranked[0];
    if (!winner) return null;
    const before = await repo.bestRun(experimentId);
    await repo.setBest(experimentId, winner.id, null, clock.now());
    bestChanged(pairId, interval);
    const chosen = (await repo.runSummary(winner.id))!;
    reportScores(chosen);
    return { best: chosen, changed: before?.id !== chosen.id };
  }

  // ---------------------------------------------------------------- training

  interface Target {
    pair: PairRef;
    interval: number;
    count: number;
  }

  /** Tracked pairs and their intervals (or the ones named) with their stored candle counts. */
  async function targets(params: Pick<RetrainParams, 'pair' | 'interval'>): Promise<Target[]> {
    const list = params.pair ? [await resolvePair(params.pair)] : (await market.listPairs()).map(pairRef);
    const coverage = await market.coverage(list.map((p) => p.id));
    const out: Target[] = [];
    for (const pair of list) {
      const intervals = params.interval !== undefined ? [params.interval] : pair.intervals.filter((i) => i === 60 || i === 1440);
      for (const interval of intervals) {
        const c = coverage.find((x) => x.pairId === pair.id && x.interval === interval);
        out.push({ pair, interval, count: c?.count ?? 0 });
      }
    }
    return out;
  }

  async function candlesFor(pairId: number, interval: number, maxCandles: number | undefined): Promise<Candle[]> {
    return market.getCandles(pairId, interval, undefined, undefined, maxCandles ? { limit: maxCandles } : {});
  }

  /** Trains one suite on one pair and interval, storing every run, then chooses the best. */
  async function trainSeries(
    t: Target,
    suite: SuiteItem[],
    opts: { validation?: RetrainParams['validation']; maxCandles?: number; seed?: number },
    hooks: TrainHooks & { onUnit?: (done: number, fraction: number, message: string) => void },
  ): Promise<SeriesOutcome> {
    const runLog = hooks.log ?? log;
    const out: SeriesOutcome = { pairId: t.pair.id, pair: t.pair.altname, interval: t.interval, status: 'trained', runs: [] };
    const exp = await ensureExperiment(t.pair.id, t.interval);
    const featureConfig: FeatureConfig = parseFeatureConfig(exp.features ?? {});
    const candles = await candlesFor(t.pair.id, t.interval, opts.maxCandles);
    out.candles = candles.length;
    if (candles.length < MIN_TRAIN_CANDLES) {
      return { ...out, status: 'skipped', reason: `${candles.length} closed candles stored; training needs at least ${MIN_TRAIN_CANDLES}` };
    }
    const codeVersion = await deps.codeVersion();
    const newRuns: NewRun[] = suite.map((e) => ({
      experimentId: exp.id,
      algorithm: e.algorithm,
      params: e.params,
      kind: 'train',
      status: 'queued',
      tuningId: e.tuningId ?? null,
      jobRunId: hooks.jobRunId ?? null,
      createdById: hooks.startedById ?? null,
      codeVersion,
    }));
    const ids = await repo.createRuns(newRuns);
    let fingerprint: string | null = null;
    for (const [i, entry] of suite.entries()) {
      const id = ids[i]!;
      if (hooks.signal?.aborted) {
        const a = abortStatus(hooks.signal);
        await repo.closeRuns(ids.slice(i), a.status, a.message, clock.now());
        throw hooks.signal.reason;
      }
      await repo.setRunRunning(id);
      const label = `${t.pair.altname} ${intervalLabel(t.interval)}: ${entry.algorithm} (${i + 1}/${suite.length})`;
      hooks.onUnit?.(i, 0, label);
      let lastWrite = 0;
      const onProgress = (e: ProgressEvent) => {
        const f = e.totalSteps > 0 ? Math.min(1, e.step / e.totalSteps) : 0;
        hooks.onUnit?.(i, f, `${label}: ${e.message}`);
        const now = performance.now();
        if (now - lastWrite >= 1000) {
          lastWrite = now;
          repo.setRunProgress(id, f).catch((err: unknown) => runLog.warn({ err, runId: id }, 'could not record run progress'));
        }
      };
      const started = performance.now();
      try {
        const result = await pool.run(
          {
            kind: 'train',
            input: { candles, interval: t.interval, algorithm: entry.algorithm as Algorithm, params: entry.params, validation: opts.validation, featureConfig, seed: opts.seed ?? 42 },
          },
          { signal: hooks.signal, onProgress },
        );
        fingerprint = result.dataFingerprint;
        await repo.finishRun(id, { ...runUpdateFrom(result), finishedAt: clock.now() });
        out.runs!.push({ id, algorithm: entry.algorithm, status: 'succeeded', testMse: result.metrics.test.model.price.mse });
        runLog.info({ runId: id, algorithm: entry.algorithm, pair: t.pair.altname, interval: t.interval, testMse: result.metrics.test.model.price.mse, ms: Math.round(result.durationMs) }, 'model run trained');
      } catch (err) {
        if (hooks.signal?.aborted) {
          const a = abortStatus(hooks.signal);
          await repo.closeRuns(ids.slice(i), a.status, a.message, clock.now());
          runLog.info({ runId: id, status: a.status }, 'training stopped');
          throw hooks.signal.reason;
        }
        const message = errMessage(err);
        await repo.finishRun(id, { status: 'failed', error: message, durationMs: performance.now() - started, finishedAt: clock.now() });
        out.runs!.push({ id, algorithm: entry.algorithm, status: 'failed', testMse: null, error: message });
        runLog.warn({ runId: id, algorithm: entry.algorithm, err: message }, 'model run failed');
      }
      hooks.onUnit?.(i, 1, label);
    }
    const chosen = fingerprint ? await chooseBest(exp.id, t.pair.id, t.interval, fingerprint) : null;
    out.best = chosen ? { runId: chosen.best.id, algorithm: chosen.best.algorithm, testMse: chosen.best.testMse, isNaive: chosen.best.algorithm === 'naive' } : null;
    out.bestChanged = chosen?.changed ?? false;
    if (!chosen) out.status = 'failed';
    for (const r of out.runs!) {
      events.emit('model.trained', { pairId: t.pair.id, interval: t.interval, modelRunId: r.id, algorithm: r.algorithm, status: r.status, isBest: chosen?.best.id === r.id });
    }
    return out;
  }

  /**
   * Trains the suite on every tracked pair and interval with enough history (or the one named),
   * one run per model in the worker pool, and picks each best. Progress covers the whole job.
   */
  async function retrain(params: RetrainParams, hooks: TrainHooks = {}): Promise<RetrainSummary> {
    const all = await targets(params);
    const plan: { t: Target; suite: SuiteItem[] }[] = [];
    const series: SeriesOutcome[] = [];
    for (const t of all) {
      if (t.count < MIN_TRAIN_CANDLES) {
        series.push({ pairId: t.pair.id, pair: t.pair.altname, interval: t.interval, status: 'skipped', candles: t.count, reason: `${t.count} candles stored; training needs at least ${MIN_TRAIN_CANDLES}` });
        continue;
      }
      if (params.onlyMissing && (await bestRun(t.pair.id, t.interval))) {
        series.push({ pairId: t.pair.id, pair: t.pair.altname, interval: t.interval, status: 'skipped', candles: t.count, reason: 'a best model exists' });
        continue;
      }
      const exp = await ensureExperiment(t.pair.id, t.interval);
      plan.push({ t, suite: buildSuite(params, await repo.tunedParams(exp.id)) });
    }
    const units = plan.reduce((a, p) => a + p.suite.length, 0);
    let done = 0;
    for (const { t, suite } of plan) {
      const base = done;
      const outcome = await trainSeries(t, suite, { validation: params.validation, maxCandles: params.maxCandles, seed: params.seed }, {
        ...hooks,
        onUnit: (i, f, message) => {
          void hooks.progress?.(units ? (base + i + f) / units : 1, message);
        },
      });
      done += suite.length;
      series.push(outcome);
    }
    await hooks.progress?.(1, `trained ${plan.length} pair/interval series`);
    const runs = series.flatMap((s) => s.runs ?? []);
    return { series, trained: series.filter((s) => s.status === 'trained').length, skipped: series.filter((s) => s.status === 'skipped').length, runs: runs.length, failedRuns: runs.filter((r) => r.status === 'failed').length };
  }

  // ---------------------------------------------------------------- promotion

  async function promote(runId: number, actor: { id: number; username: string }, reason?: string): Promise<RunSummary> {
    const run = await getRun(runId);
    if (run.kind !== 'train' || run.status !== 'succeeded' || !run.artifactBytes) {
      throw new ConflictError(`Run ${runId} cannot be promoted: only a succeeded training run with a stored model can serve predictions (this one is a ${run.status} ${run.kind} run)`, 'not_promotable');
    }
    const previous = await repo.bestRun(run.experimentId);
    await repo.setBest(run.experimentId, run.id, actor.id, clock.now());
    bestChanged(run.pairId, run.interval);
    const now = (await repo.runSummary(run.id))!;
    reportScores(now);
    log.info({ runId, previous: previous?.id ?? null, by: actor.id }, 'model run promoted by hand');
    await deps.audit?.({ action: 'models.promoted', actor, target: `model_run:${runId}`, details: { pair: run.altname, interval: run.interval, algorithm: run.algorithm, previousRunId: previous?.id ?? null, reason: reason ?? null } });
    return now;
  }

  // ---------------------------------------------------------------- tuning

  async function requestTuning(body: TuneBody, createdById: number | null): Promise<number> {
    const pair = await resolvePair(body.pair);
    const exp = await ensureExperiment(pair.id, body.interval);
    return repo.createTuning({ experimentId: exp.id, algorithm: body.algorithm, method: body.strategy, budget: body.maxTrials, spec: { ...body, pair: pair.altname }, createdById });
  }

  async function getTuning(id: number): Promise<{ tuning: TuningRow; trials: RunSummary[] }> {
    const tuning = await repo.tuning(id);
    if (!tuning) throw new NotFoundError(`No tuning ${id}`);
    return { tuning, trials: await repo.runsOfTuning(id) };
  }

  /** Runs a queued tuning in the worker pool and stores every trial as a 'trial' run. */
  async function runTuning(id: number, hooks: TrainHooks = {}): Promise<{ tuning: TuningRow; retrain: { pair: string; interval: number } | null }> {
    const row = await repo.tuning(id);
    if (!row) throw new NotFoundError(`No tuning ${id}`);
    if (!(await repo.startTuning(id, hooks.jobRunId ?? null, clock.now()))) throw new ConflictError(`Tuning ${id} is ${row.status}, not queued`, 'tuning_not_queued');
    const runLog = hooks.log ?? log;
    try {
      const spec = tuneBody.parse(row.spec);
      const exp = await ensureExperiment(row.pairId, row.interval);
      const featureConfig = parseFeatureConfig(exp.features ?? {});
      const candles = await candlesFor(row.pairId, row.interval, spec.maxCandles);
      if (candles.length < MIN_TRAIN_CANDLES) throw new ValidationError(`${candles.length} closed candles stored for ${row.altname} ${intervalLabel(row.interval)}; tuning needs at least ${MIN_TRAIN_CANDLES}`);
      let lastWrite = 0;
      const result: TuneResult = await pool.run(
        {
          kind: 'tune',
          input: {
            candles,
            interval: row.interval,
            algorithm: spec.algorithm as Algorithm,
            search: { strategy: spec.strategy, maxTrials: spec.maxTrials, objective: spec.objective, ...(spec.paramGrid ? { paramGrid: spec.paramGrid } : {}) },
            baseParams: spec.baseParams ?? {},
            validation: spec.validation,
            featureConfig,
            seed: spec.seed ?? 42,
          },
        },
        {
          signal: hooks.signal,
          onProgress: (e) => {
            const f = e.totalSteps > 0 ? Math.min(1, (e.step - 1) / e.totalSteps) : 0;
            void hooks.progress?.(f, `${row.altname} ${intervalLabel(row.interval)} ${row.algorithm}: ${e.message}`);
            const now = performance.now();
            if (now - lastWrite >= 1000) {
              lastWrite = now;
              repo.setTuningProgress(id, f).catch((err: unknown) => runLog.warn({ err }, 'could not record tuning progress'));
            }
          },
        },
      );
      const codeVersion = await deps.codeVersion();
      const at = clock.now();
      const trialIds = await repo.createTrials(
        result.trials.map((tr) => ({
          experimentId: exp.id,
          algorithm: row.algorithm,
          params: tr.params,
          kind: 'trial' as const,
          status: tr.score === null ? ('failed' as const) : ('succeeded' as const),
          tuningId: id,
          jobRunId: hooks.jobRunId ?? null,
          createdById: row.createdById,
          codeVersion,
          dataFrom: new Date(candles[0]!.time * 1000),
          dataTo: new Date(candles[candles.length - 1]!.time * 1000),
          dataRows: result.rows,
          fingerprint: result.dataFingerprint,
          metrics: { walkForward: tr.metrics, objective: result.objective, score: tr.score, trial: tr.index },
          durationMs: tr.durationMs,
          progress: 1,
          error: tr.error ?? null,
          testMae: tr.metrics?.model.price.mae ?? null,
          testMse: null,
          finishedAt: at,
        })),
      );
      const bestIdx = result.best ? result.trials.indexOf(result.best) : -1;
      const bestRunId = bestIdx >= 0 ? trialIds[bestIdx]! : null;
      const summary = {
        candidates: result.candidates,
        truncated: result.truncated,
        objective: result.objective,
        strategy: result.strategy,
        trials: result.trials.length,
        failedTrials: result.trials.filter((t) => t.score === null).length,
        rows: result.rows,
        walkForward: result.walkForward,
        bestScore: result.best?.score ?? null,
        bestParams: result.best?.params ?? null,
        bestSkillVsNaive: result.best?.metrics?.model.skillVsNaive ?? null,
        dataFingerprint: result.dataFingerprint,
        durationMs: Math.round(result.durationMs),
      };
      await repo.finishTuning(id, { status: bestRunId ? 'succeeded' : 'failed', bestRunId, summary, error: bestRunId ? null : 'every trial failed', at });
      runLog.info({ tuningId: id, trials: result.trials.length, bestRunId, bestScore: summary.bestScore }, 'tuning finished');
      return { tuning: (await repo.tuning(id))!, retrain: bestRunId && spec.retrain ? { pair: row.altname, interval: row.interval } : null };
    } catch (err) {
      const a = hooks.signal?.aborted ? abortStatus(hooks.signal) : { status: 'failed' as const, message: errMessage(err) };
      await repo.finishTuning(id, { status: a.status, error: a.message, at: clock.now() }).catch((e: unknown) => runLog.error({ err: e }, 'could not record the end of a tuning'));
      throw err;
    }
  }

  return {
    resolvePair,
    experimentOf,
    ensureExperiment,
    bestRun,
    loadModel,
    getRun,
    runSummary: (id: number) => repo.runSummary(id),
    runVersion: (r: { id: number; experimentId: number; algorithm: string }) => repo.runVersion(r),
    versions: (experimentId: number) => repo.versions(experimentId),
    latestNaiveRun: (experimentId: number) => repo.latestNaiveRun(experimentId),
    listRuns: (f: RunFilter) => repo.listRuns(f),
    retrain,
    trainSeries: async (pairRefIn: string | number, interval: number, suite: SuiteItem[], opts: { validation?: RetrainParams['validation']; maxCandles?: number; seed?: number } = {}, hooks: TrainHooks = {}) => {
      const pair = await resolvePair(pairRefIn);
      return trainSeries({ pair, interval, count: 0 }, suite, opts, hooks);
    },
    promote,
    requestTuning,
    runTuning,
    getTuning,
    listTunings: (f: { pairId?: number; interval?: number; limit: number; before?: number }) => repo.listTunings(f),
    /** a cache message from another instance, or a local change */
    onCacheMessage(m: CacheMessage): void {
      if (m.kind === 'best') dropBest(m.pairId, m.interval);
    },
    /** everything cached may be stale (the invalidation bus reconnected) */
    resync(): void {
      epoch++;
      best.clear();
      pairs.clear();
    },
    sweepInterrupted: () => repo.sweepInterrupted(INTERRUPTED_RUN, clock.now()),
  };
}

export type RegistryService = ReturnType<typeof createRegistryService>;
