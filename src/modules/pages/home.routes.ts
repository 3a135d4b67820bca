/**
 * The home page: the watchlist of tracked pairs (last stored price and its 24 h change, and the
 * latest prediction once the predictions module provides one), plus the way around. Before the
 * market module is wired it is a welcome card.
 */
import { Router } from 'express';
import type { PageRouteDeps } from './deps.js';
import { requirePageUser } from './page-context.js';

export function createHomeRouter(deps: PageRouteDeps): Router {
  const r = Router();
  r.get('/', requirePageUser, async (req, res) => {
    const isAdmin = req.user!.role === 'admin';
    const [jobs, watchlist] = await Promise.all([
      isAdmin && deps.scheduler ? deps.scheduler.listJobs() : [],
      deps.market ? watch(deps) : null,
    ]);
    res.render('pages/home', {
      title: 'Home',
      watchlist,
      jobCount: jobs.length,
      activeRuns: jobs.filter((j) => j.activeRun).map((j) => j.activeRun!),
      failedJobs: jobs.filter((j) => j.lastRun?.status === 'failed').map((j) => j.name),
    });
  });
  return r;
}

async function watch(deps: PageRouteDeps) {
  const market = deps.market!;
  const pairs = await market.service.listPairs();
  return Promise.all(
    pairs.map(async (p) => {
      const latest = await market.service.latestPrice(p.id);
      return { pair: p, latest };
    }),
  );
}
