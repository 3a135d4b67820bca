/**
 * /pairs (admins): the tracked pairs with the candles stored for each interval, the backfills
 * and their progress (the live panel polls every 2 s while one is queued or running), and
 * adding pairs from Kraken's catalogue with an htmx search. A backfill too costly to start
 * unasked (ConfirmationRequiredError) shows its estimate and waits for a confirming click.
 */
import { Router, type Request, type Response } from 'express';
import { parse } from '../../http/validate.js';
import { AppError } from '../../platform/errors.js';
import { ConfirmationRequiredError, type BackfillEstimate } from '../market/index.js';
import { zonedDayStart } from './analysis.js';
import type { PageRouteDeps, PagesMarket } from './deps.js';
import { hxTarget, isHtmx, notify, requirePageAdmin } from './page-context.js';
import { addPairForm, catalogueQuery, confirmForm, pairIdParam, removePairForm, runIdParam } from './pages.schemas.js';

const MAX_RESULTS = 40;

function refusal(err: unknown): string {
  if (err instanceof AppError && err.expose && err.status < 500) return err.message;
  throw err;
}

export function createPairsRouter(deps: PageRouteDeps & { market: PagesMarket }): Router {
  const { market } = deps;
  const r = Router();
  r.use('/pairs', requirePageAdmin);

  async function live() {
    const pairs = await market.service.listPairs();
    const [coverage, backfills] = await Promise.all([market.service.coverage(pairs.map((p) => p.id)), market.service.backfills({ limit: 30 })]);
    const allPairs = await market.service.listPairs({ includeUntracked: true });
    const names = new Map(allPairs.map((p) => [p.id, p.wsname ?? p.altname]));
    const active = backfills.some((b) => b.status === 'queued' || b.status === 'running');
    return {
      pairs: pairs.map((p) => ({ ...p, coverage: coverage.filter((c) => c.pairId === p.id) })),
      backfills: backfills.map((b) => ({ ...b, pairName: names.get(b.pairId) ?? `pair ${b.pairId}` })),
      active,
    };
  }

  async function catalogue(q: string | undefined) {
    if (!q) return { q: '', results: [], total: 0, error: null as string | null, stale: false };
    try {
      const c = await market.service.catalogue({ q });
      return {
        q,
        results: c.pairs.slice(0, MAX_RESULTS).map((p) => ({ ...p, tracked: c.tracked.has(p.key) })),
        total: c.pairs.length,
        error: null,
        stale: c.snapshot.stale,
      };
    } catch (err) {
      return { q, results: [], total: 0, error: refusal(err), stale: false };
    }
  }

  async function show(
    req: Request,
    res: Response,
    extra: { q?: string; confirm?: { pair: string; from?: string; estimate: BackfillEstimate }; target?: 'catalogue-results' } = {},
    status = 200,
  ) {
    res.vary('HX-Target');
    const q = extra.q ?? catalogueQuery.parse(req.query).q;
    const [l, cat] = await Promise.all([live(), catalogue(q)]);
    const data = { title: 'Pairs', ...l, catalogue: cat, confirm: extra.confirm ?? null };
    res.status(status);
    const target = extra.target ?? hxTarget(req);
    if (target === 'catalogue-results') return res.render('pages/pairs/_catalogue', data);
    if (target === 'pairs-live') return res.render('pages/pairs/_live', { ...data, fragment: true });
    res.render('pages/pairs/index', data);
  }

  r.get('/pairs', (req, res) => show(req, res));

  r.post('/pairs', async (req, res) => {
    const form = parse(addPairForm, req.body);
    const tz = req.preferences?.timeZone ?? 'UTC';
    const from = form.from ? zonedDayStart(form.from, tz) : undefined;
    try {
      const out = await market.service.addPair({ pair: form.pair, backfillFrom: from, confirm: form.confirm }, req.user!.id);
      const what = out.backfill ? `; its history is being backfilled (${out.backfill.rows.length} interval${out.backfill.rows.length === 1 ? '' : 's'})` : '';
      notify(deps, req, res, 'success', `${out.pair.wsname ?? out.pair.altname} is tracked${what}.`);
    } catch (err) {
      if (err instanceof ConfirmationRequiredError) {
        // Ask first: the estimate and a button that sends the same request with confirm=1.
        if (!isHtmx(req)) return show(req, res, { q: form.q, confirm: { pair: form.pair, from: form.from, estimate: err.estimate } }, 422);
        res.setHeader('HX-Retarget', '#catalogue-results');
        res.setHeader('HX-Reswap', 'outerHTML');
        return show(req, res, { q: form.q, confirm: { pair: form.pair, from: form.from, estimate: err.estimate }, target: 'catalogue-results' });
      }
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, '/pairs');
    await show(req, res, { q: form.q });
  });

  r.post('/pairs/:id/remove', async (req, res) => {
    const { id } = parse(pairIdParam, req.params, 400);
    const { purge } = parse(removePairForm, req.body ?? {});
    try {
      const out = await market.service.removePair(id, { purge, userId: req.user!.id });
      notify(deps, req, res, 'success', `${out.pair.wsname ?? out.pair.altname} is no longer tracked${purge ? ` and its ${out.deletedCandles.toLocaleString('en-GB')} candles were deleted` : '; its candles are kept'}.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, '/pairs');
    await show(req, res);
  });

  r.post('/pairs/backfills/:id/cancel', async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    try {
      await market.backfill.cancel(id);
      notify(deps, req, res, 'success', `Backfill ${id} was cancelled.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, '/pairs');
    await show(req, res);
  });

  r.post('/pairs/backfills/:id/resume', async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    const { confirm } = parse(confirmForm, req.body ?? {});
    try {
      await market.backfill.resume(id, { confirm, userId: req.user!.id });
      notify(deps, req, res, 'success', `Backfill ${id} is queued again.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, '/pairs');
    await show(req, res);
  });

  return r;
}
