/**
 * /jobs (admins): the scheduled jobs, their state and the run history. While a run is queued
 * or running, the live panel re-fetches itself every 2 s (hx-trigger="every 2s" on the panel
 * that the answer replaces; an answer without active runs has no trigger, so polling stops).
 * Run now / pause / resume / cancel are htmx posts answering with the refreshed panel.
 */
import { Router, type Request, type Response } from 'express';
import { parse } from '../../http/validate.js';
import { AppError } from '../../platform/errors.js';
import type { SchedulerService } from '../scheduler/index.js';
import type { PageRouteDeps } from './deps.js';
import { hxTarget, isHtmx, notify, requirePageAdmin } from './page-context.js';
import { JOB_STATUSES } from '../../platform/jobs.js';
import { jobNameParam, jobsQuery, runIdParam } from './pages.schemas.js';

export const RUNS_PAGE_SIZE = 25;

function refusal(err: unknown): string {
  if (err instanceof AppError && err.expose && err.status < 500) return err.message;
  throw err;
}

export function createJobsRouter(deps: PageRouteDeps & { scheduler: SchedulerService }): Router {
  const { scheduler } = deps;
  const r = Router();
  r.use('/jobs', requirePageAdmin);

  function filtersFrom(source: unknown) {
    const q = jobsQuery.parse(source ?? {});
    return { job: q.job, status: q.status, before: q.before };
  }

  function query(f: { job?: string; status?: string; before?: number }, before = f.before): string {
    const p = new URLSearchParams();
    if (f.job) p.set('job', f.job);
    if (f.status) p.set('status', f.status);
    if (before) p.set('before', String(before));
    const s = p.toString();
    return s ? `/jobs?${s}` : '/jobs';
  }

  async function data(f: ReturnType<typeof filtersFrom>) {
    const [jobs, page, status] = await Promise.all([
      scheduler.listJobs(),
      scheduler.listRuns({ job: f.job, status: f.status, limit: RUNS_PAGE_SIZE, before: f.before }),
      scheduler.status(),
    ]);
    const active = jobs.some((j) => j.activeRun) || page.runs.some((run) => run.status === 'queued' || run.status === 'running');
    return {
      title: 'Jobs',
      jobs,
      runs: page.runs,
      status,
      filters: { job: f.job ?? '', status: f.status ?? '' },
      statuses: JOB_STATUSES,
      active,
      selfUrl: query(f),
      olderUrl: page.nextCursor ? query(f, page.nextCursor) : null,
      newestUrl: f.before ? query(f, 0) : null,
    };
  }

  async function show(req: Request, res: Response, f = filtersFrom(req.query)) {
    res.vary('HX-Target');
    const d = await data(f);
    if (hxTarget(req) === 'jobs-live') return res.render('pages/jobs/_live', { ...d, fragment: true });
    res.render('pages/jobs/index', d);
  }

  r.get('/jobs', (req, res) => show(req, res));

  /** After an action: the panel again (htmx, keeping the list's filters) or back to the page. */
  async function after(req: Request, res: Response) {
    if (!isHtmx(req)) return res.redirect(303, '/jobs');
    let f = filtersFrom({});
    try {
      const current = req.get('HX-Current-URL');
      if (current) f = filtersFrom(Object.fromEntries(new URL(current).searchParams));
    } catch {
      // keep the defaults
    }
    await show(req, res, f);
  }

  r.post('/jobs/:name/run', async (req, res) => {
    const { name } = parse(jobNameParam, req.params, 400);
    try {
      const out = await scheduler.launch(name, {}, { trigger: 'manual', startedById: req.user!.id });
      notify(deps, req, res, out.alreadyRunning ? 'info' : 'success', out.alreadyRunning ? `${name} is already queued or running (run ${out.runId}).` : `${name} started (run ${out.runId}).`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    await after(req, res);
  });

  for (const action of ['pause', 'resume'] as const) {
    r.post(`/jobs/:name/${action}`, async (req, res) => {
      const { name } = parse(jobNameParam, req.params, 400);
      try {
        if (action === 'pause') await scheduler.pause(name, req.user!.id);
        else await scheduler.resume(name, req.user!.id);
        notify(deps, req, res, 'success', action === 'pause' ? `${name} is paused: scheduled runs are skipped until you resume it.` : `${name} resumed.`);
      } catch (err) {
        notify(deps, req, res, 'error', refusal(err));
      }
      await after(req, res);
    });
  }

  r.post('/jobs/runs/:id/cancel', async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    try {
      const run = await scheduler.cancel(id, req.user!.id);
      notify(deps, req, res, 'success', run.status === 'cancelled' ? `Run ${id} was cancelled.` : `Cancelling run ${id}…`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    await after(req, res);
  });

  return r;
}
