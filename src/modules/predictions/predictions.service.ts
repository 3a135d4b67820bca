/**
 * Predictions: the next close of each pair and interval from its best model AND from the naive
 * baseline, made in real time when a new candle is stored; batch backtests over a date range
 * through the very same prediction code (predictNext and predictSeries share predictRows, and
 * both see the candles from the run's data start, so they agree exactly); scoring against the
 * actual candle; live error per model; the drift check; and the cached read of the latest
 * prediction (the hot read path).
 *
 * No Express and no Prisma here.
 */
import { intervalSeconds, type Candle } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { EventBus, EventMap } from '../../platform/events.js';
import type { LaunchResult } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import type { MarketService } from '../market/index.js';
import type { BacktestPoint, LoadedPipeline, WorkerPool } from '../models/index.js';
import { predictAfterLast } from './predict-path.js';
import type { Metrics } from '../monitoring/index.js';
import { KeyedQueue, SingleFlight, seriesKey, TtlCache } from './caches.js';
import type { CacheMessage } from './cache-bus.js';
import type { NewPrediction, PredictionsRepo, RunSummary } from './predictions.repo.js';
import type { BacktestBody, DriftParams, PredictionsQuery, SeriesParams } from './predictions.schemas.js';
import type { PairRef, RegistryService } from './registry.service.js';
import { fin, intervalLabel, latestPredictionJson, liveMetricsJson, predictionJson, runJson, skill } from './views.js';

export type LatestPredictionView = ReturnType<typeof latestPredictionJson>;

/** How many of a best model's newest scored live predictions the drift check averages, and the least it judges. */
export const DRIFT_WINDOW = 30;
export const DRIFT_MIN_SAMPLES = 10;
/** Points a backtest may cover in one request: users, administrators. */
export const BACKTEST_MAX_POINTS = { user: 1000, admin: 50_000 } as const;

export interface Actor {
  id: number;
  username: string;
  role: 'user' | 'admin';
}

export interface PredictionsServiceDeps {
  repo: PredictionsRepo;
  registry: RegistryService;
  market: MarketService;
  /** runs backtests and long live predictions off the event loop (apart from the training pool, so they never wait behind a retrain) */
  backtestPool: WorkerPool;
  /** live predictions over more candles than this run in backtestPool (default INLINE_PREDICTION_MAX_CANDLES) */
  inlinePredictionMaxCandles?: number;
  events: EventBus;
  metrics: Pick<Metrics, 'predictions' | 'modelScore' | 'exceptions'>;
  clock: Clock;
  log: Logger;
  invalidate(m: CacheMessage): void;
  driftMargin: number;
  cacheTtlMs?: number;
}

export interface PredictOutcome {
  pairId: number;
  pair: string;
  interval: number;
  skipped?: string;
  stored: number;
  predictions: { runId: number; algorithm: string; targetTime: string; value: number; stored: boolean }[];
  errors?: { runId: number; algorithm: string; error: string }[];
}

const toDate = (t: number) => new Date(t * 1000);
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** What a model predicted, as the row stored for it: one mapping for live and backtest points. */
type PredictedPoint = Pick<BacktestPoint, 'baseTime' | 'baseClose' | 'targetTime' | 'predictedReturn' | 'value' | 'lower80' | 'upper80' | 'lower95' | 'upper95' | 'naiveValue'>;
function predictionRow(pair: PairRef, interval: number, run: RunSummary, kind: 'live' | 'backtest', madeAt: Date, p: PredictedPoint): NewPrediction {
  return {
    pairId: pair.id,
    interval,
    modelRunId: run.id,
    algorithm: run.algorithm,
    kind,
    madeAt,
    baseTime: toDate(p.baseTime),
    baseClose: p.baseClose,
    targetTime: toDate(p.targetTime),
    predictedReturn: p.predictedReturn,
    value: p.value,
    lower80: p.lower80,
    upper80: p.upper80,
    lower95: p.lower95,
    upper95: p.upper95,
    naiveValue: p.naiveValue,
  };
}

