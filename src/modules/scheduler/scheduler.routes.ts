/**
 * The scheduler's HTTP entry points. Under /api every route is for admins; under /internal
 * (guarded by the private boundary middleware in app.ts) the same triggers serve machines.
 * Triggers answer 202 with the run to follow, also when a run was already going: then that
 * run's id comes back with alreadyRunning=true (docs/decisions/040-scheduler.md).
 */
import { Router, type Request, type Response } from 'express';
import { requireRole } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import type { JobTrigger } from '../../platform/jobs.js';
import type { SchedulerService } from './scheduler.service.js';
import { jobJson, jobNameParam, listQuery, runIdParam, runJobBody, runJson, triggerBody, triggerJson } from './scheduler.schemas.js';

/** The original API's trigger routes and the jobs they start. */
export const PREDICTION_TRIGGERS = { train: 'retrain', score: 'score', predict: 'predict' } as const;

interface Who {
  trigger: JobTrigger;
  startedById?: number;
  base: '/api' | '/internal';
}

function routes(svc: SchedulerService, who: (req: Request) => Who, guard: ReturnType<typeof requireRole> | undefined): Router {
  const r = Router();
  const g = guard ? [guard] : [];

  const trigger = async (req: Request, res: Response, job: string, params: Record<string, unknown>) => {
    const w = who(req);
    const out = await svc.launch(job, params, { trigger: w.trigger, startedById: w.startedById });
    res.status(202).location(`${w.base}/jobs/${out.runId}`).json(triggerJson(out, w.base));
  };

  r.get('/jobs', ...g, async (req, res) => {
    const q = parse(listQuery, req.query, 400);
    const [jobs, page, scheduler] = await Promise.all([
      svc.listJobs(),
      svc.listRuns({ job: q.job, status: q.status, trigger: q.trigger, limit: q.limit, before: q.cursor }),
      svc.status(),
    ]);
    res.json({ scheduler, jobs: jobs.map(jobJson), runs: page.runs.map(runJson), nextCursor: page.nextCursor });
  });

  r.get('/jobs/:id', ...g, async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    res.json({ run: runJson(await svc.getRun(id)) });
  });

  r.post('/jobs/:id/cancel', ...g, async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    const run = await svc.cancel(id, who(req).startedById);
    res.status(202).json({ message: run.status === 'cancelled' ? `Run ${id} cancelled` : `Cancelling run ${id}`, run: runJson(run) });
  });

  r.post('/jobs/:name/run', ...g, async (req, res) => {
    const { name } = parse(jobNameParam, req.params, 400);
    await trigger(req, res, name, parse(runJobBody, req.body));
  });

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    r.post(`/jobs/:name/${action}`, ...g, async (req, res) => {
      const { name } = parse(jobNameParam, req.params, 400);
      const by = who(req).startedById;
      const st = paused ? await svc.pause(name, by) : await svc.resume(name, by);
      res.json({
        message: paused ? `Job ${name} paused: scheduled ticks are skipped until it is resumed (manual triggers still run)` : `Job ${name} resumed`,
        ...st,
      });
    });
  }

  return r;
}

/** Mounted under /api: admins only. */
export function createSchedulerApiRouter(svc: SchedulerService): Router {
  const r = routes(svc, (req) => ({ trigger: 'manual', startedById: req.user?.id, base: '/api' }), requireRole('admin'));
  for (const [action, job] of Object.entries(PREDICTION_TRIGGERS)) {
    r.post(`/prediction/${action}`, requireRole('admin'), async (req, res) => {
      const out = await svc.launch(job, parse(triggerBody, req.body), { trigger: 'manual', startedById: req.user?.id });
      res.status(202).location(`/api/jobs/${out.runId}`).json(triggerJson(out, '/api'));
    });
  }
  return r;
}

/** Mounted under /internal, behind the private boundary: machine triggers (trigger 'api'). */
export function createSchedulerInternalRouter(svc: SchedulerService): Router {
  const r = routes(svc, () => ({ trigger: 'api', base: '/internal' }), undefined);
  for (const [action, job] of Object.entries(PREDICTION_TRIGGERS)) {
    r.post(`/predict/${action}`, async (req, res) => {
      const out = await svc.launch(job, parse(triggerBody, req.body), { trigger: 'api' });
      res.status(202).location(`/internal/jobs/${out.runId}`).json(triggerJson(out, '/internal'));
    });
  }
  return r;
}
