/**
 * /models: the model registry of one pair and interval: the best model, every training run's
 * metrics beside the naive baseline, tunings; a run's detail (params, evaluation per split and
 * fold, feature importance where the model has it, residuals); a side-by-side comparison of
 * runs. Administrators start a training or a tuning and watch it: the live panel polls every
 * 2 s while a job or a run is queued or running.
 */
import { Router, type Request, type Response } from 'express';
import { parse } from '../../http/validate.js';
import { AppError } from '../../platform/errors.js';
import { intervalName, parseInterval, type IntervalMinutes } from '../../platform/candle.js';
import { ALGORITHMS, zoo } from '../models/index.js';
import { runsQuery, tuneBody, type PredictionsFacade } from '../predictions/index.js';
import type { SchedulerService } from '../scheduler/index.js';
import { chartTime, jsonForScript } from './analysis.js';
import type { PageRouteDeps, PagesMarket } from './deps.js';
import { hxTarget, isHtmx, notify, requirePageAdmin, requirePageUser } from './page-context.js';
import { dataQuery, runIdParam } from './pages.schemas.js';
import { z } from 'zod';

const trainForm = z.object({
  pair: z.string().trim().min(1).max(40),
  interval: z.enum(['1h', '1d']),
  algorithms: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.enum(ALGORITHMS, { message: 'is not a known algorithm' }))),
});

const tuneForm = z.object({
  pair: z.string().trim().min(1).max(40),
  interval: z.enum(['1h', '1d']),
  algorithm: z.enum(ALGORITHMS, { message: 'is not a known algorithm' }),
  strategy: z.enum(['random', 'grid']).default('random'),
  maxTrials: z.coerce.number().int().min(1).max(200).default(12),
  objective: z.enum(['mae', 'rmse']).default('mae'),
});

const compareQuery = z.object({
  run: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .transform((v) => [...new Set(v.flatMap((s) => s.split(',')).map(Number).filter((n) => Number.isInteger(n) && n > 0))].slice(0, 6)),
});

function refusal(err: unknown): string {
  if (err instanceof AppError && err.expose && err.status < 500) return err.message;
  throw err;
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof AppError && err.status === 404) return null;
    throw err;
  }
}

