/**
 * The home page. Until the market module exposes its pairs this is a welcome card with the
 * way around; the watchlist replaces it (issue 7, phase 2).
 */
import { Router } from 'express';
import type { PageRouteDeps } from './deps.js';
import { requirePageUser } from './page-context.js';

export function createHomeRouter(deps: PageRouteDeps): Router {
  const r = Router();
  r.get('/', requirePageUser, async (req, res) => {
    const isAdmin = req.user!.role === 'admin';
    const jobs = isAdmin && deps.scheduler ? await deps.scheduler.listJobs() : [];
    res.render('pages/home', {
      title: 'Home',
      jobCount: jobs.length,
      activeRuns: jobs.filter((j) => j.activeRun).map((j) => j.activeRun!),
      failedJobs: jobs.filter((j) => j.lastRun?.status === 'failed').map((j) => j.name),
    });
  });
  return r;
}
