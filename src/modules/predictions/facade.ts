/**
 * What the rest of the app uses: one object over the registry and the predictions service that
 * answers in the API's JSON shapes (the routes send these objects as they are; pages render
 * them). No Express and no Prisma here.
 */
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import type { Jobs } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import type { Actor, PredictionsService } from './predictions.service.js';
import type { RetrainParams, RunsQuery, TuneBody } from './predictions.schemas.js';
import type { RegistryService, TrainHooks } from './registry.service.js';
import { bestModelJson, evaluationJson, intervalLabel, modelsJson, runDetailJson, runJson, tuningJson } from './views.js';

export interface FacadeDeps {
  registry: RegistryService;
  predictions: PredictionsService;
  jobs?: Jobs;
  log: Logger;
}

export function createPredictionsFacade(deps: FacadeDeps) {
  const { registry, predictions } = deps;

  async function bestOf(pairRef: string, interval: number) {
    const pair = await registry.resolvePair(pairRef);
    const best = await registry.bestRun(pair.id, interval);
    if (!best) throw new NotFoundError(`No model has been trained for ${pair.altname} ${intervalLabel(interval)} yet; an administrator can start training with POST /api/prediction/train`, 'no_model');
    return { pair, best, version: await registry.runVersion(best) };
  }

  return {
    /** GET /latest-prediction: {prediction_date, prediction_value} + bounds, naive, model, skill */
    latestPrediction: (pair: string, interval: number) => predictions.latestPrediction(pair, interval),

    /** GET /best-model: the run serving predictions (lowest test MSE of its batch, naive included, or promoted) */
    async bestModel(pair: string, interval: number) {
      const { best, version } = await bestOf(pair, interval);
      return bestModelJson(best, version);
    },

    /** GET /model-evaluation: the evaluation of the model serving predictions */
    async modelEvaluation(pair: string, interval: number) {
      const { best, version } = await bestOf(pair, interval);
      return evaluationJson(best, version);
    },

    /** GET /models: MLflow's registry shape, one entry per algorithm */
    async models(pairRef: string, interval: number) {
      const pair = await registry.resolvePair(pairRef);
      const exp = await registry.experimentOf(pair.id, interval);
      return modelsJson(exp ? await registry.versions(exp.id) : [], pair, interval);
    },

    async runs(q: RunsQuery) {
      const pair = q.pair ? await registry.resolvePair(q.pair) : undefined;
      const rows = await registry.listRuns({
        pairId: pair?.id,
        interval: q.interval,
        algorithm: q.algorithm,
        status: q.status,
        kind: q.kind,
        tuningId: q.tuning,
        best: q.best,
        before: q.cursor,
        limit: q.limit,
      });
      return { runs: rows.map((r) => runJson(r)), next_cursor: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
    },

    async run(id: number, opts: { oos?: boolean } = {}) {
      const r = await registry.getRun(id);
      const version = r.kind === 'train' && r.status === 'succeeded' ? await registry.runVersion(r) : undefined;
      return runDetailJson(r, version, opts);
    },

    /** Makes a run the best by hand (administrators), then predicts with it at once. */
    async promote(id: number, actor: Actor, reason?: string) {
      const r = await registry.promote(id, actor, reason);
      const fresh = await predictions.predictNow(r.pairId, r.interval).catch((err: unknown) => {
        deps.log.warn({ err, runId: id }, 'prediction after a promotion failed');
        return null;
      });
      return { message: `Run ${id} (${r.algorithm}) now serves ${r.altname} ${intervalLabel(r.interval)} predictions`, run: runJson(r, await registry.runVersion(r)), predicted: fresh?.stored ?? 0 };
    },

    /** Records a tuning and launches the 'tune' job for it; answers at once. */
    async tune(body: TuneBody, actor: Actor) {
      if (!deps.jobs) throw new ConflictError('Tuning needs the scheduler, which is not installed', 'no_scheduler');
      const tuningId = await registry.requestTuning(body, actor.id);
      const launched = await deps.jobs.launch('tune', { tuningId }, { trigger: 'manual', startedById: actor.id });
      return { tuningId, launched };
    },

    async tuning(id: number) {
      const { tuning, trials } = await registry.getTuning(id);
      return tuningJson(tuning, trials);
    },

    async tunings(q: { pair?: string; interval?: number; limit: number; cursor?: number }) {
      const pair = q.pair ? await registry.resolvePair(q.pair) : undefined;
      const rows = await registry.listTunings({ pairId: pair?.id, interval: q.interval, limit: q.limit, before: q.cursor });
      return { tunings: rows.map((t) => tuningJson(t, undefined)), next_cursor: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
    },

    predictions: predictions.listPredictions,
    liveMetrics: predictions.liveMetrics,
    backtest: predictions.backtest,

    // the jobs' entry points, for the CLI and tests
    retrain: (params: RetrainParams, hooks?: TrainHooks) => registry.retrain(params, hooks),
    predictNow: predictions.predictNow,
    predictAll: predictions.predictAll,
    score: predictions.score,
    driftCheck: predictions.driftCheck,
  };
}

export type PredictionsFacade = ReturnType<typeof createPredictionsFacade>;