/** Reads a number at a path of an untyped stored object (metrics JSON), or null. */
export function num(obj: unknown, ...path: string[]): number | null {
  let cur: unknown = obj;
  for (const k of path) {
    if (!cur || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[k];
  }
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : null;
}

const ACTIVE = new Set(['queued', 'running']);
const TRAINABLE = ALGORITHMS.filter((a) => a !== 'naive');

export function createModelsPagesRouter(deps: PageRouteDeps & { market: PagesMarket; predictions: PredictionsFacade; scheduler?: SchedulerService }): Router {
  const { market, predictions, scheduler } = deps;
  const r = Router();
  r.use('/models', requirePageUser);

  async function selection(req: Request, source: unknown = req.query) {
    const q = dataQuery.parse(source ?? {});
    const pairs = (await market.service.listPairs()).sort((a, b) => a.altname.localeCompare(b.altname));
    const wanted = q.pair ?? req.preferences?.defaultPair ?? undefined;
    const pair = pairs.find((p) => p.altname === wanted || p.key === wanted || p.wsname === wanted) ?? pairs.find((p) => p.altname === 'XBTUSD') ?? pairs[0];
    if (!pair) return null;
    const interval: IntervalMinutes = (q.interval ? parseInterval(q.interval) : undefined) ?? (pair.intervals.includes(1440) ? 1440 : 60);
    return { pairs, pair, interval, intervalName: intervalName(interval) };
  }

  async function live(pairName: string, interval: number) {
    const [best, runs, tunings, jobRuns] = await Promise.all([
      orNull(predictions.bestModel(pairName, interval)),
      predictions.runs(runsQuery.parse({ pair: pairName, interval, kind: 'train', limit: 60 })),
      predictions.tunings({ pair: pairName, interval, limit: 10 }),
      scheduler ? Promise.all(['retrain', 'tune'].map((job) => scheduler.listRuns({ job, limit: 5 }))) : Promise.resolve([]),
    ]);
    const jobs = jobRuns.flatMap((p) => p.runs).sort((a, b) => b.id - a.id).slice(0, 6);
    const active = runs.runs.some((x) => ACTIVE.has(x.status)) || tunings.tunings.some((t) => ACTIVE.has(t.status)) || jobs.some((j) => ACTIVE.has(j.status));
    return { best, runs: runs.runs, tunings: tunings.tunings, jobs, active };
  }

  async function show(req: Request, res: Response, source: unknown = req.query) {
    res.vary('HX-Target');
    const sel = await selection(req, source);
    const base = { title: 'Models', algorithms: ALGORITHMS.map((a) => ({ name: a, label: zoo[a].label })), trainable: TRAINABLE.map((a) => ({ name: a, label: zoo[a].label })), canTune: !!scheduler };
    if (!sel) return res.render('pages/models/index', { ...base, pair: null });
    const data = { ...base, ...sel, ...(await live(sel.pair.altname, sel.interval)), selfUrl: `/models?pair=${encodeURIComponent(sel.pair.altname)}&interval=${sel.intervalName}` };
    const target = hxTarget(req);
    if (target === 'models-live') return res.render('pages/models/_live', { ...data, fragment: true });
    if (target === 'models') return res.render('pages/models/_models', { ...data, fragment: true });
    res.render('pages/models/index', data);
  }

  r.get('/models', (req, res) => show(req, res));

  /** After an admin action: the live panel for htmx, the page otherwise. */
  async function after(req: Request, res: Response, form: { pair: string; interval: string }) {
    const url = `/models?pair=${encodeURIComponent(form.pair)}&interval=${form.interval}`;
    if (!isHtmx(req)) return res.redirect(303, url);
    await show(req, res, { pair: form.pair, interval: form.interval });
  }

  r.post('/models/train', requirePageAdmin, async (req, res) => {
    const form = parse(trainForm, req.body);
    try {
      if (!scheduler) throw new AppError(409, 'no_scheduler', 'Training runs as a job, and the scheduler is not installed');
      const params: Record<string, unknown> = { pair: form.pair, interval: parseInterval(form.interval) };
      if (form.algorithms.length) params.algorithms = form.algorithms;
      const out = await scheduler.launch('retrain', params, { trigger: 'manual', startedById: req.user!.id });
      notify(deps, req, res, out.alreadyRunning ? 'info' : 'success', out.alreadyRunning ? `A training is already queued or running (job run ${out.runId}).` : `Training started (job run ${out.runId}): ${form.algorithms.length ? form.algorithms.join(', ') + ' and the naive baseline' : 'the default suite'} on ${form.pair} ${form.interval}.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    await after(req, res, form);
  });

  r.post('/models/tune', requirePageAdmin, async (req, res) => {
    const form = parse(tuneForm, req.body);
    try {
      const body = tuneBody.parse({ pair: form.pair, interval: form.interval, algorithm: form.algorithm, strategy: form.strategy, maxTrials: form.maxTrials, objective: form.objective });
      const out = await predictions.tune(body, { id: req.user!.id, username: req.user!.username, role: req.user!.role });
      notify(deps, req, res, 'success', `Tuning ${out.tuningId} of ${zoo[form.algorithm].label} started (${form.maxTrials} trials, ${form.strategy} search).`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    await after(req, res, form);
  });

  r.post('/models/runs/:id/promote', requirePageAdmin, async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    let form = { pair: '', interval: '1d' };
    try {
      const out = await predictions.promote(id, { id: req.user!.id, username: req.user!.username, role: req.user!.role }, 'promoted on the models page');
      form = { pair: out.run.pair, interval: out.run.interval };
      notify(deps, req, res, 'success', out.message + '.');
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    if (!isHtmx(req)) return res.redirect(303, form.pair ? `/models/runs/${id}` : '/models');
    res.setHeader('HX-Redirect', `/models/runs/${id}`);
    res.status(204).end();
  });

  r.get('/models/compare', async (req, res) => {
    const { run: ids } = compareQuery.parse(req.query);
    const runs = (await Promise.all(ids.map((id) => orNull(predictions.run(id))))).filter((x): x is NonNullable<typeof x> => x !== null);
    const paramNames = [...new Set(runs.flatMap((x) => Object.keys(x.params ?? {})))].sort();
    res.render('pages/models/compare', { title: 'Compare runs', runs, paramNames, num });
  });

  r.get('/models/runs/:id', async (req, res) => {
    const { id } = parse(runIdParam, req.params, 400);
    const run = await predictions.run(id, { oos: true });
    const tz = req.preferences?.timeZone ?? 'UTC';
    const ranking = Array.isArray(run.features.ranking) ? (run.features.ranking as { name: string; score: number; rank: number }[]).filter((f) => Number.isFinite(f.score)).sort((a, b) => a.rank - b.rank) : [];
    const oos = run.out_of_sample as { times?: number[]; actualReturn?: number[]; predictedReturn?: number[] } | null | undefined;
    const pct = (v: number) => Math.round(Math.expm1(v) * 1e6) / 1e4;
    const oosChart =
      oos && Array.isArray(oos.times) && oos.times.length
        ? {
            timeZone: tz,
            t: oos.times.map((t) => chartTime(t, tz)),
            actualPct: (oos.actualReturn ?? []).map(pct),
            predictedPct: (oos.predictedReturn ?? []).map(pct),
            residualPct: (oos.actualReturn ?? []).map((a, i) => Math.round((a - (oos.predictedReturn?.[i] ?? 0)) * 1e6) / 1e4),
          }
        : null;
    const folds = Array.isArray(run.evaluation.folds) ? (run.evaluation.folds as unknown[]) : [];
    res.render('pages/models/run', {
      title: `Run ${run.id}`,
      run,
      num,
      folds,
      ranking: ranking.slice(0, 25),
      rankingTotal: ranking.length,
      hasOos: !!oosChart,
      chartJson: jsonForScript({ ...(oosChart ?? {}), features: ranking.slice(0, 20), scoreLabel: 'Usefulness score (higher = more useful)' }),
      scripts: ['/static/vendor/plotly.min.js', '/static/js/charts.js'],
    });
  });

  return r;
}
