/**
 * The predictions module: the model registry (experiments, training and tuning runs, the best
 * model per pair and interval), real-time and batch predictions, scoring, live metrics, drift
 * checks, and the /api/prediction endpoints. What other code may use:
 *
 *   createPredictionsModule(deps) -> {
 *     wiring,   // ModuleWiring: /api/prediction/... and /internal/predict/... routes;
 *               // start() listens to 'candles.stored' (predict + score at once) and to the
 *               // cache-invalidation channel; stop() closes the worker pools
 *     service,  // PredictionsFacade: answers in the API's JSON shapes (pages render them)
 *   }
 *
 * service (all async):
 *   latestPrediction(pair, interval)   {prediction_date, prediction_value, lower80..upper95, naive, model, skill, ...}; 404 none
 *   bestModel(pair, interval)          {model_name, model_version, evaluation_date, mse_*, r2_score_*, is_naive, ...}; 404 none
 *   modelEvaluation(pair, interval)    {evaluation_date, mse_train, r2_score_train, mse_test, r2_score_test, ...}; 404 none
 *   models(pair, interval)             {models: [{name, latest_versions: [{version, stage, description, run_id}]}]}
 *   runs(query) / run(id, {oos})       the registry: runs with metrics beside naive; one run in full
 *   predictions(query)                 stored predictions with actuals and errors
 *   liveMetrics(pair, interval, last?) live MAE/RMSE/direction per model vs naive
 *   backtest(body, actor, signal?)     the best (or a given) model over a date range, same code path as live
 *   promote(runId, actor, reason?)     administrators: make a run the best, predict with it
 *   tune(body, actor) / tuning(id) / tunings(query)
 *   retrain(params, hooks?) / predictNow(pair, interval) / predictAll / score / driftCheck  (the jobs' bodies)
 * pair: any name of a stored pair (BTC/USD, XBTUSD, XXBTZUSD); interval: minutes (60, 1440).
 *
 * Events: emits 'prediction.made' (each new live prediction, model and naive), 'predictions.scored',
 * 'model.trained' (each finished run, with isBest). Jobs: retrain, predict, score, drift-check, tune.
 */
import type { ModuleWiring } from '../../app.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import type { EventBus } from '../../platform/events.js';
import type { Jobs } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import type { NotifyBus } from '../../platform/notify-bus.js';
import type { MarketService } from '../market/index.js';
import { createWorkerPool, type WorkerPool } from '../models/index.js';
import type { Metrics } from '../monitoring/index.js';
import { createCacheBus, type CacheBus, type CacheMessage } from './cache-bus.js';
import { createCodeVersion } from './code-version.js';
import { createPredictionsFacade, type PredictionsFacade } from './facade.js';
import { defineJobs } from './jobs.js';
import { createPredictionsRepo } from './predictions.repo.js';
import { createPredictionsApiRouter, createPredictionsInternalRouter } from './predictions.routes.js';
import { createPredictionsService, type PredictionsService } from './predictions.service.js';
import { createRegistryService } from './registry.service.js';

export type { PredictionsFacade } from './facade.js';
export type { LatestPredictionView, Actor, PredictOutcome } from './predictions.service.js';
export type { RetrainSummary, SeriesOutcome, SuiteItem, TrainHooks } from './registry.service.js';
export type { RunSummary, RunDetail, PredictionRow, TuningRow } from './predictions.repo.js';
export { MIN_TRAIN_CANDLES, TARGET, rankCandidates, buildSuite } from './registry.service.js';
export { DRIFT_WINDOW, DRIFT_MIN_SAMPLES, BACKTEST_MAX_POINTS } from './predictions.service.js';
export { INLINE_PREDICTION_MAX_CANDLES } from './predict-path.js';
export { DEFAULT_PAIR, DEFAULT_INTERVAL, retrainParams, tuneBody, backtestBody, seriesQuery, runsQuery, predictionsQuery } from './predictions.schemas.js';
export { CACHE_CHANNEL } from './predictions.repo.js';
/** the zod schemas of this module's inputs (the OpenAPI document is generated from them) */
export * as predictionsSchemas from './predictions.schemas.js';

