/**
 * The home page: the watchlist of tracked pairs (last stored price, 24 h change, the latest
 * prediction with its 80 % band and the serving model's skill against the naive forecast as a
 * badge), plus the way around. Before the market module is wired it is a welcome card.
 */
import { Router } from 'express';
import { AppError } from '../../platform/errors.js';
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
  // one batched read of every pair's latest price (no query per pair)
  const prices = await market.service.latestPrices(pairs);
  return Promise.all(
    pairs.map(async (p) => {
      // the daily series when the pair has one (the original's horizon), else hourly
      const interval = p.intervals.includes(1440) ? 1440 : 60;
      const [latest, prediction] = await Promise.all([
        prices.get(p.id) ?? null,
        deps.predictions ? deps.predictions.latestPrediction(p.altname, interval).catch((err: unknown) => (err instanceof AppError && err.status === 404 ? null : Promise.reject(err))) : null,
      ]);
      return { pair: p, interval, latest, prediction };
    }),
  );
}
