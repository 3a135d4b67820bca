/**
 * The jobs of the predictions module, defined on the scheduler's Jobs port. Each is a thin
 * entry point over the same service functions the API uses, and each is idempotent:
 *   retrain      (CRON_RETRAIN)      train the suite per tracked pair/interval, pick the best, predict with it
 *   predict      (after candles, or by hand) the next close with the best model and the naive baseline
 *   score        (CRON_SCORE)        fill actuals and errors once target candles are stored
 *   drift-check  (CRON_DRIFT_CHECK)  retrain early when live error drifts above walk-forward error
 *   tune         (by hand)           a grid or random search, every trial stored
 */
import type { Config } from '../../config.js';
import { parse } from '../../http/validate.js';
import type { Jobs } from '../../platform/jobs.js';
import type { PredictionsService } from './predictions.service.js';
import { driftParams, retrainParams, seriesParams, tuneJobParams } from './predictions.schemas.js';
import type { RegistryService } from './registry.service.js';

export interface JobDeps {
  jobs: Jobs;
  config: Pick<Config, 'CRON_RETRAIN' | 'CRON_SCORE' | 'CRON_DRIFT_CHECK'>;
  registry: RegistryService;
  predictions: PredictionsService;
}

/** Params as stored on a job run: parsed (defaults filled, intervals in minutes) and plain JSON. */
const asJson = <T>(v: T): Record<string, unknown> => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;

export function defineJobs(deps: JobDeps): void {
  const { jobs, config, registry, predictions } = deps;

  jobs.define({
    name: 'retrain',
    description:
      'Trains the model suite (the naive baseline included) on every tracked pair and interval with enough history, in worker threads; stores every run; makes the lowest holdout test MSE the best model; predicts with it',
    schedule: config.CRON_RETRAIN,
    // A fresh install trains what has no model yet, so predictions start without waiting for the nightly run.
    runOnStartup: true,
    parseParams: (p) => asJson(parse(retrainParams, p ?? {})),
    async run(ctx) {
      const params = parse(retrainParams, ctx.params);
      if (ctx.trigger === 'startup') params.onlyMissing = true;
      const summary = await registry.retrain(params, { signal: ctx.signal, progress: ctx.progress, log: ctx.log, jobRunId: ctx.runId, startedById: ctx.startedById ?? null });
      const predicted = [];
      for (const s of summary.series) {
        if (!s.best) continue;
        ctx.signal.throwIfAborted();
        const p = await predictions.predictNow(s.pairId, s.interval);
        predicted.push({ pair: s.pair, interval: s.interval, stored: p.stored, skipped: p.skipped });
      }
      return { ...summary, predicted };
    },
  });

  jobs.define({
    name: 'predict',
    description: 'Predicts the next close of every tracked pair and interval with its best model and with the naive baseline (runs by itself after each new candle), then scores',
    parseParams: (p) => asJson(parse(seriesParams, p ?? {})),
    run: (ctx) => predictions.predictAll(parse(seriesParams, ctx.params), { signal: ctx.signal, progress: ctx.progress }),
  });

  jobs.define({
    name: 'score',
    description: 'Stores the actual close, the error and the naive error of every prediction whose target candle has arrived',
    schedule: config.CRON_SCORE,
    parseParams: (p) => asJson(parse(seriesParams, p ?? {})),
    async run(ctx) {
      const params = parse(seriesParams, ctx.params);
      const pair = params.pair ? await registry.resolvePair(params.pair) : undefined;
      return predictions.score({ pairId: pair?.id, interval: params.interval });
    },
  });

  jobs.define({
    name: 'drift-check',
    description: "Retrains a pair and interval early (trigger 'drift') when its best model's recent live MAE exceeds its walk-forward MAE by RETRAIN_DRIFT_MARGIN",
    schedule: config.CRON_DRIFT_CHECK,
    parseParams: (p) => asJson(parse(driftParams, p ?? {})),
    run: (ctx) =>
      predictions.driftCheck(parse(driftParams, ctx.params), (pair, interval) => jobs.launch('retrain', { pair, interval }, { trigger: 'drift' })),
  });

  jobs.define({
    name: 'tune',
    description: 'Searches an algorithm\'s parameters (grid or random, within a trial budget) with walk-forward validation on the rows before the holdout; stores every trial',
    parseParams: (p) => asJson(parse(tuneJobParams, p ?? {})),
    // Each tuning is its own run; two tunings may queue for the worker pool side by side.
    concurrencyKey: (p) => (typeof p.tuningId === 'number' ? `tuning:${p.tuningId}` : `spec:${JSON.stringify(p)}`),
    async run(ctx) {
      const params = parse(tuneJobParams, ctx.params);
      const tuningId = 'tuningId' in params ? params.tuningId : await registry.requestTuning(params, ctx.startedById ?? null);
      const out = await registry.runTuning(tuningId, { signal: ctx.signal, progress: ctx.progress, log: ctx.log, jobRunId: ctx.runId, startedById: ctx.startedById ?? null });
      const retrain = out.retrain ? await jobs.launch('retrain', out.retrain, { trigger: ctx.trigger, startedById: ctx.startedById }) : null;
      return { tuningId, status: out.tuning.status, bestRunId: out.tuning.bestRunId, summary: out.tuning.summary, retrainRunId: retrain?.runId ?? null };
    },
  });
}