export interface PredictionsModuleDeps {
  config: Config;
  log: Logger;
  db: Database;
  clock: Clock;
  metrics: Metrics;
  events: EventBus;
  /** project root (for the code version: package.json and git) */
  root: string;
  instanceId: string;
  /** the process's LISTEN/NOTIFY bus (cache invalidation across instances) */
  notify: NotifyBus;
  market: MarketService;
  /** the scheduler's Jobs port; without it no jobs are defined and tuning is unavailable */
  jobs?: Jobs;
  /** records administrators' actions (the auth module's audit log) */
  audit?: { record(entry: { action: string; actor: { id: number; username: string }; target: string; details?: Record<string, unknown> }): Promise<void> };
  /** TTL of the read caches (ms); invalidation keeps them fresh, the TTL is a safety net */
  cacheTtlMs?: number;
  /** live predictions over more candles than this are computed in a worker (default 5000) */
  inlinePredictionMaxCandles?: number;
}

export interface PredictionsModule {
  wiring: ModuleWiring;
  service: PredictionsFacade;
}

export function createPredictionsModule(deps: PredictionsModuleDeps): PredictionsModule {
  const { config, db, clock, metrics, events } = deps;
  const log = deps.log.child({ module: 'predictions' });
  const repo = createPredictionsRepo(db.prisma);
  // Training and tuning share MODEL_WORKERS threads; backtests and long live predictions get
  // their own, so they never wait behind a nightly retrain.
  const trainingPool: WorkerPool = createWorkerPool({ size: config.MODEL_WORKERS });
  const backtestPool: WorkerPool = createWorkerPool({ size: 1 });

  let bus: CacheBus | undefined;
  const late: { predictions?: PredictionsService } = {};
  // Local changes: drop what depends on them here, then tell the other instances.
  const invalidate = (m: CacheMessage) => {
    if (m.kind === 'best') late.predictions?.onCacheMessage(m);
    bus?.publish(m);
  };

  const registry = createRegistryService({
    repo,
    market: deps.market,
    pool: trainingPool,
    events,
    metrics,
    clock,
    log,
    codeVersion: createCodeVersion(deps.root),
    invalidate,
    audit: deps.audit ? (e) => deps.audit!.record(e) : undefined,
    cacheTtlMs: deps.cacheTtlMs,
  });
  const predictions = createPredictionsService({
    repo,
    registry,
    market: deps.market,
    backtestPool,
    events,
    metrics,
    clock,
    log,
    invalidate,
    driftMargin: config.RETRAIN_DRIFT_MARGIN,
    cacheTtlMs: deps.cacheTtlMs,
    inlinePredictionMaxCandles: deps.inlinePredictionMaxCandles,
  });
  late.predictions = predictions;

  const service = createPredictionsFacade({ registry, predictions, jobs: deps.jobs, log });
  if (deps.jobs) defineJobs({ jobs: deps.jobs, config, registry, predictions });

  let unsubscribe: (() => void) | undefined;
  const wiring: ModuleWiring = {
    name: 'predictions',
    api: createPredictionsApiRouter(service),
    internal: createPredictionsInternalRouter(service),
    async start() {
      const swept = await registry.sweepInterrupted().catch((err: unknown) => {
        log.warn({ err }, 'could not close runs left by stopped jobs');
        return null;
      });
      if (swept && (swept.runs || swept.tunings)) log.warn(swept, 'closed model runs and tunings left running by jobs that had ended');
      // Real time, in process: works with the scheduler disabled too.
      unsubscribe = events.on('candles.stored', (e) => predictions.onCandlesStored(e));
      bus = createCacheBus({
        bus: deps.notify,
        instanceId: deps.instanceId,
        log,
        // another instance changed something: a best-model change also makes the latest prediction stale
        onMessage: (m) => {
          registry.onCacheMessage(m);
          predictions.onCacheMessage(m);
        },
        onResync: () => {
          registry.resync();
          predictions.resync();
        },
      });
    },
    async stop() {
      unsubscribe?.();
      await predictions.idle();
      await Promise.all([trainingPool.close(), backtestPool.close()]);
      bus?.stop();
    },
  };
  return { wiring, service };
}