export function createPredictionsService(deps: PredictionsServiceDeps) {
  const { repo, registry, market, events, metrics, clock } = deps;
  const log = deps.log;
  const latest = new TtlCache<string, LatestPredictionView | null>(deps.cacheTtlMs ?? 60_000, 1000);
  const latestGen = new Map<string, number>();
  let epoch = 0;
  const genOf = (key: string) => `${epoch}:${latestGen.get(key) ?? 0}`;
  const flights = new SingleFlight<string, LatestPredictionView | null>();
  const queue = new KeyedQueue();

  function dropLatest(pairId: number, interval: number): void {
    const key = seriesKey(pairId, interval);
    latestGen.set(key, (latestGen.get(key) ?? 0) + 1);
    latest.delete(key);
  }

  function changed(kind: CacheMessage['kind'], pairId: number, interval: number): void {
    dropLatest(pairId, interval);
    deps.invalidate({ kind, pairId, interval });
  }

  // ---------------------------------------------------------------- predicting

  /** The runs that predict for a series: the best and, unless the best is naive, the naive baseline. */
  async function predictingRuns(pairId: number, interval: number): Promise<RunSummary[]> {
    const best = await registry.bestRun(pairId, interval);
    if (!best) return [];
    if (best.algorithm === 'naive') return [best];
    const naive = await registry.latestNaiveRun(best.experimentId);
    return naive ? [best, naive] : [best];
  }

  async function rowFor(pair: PairRef, interval: number, run: RunSummary, model: LoadedPipeline, candles: readonly Candle[], madeAt: Date): Promise<NewPrediction> {
    const p = await predictAfterLast(model, candles, deps.backtestPool, deps.inlinePredictionMaxCandles);
    return predictionRow(pair, interval, run, 'live', madeAt, p);
  }

  /**
   * Predicts the close after the newest stored candle with the best model and the naive
   * baseline, and stores both. Idempotent: a repeat for the same target stores nothing.
   */
  async function predictNow(pairRef: string | number, interval: number): Promise<PredictOutcome> {
    const pair = await registry.resolvePair(pairRef);
    return queue.run(seriesKey(pair.id, interval), () => predictSeriesNow(pair, interval));
  }

  async function predictSeriesNow(pair: PairRef, interval: number): Promise<PredictOutcome> {
    const out: PredictOutcome = { pairId: pair.id, pair: pair.altname, interval, stored: 0, predictions: [] };
    const runs = await predictingRuns(pair.id, interval);
    if (runs.length === 0) return { ...out, skipped: 'no model has been trained for this pair and interval' };
    // Each run sees the candles from its own training start, exactly as a backtest of it does.
    const starts = runs.map((r) => (r.dataFrom ? seconds(r.dataFrom) : 0));
    const candles = await market.getCandles(pair.id, interval, Math.min(...starts));
    if (candles.length === 0) return { ...out, skipped: 'no candles are stored' };
    const madeAt = clock.now();
    const rows: NewPrediction[] = [];
    for (const [i, run] of runs.entries()) {
      try {
        const model = await registry.loadModel(run.id);
        const own = starts[i]! > candles[0]!.time ? candles.filter((c) => c.time >= starts[i]!) : candles;
        rows.push(await rowFor(pair, interval, run, model, own, madeAt));
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        (out.errors ??= []).push({ runId: run.id, algorithm: run.algorithm, error });
        metrics.exceptions.inc({ where: 'predictions' });
        log.warn({ runId: run.id, pair: pair.altname, interval, err: error }, 'prediction failed');
      }
    }
    const inserted = await repo.insertPredictions(rows);
    const isNew = new Set(inserted.map((p) => `${p.modelRunId}:${p.targetTime.getTime()}`));
    out.predictions = rows.map((r) => ({ runId: r.modelRunId, algorithm: r.algorithm, targetTime: r.targetTime.toISOString(), value: r.value, stored: isNew.has(`${r.modelRunId}:${r.targetTime.getTime()}`) }));
    out.stored = inserted.length;
    if (inserted.length > 0) {
      changed('prediction', pair.id, interval);
      metrics.predictions.inc({ pair: pair.altname, interval: intervalLabel(interval), kind: 'live' }, inserted.length);
      for (const p of inserted) {
        const payload: EventMap['prediction.made'] = {
          pairId: pair.id,
          pairKey: pair.key,
          altname: pair.altname,
          interval,
          predictionId: p.id,
          modelRunId: p.modelRunId,
          algorithm: p.algorithm,
          baseTime: seconds(p.baseTime),
          targetTime: seconds(p.targetTime),
          baseClose: p.baseClose,
          value: p.value,
          predictedReturn: p.predictedReturn,
        };
        events.emit('prediction.made', payload);
      }
      log.info({ pair: pair.altname, interval, stored: inserted.length, targetTime: inserted[0]!.targetTime }, 'predictions stored');
    }
    return out;
  }

  /** Series that have a best model, among tracked pairs (or the one named). */
  async function predictableSeries(params: SeriesParams): Promise<{ pair: PairRef; interval: number }[]> {
    const named = params.pair ? await registry.resolvePair(params.pair) : null;
    const tracked = new Set((await market.listPairs()).map((p) => p.id));
    const out: { pair: PairRef; interval: number }[] = [];
    const seen = new Set<number>();
    for (const pairId of [...tracked, ...(named ? [named.id] : [])]) {
      if (seen.has(pairId) || (named && pairId !== named.id)) continue;
      seen.add(pairId);
      const pair = named ?? (await registry.resolvePair(pairId));
      for (const interval of params.interval !== undefined ? [params.interval] : [60, 1440]) {
        if (await registry.bestRun(pair.id, interval)) out.push({ pair, interval });
      }
    }
    return out;
  }

  /** The 'predict' job: every tracked series with a model (or the one named), then scoring. */
  async function predictAll(params: SeriesParams, hooks: { signal?: AbortSignal; progress?(f: number, m?: string): unknown } = {}) {
    const list = await predictableSeries(params);
    const results: PredictOutcome[] = [];
    for (const [i, s] of list.entries()) {
      hooks.signal?.throwIfAborted();
      void hooks.progress?.(i / Math.max(1, list.length), `${s.pair.altname} ${intervalLabel(s.interval)}`);
      results.push(await predictNow(s.pair.id, s.interval));
    }
    const named = params.pair ? await registry.resolvePair(params.pair) : undefined;
    const scored = await score({ pairId: named?.id, interval: params.interval });
    return { series: results, stored: results.reduce((a, r) => a + r.stored, 0), scored: scored.scored };
  }

  // ---------------------------------------------------------------- scoring

  /** Fills actuals and errors of predictions whose target candle is stored; updates live gauges. */
  async function score(scope: { pairId?: number; interval?: number } = {}): Promise<{ scored: number; series: { pairId: number; interval: number; count: number }[] }> {
    const rows = await repo.scorePending(clock.now(), scope);
    const groups = new Map<string, { pairId: number; interval: number; count: number }>();
    for (const r of rows) {
      const k = seriesKey(r.pairId, r.interval);
      const g = groups.get(k) ?? { pairId: r.pairId, interval: r.interval, count: 0 };
      g.count++;
      groups.set(k, g);
    }
    for (const g of groups.values()) {
      events.emit('predictions.scored', g);
      changed('prediction', g.pairId, g.interval);
      await reportLive(g.pairId, g.interval).catch((err: unknown) => log.warn({ err }, 'could not update live model gauges'));
    }
    if (rows.length) log.info({ scored: rows.length, series: [...groups.values()] }, 'predictions scored');
    return { scored: rows.length, series: [...groups.values()] };
  }

  async function reportLive(pairId: number, interval: number): Promise<void> {
    const best = await registry.bestRun(pairId, interval);
    if (!best) return;
    const live = await repo.recentLiveError({ pairId, interval, algorithm: best.algorithm, modelRunId: best.id, limit: DRIFT_WINDOW });
    const labels = { pair: best.altname, interval: intervalLabel(interval) };
    if (live.mae !== null) metrics.modelScore.set({ ...labels, metric: 'live_mae' }, live.mae);
    const s = skill(live.mae, live.naiveMae);
    if (s !== null && best.algorithm !== 'naive') metrics.modelScore.set({ ...labels, metric: 'live_skill_vs_naive' }, s);
  }

  /** After new candles: predict the next close, then score what the new candles settle. */
  async function onCandlesStored(e: EventMap['candles.stored']): Promise<void> {
    if (e.interval !== 60 && e.interval !== 1440) return;
    await predictNow(e.pairId, e.interval);
    await score({ pairId: e.pairId, interval: e.interval });
  }

  // ---------------------------------------------------------------- reads

  async function buildLatest(pair: PairRef, interval: number): Promise<LatestPredictionView | null> {
    const best = await registry.bestRun(pair.id, interval);
    if (!best) return null;
    const p = await repo.latestPredictionOfRun({ pairId: pair.id, interval, kind: 'live', algorithm: best.algorithm, modelRunId: best.id });
    if (!p) return null;
    const naive = best.algorithm === 'naive' ? p : await repo.predictionAt({ pairId: pair.id, interval, kind: 'live', algorithm: 'naive', targetTime: p.targetTime });
    const [version, live] = await Promise.all([
      registry.runVersion(best),
      repo.recentLiveError({ pairId: pair.id, interval, algorithm: best.algorithm, modelRunId: best.id, limit: 100_000 }),
    ]);
    return latestPredictionJson(p, naive, best, version, live);
  }

  /** GET /latest-prediction, from memory when possible (invalidated on every new prediction or best change). */
  async function latestPrediction(pairRef: string | number, interval: number): Promise<LatestPredictionView> {
    const pair = await registry.resolvePair(pairRef);
    const key = seriesKey(pair.id, interval);
    let view = latest.get(key);
    if (view === undefined) {
      const gen = genOf(key);
      view = await flights.run(`${key}@${gen}`, () => buildLatest(pair, interval));
      if (genOf(key) === gen) latest.set(key, view);
    }
    if (!view) {
      const best = await registry.bestRun(pair.id, interval);
      throw new NotFoundError(
        best
          ? `No prediction has been made yet by the best model of ${pair.altname} ${intervalLabel(interval)} (run ${best.id}); it is made when the next candle is stored, or now with POST /api/prediction/predict`
          : `No model has been trained for ${pair.altname} ${intervalLabel(interval)} yet; an administrator can start training with POST /api/prediction/train`,
        best ? 'no_prediction' : 'no_model',
      );
    }
    return view;
  }

  async function listPredictions(q: PredictionsQuery) {
    const pair = await registry.resolvePair(q.pair);
    const best = await registry.bestRun(pair.id, q.interval);
    let algorithm: string | undefined;
    let modelRunId = q.run;
    if (q.model === 'best') {
      if (!best) return { pair: pair.altname, interval: intervalLabel(q.interval), predictions: [], truncated: false };
      algorithm = best.algorithm;
      modelRunId = best.id;
    } else if (q.model === 'naive') algorithm = 'naive';
    const rows = await repo.listPredictions({
      pairId: pair.id,
      interval: q.interval,
      kind: q.kind,
      from: q.from !== undefined ? toDate(q.from) : undefined,
      to: q.to !== undefined ? toDate(q.to) : undefined,
      algorithm,
      modelRunId,
      limit: q.limit + 1,
    });
    const truncated = rows.length > q.limit;
    if (truncated) rows.length = q.limit;
    return {
      pair: pair.altname,
      pair_key: pair.key,
      interval: intervalLabel(q.interval),
      interval_minutes: q.interval,
      kind: q.kind,
      best_run_id: best?.id ?? null,
      predictions: rows.map((p) => predictionJson(p, pair, { bestRunId: best?.id ?? null })),
      truncated,
      ...(truncated ? { next_from: rows[rows.length - 1]!.targetTime.toISOString() } : {}),
    };
  }

  async function liveMetrics(pairRef: string, interval: number, last?: number) {
    const pair = await registry.resolvePair(pairRef);
    const [rows, best] = await Promise.all([repo.liveMetrics(pair.id, interval, last), registry.bestRun(pair.id, interval)]);
    const runs = new Map<number, RunSummary>();
    for (const r of rows) {
      if (r.modelRunId === null || runs.has(r.modelRunId)) continue;
      const s = await registry.runSummary(r.modelRunId);
      if (s) runs.set(s.id, s);
    }
    return { ...liveMetricsJson(rows, runs, pair, interval, best?.id ?? null), window: last ?? null };
  }

  // ---------------------------------------------------------------- backtests

  /**
   * Predictions of one run for every candle whose open time is in [from, to], computed in a
   * worker through predictSeries, the same code live predictions use. Points whose target is at
   * or before the end of the run's training data are marked in_sample: the model was fitted on
   * that period (or on data after it), so only the later points are genuine forecasts.
   */
  async function backtest(body: BacktestBody, actor: Actor, signal?: AbortSignal) {
    if (body.store && actor.role !== 'admin') throw new ForbiddenError('Only administrators can store backtests; leave out "store" to get the points back');
    const pair = await registry.resolvePair(body.pair);
    const interval = body.interval;
    let run: RunSummary | null;
    if (body.run_id !== undefined) {
      run = await registry.runSummary(body.run_id);
      if (!run) throw new NotFoundError(`No model run ${body.run_id}`);
      if (run.pairId !== pair.id || run.interval !== interval) throw new ValidationError(`Run ${run.id} models ${run.altname} ${intervalLabel(run.interval)}, not ${pair.altname} ${intervalLabel(interval)}`);
      if (run.kind !== 'train' || run.status !== 'succeeded') throw new ValidationError(`Run ${run.id} is a ${run.status} ${run.kind} run without a stored model`);
    } else {
      run = await registry.bestRun(pair.id, interval);
      if (!run) throw new NotFoundError(`No model has been trained for ${pair.altname} ${intervalLabel(interval)} yet`, 'no_model');
    }
    const step = intervalSeconds(interval);
    const points = Math.floor((body.to - body.from) / step) + 1;
    const limit = BACKTEST_MAX_POINTS[actor.role];
    if (points > limit) throw new ValidationError(`The range covers ${points} ${intervalLabel(interval)} candles; ${actor.role === 'admin' ? 'administrators' : 'users'} may backtest at most ${limit} at once`);
    const model = await registry.loadModel(run.id);
    // Candles from the run's first training candle, as live predictions read them (so the two
    // agree to the bit); a range reaching back before that reads earlier candles for the feature
    // warm-up (its points then agree with live ones to ~1e-6: EMA and RSI remember their start).
    const warmupFrom = body.from - model.meta.requiredHistory * step;
    const start = run.dataFrom ? Math.min(seconds(run.dataFrom), warmupFrom) : undefined;
    // the candle after `to` is read too: it holds the actual close of the last point
    const candles = await market.getCandles(pair.id, interval, start, body.to + 2 * step);
    const pts: BacktestPoint[] = await deps.backtestPool.run({ kind: 'backtest', input: { serializedModel: model.meta, candles, from: body.from, to: body.to } }, { signal });
    const trainedThrough = model.meta.trainedThrough;
    const madeAt = clock.now();
    let stored = 0;
    if (body.store && pts.length) {
      const inserted = await repo.insertPredictions(
        pts.map((p) => {
          const actual = p.actualValue;
          return {
            ...predictionRow(pair, interval, run, 'backtest', madeAt, p),
            actual,
            error: actual === null ? null : actual - p.value,
            absError: actual === null ? null : Math.abs(actual - p.value),
            naiveAbsError: actual === null ? null : Math.abs(actual - p.naiveValue),
            scoredAt: actual === null ? null : madeAt,
          };
        }),
      );
      stored = inserted.length;
      if (stored) metrics.predictions.inc({ pair: pair.altname, interval: intervalLabel(interval), kind: 'backtest' }, stored);
    }
    const summarize = (sel: BacktestPoint[]) => {
      const scored = sel.filter((p) => p.actualValue !== null);
      const n = scored.length;
      const mae = n ? scored.reduce((a, p) => a + Math.abs(p.actualValue! - p.value), 0) / n : null;
      const naiveMae = n ? scored.reduce((a, p) => a + Math.abs(p.actualValue! - p.naiveValue), 0) / n : null;
      const rmse = n ? Math.sqrt(scored.reduce((a, p) => a + (p.actualValue! - p.value) ** 2, 0) / n) : null;
      const inside80 = n ? scored.filter((p) => p.actualValue! >= p.lower80 && p.actualValue! <= p.upper80).length / n : null;
      const inside95 = n ? scored.filter((p) => p.actualValue! >= p.lower95 && p.actualValue! <= p.upper95).length / n : null;
      return { n, mae: fin(mae), rmse: fin(rmse), naive_mae: fin(naiveMae), skill_vs_naive: run.algorithm === 'naive' ? null : skill(mae, naiveMae), coverage80: fin(inside80), coverage95: fin(inside95) };
    };
    const inSample = pts.filter((p) => p.targetTime <= trainedThrough);
    const outOfSample = pts.filter((p) => p.targetTime > trainedThrough);
    return {
      pair: pair.altname,
      pair_key: pair.key,
      interval: intervalLabel(interval),
      interval_minutes: interval,
      from: toDate(body.from).toISOString(),
      to: toDate(body.to).toISOString(),
      model: runJson(run),
      trained_through: toDate(trainedThrough).toISOString(),
      stored,
      summary: { all: summarize(pts), out_of_sample: summarize(outOfSample), in_sample: summarize(inSample) },
      points: pts.map((p) => ({
        prediction_date: toDate(p.targetTime).toISOString(),
        prediction_value: fin(p.value),
        base_time: toDate(p.baseTime).toISOString(),
        base_close: fin(p.baseClose),
        target_time: toDate(p.targetTime).toISOString(),
        predicted_return: fin(p.predictedReturn),
        lower80: fin(p.lower80),
        upper80: fin(p.upper80),
        lower95: fin(p.lower95),
        upper95: fin(p.upper95),
        naive_value: fin(p.naiveValue),
        actual: fin(p.actualValue),
        error: p.actualValue === null ? null : fin(p.actualValue - p.value),
        in_sample: p.targetTime <= trainedThrough,
      })),
    };
  }

  // ---------------------------------------------------------------- drift

  /**
   * For each best model: when the MAE of its newest scored live predictions exceeds its
   * walk-forward MAE by more than the margin, launch a retrain of that pair and interval.
   */
  async function driftCheck(params: DriftParams, launch: (pair: string, interval: number) => Promise<LaunchResult>) {
    const window = params.window ?? DRIFT_WINDOW;
    const minSamples = Math.min(params.minSamples ?? DRIFT_MIN_SAMPLES, window);
    const margin = params.margin ?? deps.driftMargin;
    const series = [];
    const tracked = new Set((await market.listPairs()).map((p) => p.id));
    for (const e of await repo.experimentsWithBest()) {
      if (!tracked.has(e.pairId)) continue;
      const live = await repo.recentLiveError({ pairId: e.pairId, interval: e.interval, algorithm: e.algorithm, modelRunId: e.bestRunId, limit: window });
      const base = { pair: e.altname, interval: intervalLabel(e.interval), runId: e.bestRunId, algorithm: e.algorithm, samples: live.n, liveMae: fin(live.mae), walkForwardMae: fin(e.testMae) };
      if (live.n < minSamples || live.mae === null || e.testMae === null) {
        series.push({ ...base, verdict: 'not_enough_data' as const });
        continue;
      }
      const threshold = e.testMae * (1 + margin);
      if (live.mae <= threshold) {
        series.push({ ...base, threshold, verdict: 'ok' as const });
        continue;
      }
      const r = await launch(e.altname, e.interval);
      log.warn({ ...base, threshold, retrainRunId: r.runId, alreadyRunning: r.alreadyRunning }, 'model drift: live error above the walk-forward error; retraining');
      series.push({ ...base, threshold, verdict: 'drift' as const, retrainRunId: r.runId, alreadyRunning: r.alreadyRunning });
    }
    return { window, minSamples, margin, series, retrains: series.filter((s) => s.verdict === 'drift').length };
  }

  return {
    predictNow,
    predictAll,
    score,
    onCandlesStored: (e: EventMap['candles.stored']) => queue.run(`event:${seriesKey(e.pairId, e.interval)}`, () => onCandlesStored(e)),
    latestPrediction,
    listPredictions,
    liveMetrics,
    backtest,
    driftCheck,
    /** the best run changed (here or on another instance): the cached latest prediction is stale */
    onCacheMessage(m: CacheMessage): void {
      dropLatest(m.pairId, m.interval);
    },
    resync(): void {
      epoch++;
      latest.clear();
    },
    /** resolves when queued event work has finished (shutdown, tests) */
    idle: () => queue.idle(),
  };
}

export type PredictionsService = ReturnType<typeof createPredictionsService>;
