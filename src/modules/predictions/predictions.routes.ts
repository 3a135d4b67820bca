/**
 * The prediction API. Under /api the paths, field names and status codes are the original
 * gateway's (/api/prediction/latest-prediction, /model-evaluation, /best-model, /models), with
 * pair and interval as query parameters (BTC/USD daily when omitted) and fields added beside the
 * original ones; reads need a signed-in user, changes an administrator (backtests: any user).
 * Under /internal (behind the private boundary) the same reads answer at /internal/predict/...,
 * the private twin of the original's prediction service.
 *
 * The triggers POST /api/prediction/train|score|predict belong to the scheduler module, which
 * launches this module's jobs 'retrain', 'score' and 'predict'.
 */
import { Router, type Request, type RequestHandler } from 'express';
import { requireRole, requireUser } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import type { PredictionsFacade } from './facade.js';
import { backtestBody, idParam, liveMetricsQuery, predictionsQuery, promoteBody, runsQuery, seriesQuery, tuneBody, tuningsQuery } from './predictions.schemas.js';

const boolFlag = (v: unknown) => v === '1' || v === 'true';

/** The read routes, under `prefix` ('/prediction' on /api, '/predict' on /internal). */
function readRoutes(r: Router, api: PredictionsFacade, prefix: string, guard: RequestHandler[]): void {
  r.get(`${prefix}/latest-prediction`, ...guard, async (req, res) => {
    const q = parse(seriesQuery, req.query, 400);
    res.json(await api.latestPrediction(q.pair, q.interval));
  });

  r.get(`${prefix}/model-evaluation`, ...guard, async (req, res) => {
    const q = parse(seriesQuery, req.query, 400);
    res.json(await api.modelEvaluation(q.pair, q.interval));
  });

  r.get(`${prefix}/best-model`, ...guard, async (req, res) => {
    const q = parse(seriesQuery, req.query, 400);
    res.json(await api.bestModel(q.pair, q.interval));
  });

  r.get(`${prefix}/models`, ...guard, async (req, res) => {
    const q = parse(seriesQuery, req.query, 400);
    res.json(await api.models(q.pair, q.interval));
  });

  r.get(`${prefix}/predictions`, ...guard, async (req, res) => {
    res.json(await api.predictions(parse(predictionsQuery, req.query, 400)));
  });

  r.get(`${prefix}/live-metrics`, ...guard, async (req, res) => {
    const q = parse(liveMetricsQuery, req.query, 400);
    res.json(await api.liveMetrics(q.pair, q.interval, q.last));
  });

  r.get(`${prefix}/runs`, ...guard, async (req, res) => {
    res.json(await api.runs(parse(runsQuery, req.query, 400)));
  });

  r.get(`${prefix}/runs/:id`, ...guard, async (req, res) => {
    const { id } = parse(idParam, req.params, 400);
    res.json({ run: await api.run(id, { oos: boolFlag(req.query.oos) }) });
  });

  r.get(`${prefix}/tunings`, ...guard, async (req, res) => {
    res.json(await api.tunings(parse(tuningsQuery, req.query, 400)));
  });

  r.get(`${prefix}/tunings/:id`, ...guard, async (req, res) => {
    const { id } = parse(idParam, req.params, 400);
    res.json({ tuning: await api.tuning(id) });
  });
}

function actor(req: Request) {
  const u = req.user!;
  return { id: u.id, username: u.username, role: u.role };
}

export function createPredictionsApiRouter(api: PredictionsFacade): Router {
  const r = Router();
  readRoutes(r, api, '/prediction', [requireUser]);

  r.post('/prediction/runs/:id/promote', requireRole('admin'), async (req, res) => {
    const { id } = parse(idParam, req.params, 400);
    const body = parse(promoteBody, req.body);
    res.json(await api.promote(id, actor(req), body.reason));
  });

  r.post('/prediction/tune', requireRole('admin'), async (req, res) => {
    const body = parse(tuneBody, req.body ?? {});
    const { tuningId, launched } = await api.tune(body, actor(req));
    res
      .status(202)
      .location(`/api/prediction/tunings/${tuningId}`)
      .json({
        message: `Tuning ${tuningId} of ${body.algorithm} started (run ${launched.runId})`,
        run_id: launched.runId,
        job_run_id: launched.runId,
        tuning_id: tuningId,
        status: launched.status,
        url: `/api/prediction/tunings/${tuningId}`,
        job_url: `/api/jobs/${launched.runId}`,
      });
  });

  r.post('/prediction/backtest', requireUser, async (req, res) => {
    const body = parse(backtestBody, req.body ?? {});
    // A client that goes away stops the backtest's worker.
    const ctl = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) ctl.abort(new Error('the client closed the connection'));
    };
    res.on('close', onClose);
    try {
      res.json(await api.backtest(body, actor(req), ctl.signal));
    } finally {
      res.off('close', onClose);
    }
  });

  return r;
}

export function createPredictionsInternalRouter(api: PredictionsFacade): Router {
  const r = Router();
  readRoutes(r, api, '/predict', []);
  return r;
}
