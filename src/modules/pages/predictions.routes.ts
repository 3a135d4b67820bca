/**
 * /predictions: for one pair and interval, the candles with the model's past predictions, the
 * actual closes and the next prediction with its 80 % and 95 % bands; the recent predictions
 * with their errors beside the naive forecast's; live skill per model; a CSV download of the
 * same predictions. Pair, interval and range are one htmx region (#forecast).
 */
import { Router, type Request, type Response } from 'express';
import { AppError } from '../../platform/errors.js';
import { csvCell } from '../../platform/csv.js';
import { intervalName, parseInterval, type IntervalMinutes } from '../../platform/candle.js';
import { predictionsQuery, type PredictionsFacade } from '../predictions/index.js';
import { chartTime, jsonForScript } from './analysis.js';
import type { PageRouteDeps, PagesMarket } from './deps.js';
import { hxTarget, requirePageUser } from './page-context.js';
import { dataQuery, RANGE_PRESETS, type RangePreset } from './pages.schemas.js';

const DAY = 86_400;
const RECENT_ROWS = 25;

type PredictionJson = Awaited<ReturnType<PredictionsFacade['predictions']>>['predictions'][number];

/** 404-style answers (no model yet, no prediction yet) become a message; anything else is thrown. */
async function orMessage<T>(p: Promise<T>): Promise<{ value: T | null; message: string | null }> {
  try {
    return { value: await p, message: null };
  } catch (err) {
    if (err instanceof AppError && err.status === 404) {
      // The API's hints (POST /api/...) are for API clients; the page offers its own links.
      const text = err.message.replace(/; an administrator can start training with POST \/api\/prediction\/train$/, '').replace(/, or now with POST \/api\/prediction\/predict$/, '');
      return { value: null, message: /[.!?]$/.test(text) ? text : `${text}.` };
    }
    throw err;
  }
}

/** One prediction per target candle: the model's (the best at that time) rather than the naive one. */
export function pickPerTarget(rows: readonly PredictionJson[]): PredictionJson[] {
  const byTarget = new Map<string, PredictionJson>();
  for (const p of rows) {
    const cur = byTarget.get(p.target_time);
    if (!cur || (cur.is_naive && !p.is_naive) || (cur.is_naive === p.is_naive && p.made_at > cur.made_at)) byTarget.set(p.target_time, p);
  }
  return [...byTarget.values()].sort((a, b) => a.target_time.localeCompare(b.target_time));
}


export function createPredictionsPagesRouter(deps: PageRouteDeps & { market: PagesMarket; predictions: PredictionsFacade }): Router {
  const { market, predictions } = deps;
  const r = Router();
  r.use(['/predictions', '/predictions.csv'], requirePageUser);

  async function selection(req: Request) {
    const q = dataQuery.parse(req.query);
    const pairs = (await market.service.listPairs()).sort((a, b) => a.altname.localeCompare(b.altname));
    const wanted = q.pair ?? req.preferences?.defaultPair ?? undefined;
    const pair = pairs.find((p) => p.altname === wanted || p.key === wanted || p.wsname === wanted) ?? pairs.find((p) => p.altname === 'XBTUSD') ?? pairs[0];
    if (!pair) return null;
    const preferred = req.preferences?.defaultInterval && !q.pair ? parseInterval(req.preferences.defaultInterval) : undefined;
    const interval: IntervalMinutes = (q.interval ? parseInterval(q.interval) : undefined) ?? preferred ?? (pair.intervals.includes(1440) ? 1440 : 60);
    const range: RangePreset = q.range ?? (interval === 1440 ? '3m' : '1m');
    return { pairs, pair, interval, range };
  }

  async function rows(pairName: string, interval: number, from: number | undefined) {
    const out = await predictions.predictions(predictionsQuery.parse({ pair: pairName, interval, kind: 'live', model: 'all', limit: 5000, ...(from !== undefined ? { from } : {}) }));
    return out.predictions;
  }

  r.get('/predictions', async (req: Request, res: Response) => {
    res.vary('HX-Target');
    const sel = await selection(req);
    const base = { title: 'Predictions', scripts: ['/static/vendor/plotly.min.js', '/static/js/charts.js'] };
    if (!sel) return res.render('pages/predictions/index', { ...base, pair: null, pairs: [] });
    const { pair, interval, range } = sel;
    const tz = req.preferences?.timeZone ?? 'UTC';
    const latestCandle = await market.service.latestCandle(pair.id, interval);
    const days = RANGE_PRESETS[range];
    const from = latestCandle && days !== null ? latestCandle.time + interval * 60 - days * DAY : undefined;
    const [latest, best, all, live, candles] = await Promise.all([
      orMessage(predictions.latestPrediction(pair.altname, interval)),
      orMessage(predictions.bestModel(pair.altname, interval)),
      rows(pair.altname, interval, from),
      predictions.liveMetrics(pair.altname, interval),
      latestCandle ? market.service.getCandles(pair.id, interval, from, undefined, { limit: 20_000 }) : [],
    ]);
    const picked = pickPerTarget(all);
    const t = (iso: string) => chartTime(Date.parse(iso) / 1000, tz);
    const chart = {
      timeZone: tz,
      pair: pair.wsname ?? pair.altname,
      candles: { t: candles.map((c) => chartTime(c.time, tz)), open: candles.map((c) => c.open), high: candles.map((c) => c.high), low: candles.map((c) => c.low), close: candles.map((c) => c.close) },
      past: {
        t: picked.map((p) => t(p.target_time)),
        value: picked.map((p) => p.prediction_value),
        lower80: picked.map((p) => p.lower80),
        upper80: picked.map((p) => p.upper80),
        lower95: picked.map((p) => p.lower95),
        upper95: picked.map((p) => p.upper95),
        actual: picked.map((p) => p.actual),
      },
      next: latest.value
        ? { t: t(latest.value.target_time), value: latest.value.prediction_value, lower80: latest.value.lower80, upper80: latest.value.upper80, lower95: latest.value.lower95, upper95: latest.value.upper95 }
        : null,
    };
    const q = new URLSearchParams({ pair: pair.altname, interval: intervalName(interval), range });
    const data = {
      ...base,
      ...sel,
      intervalName: intervalName(interval),
      presets: (Object.keys(RANGE_PRESETS) as RangePreset[]).filter((p) => p !== '3y'),
      latest: latest.value,
      latestMessage: latest.message,
      best: best.value,
      live: live.models,
      recent: picked.slice(-RECENT_ROWS).reverse(),
      pastCount: picked.length,
      scoredCount: picked.filter((p) => p.actual !== null).length,
      candleCount: candles.length,
      csvUrl: `/predictions.csv?${q.toString()}`,
      chartJson: jsonForScript(chart),
    };
    if (hxTarget(req) === 'forecast') return res.render('pages/predictions/_forecast', data);
    res.render('pages/predictions/index', data);
  });

  r.get('/predictions.csv', async (req, res) => {
    const sel = await selection(req);
    if (!sel) return res.status(404).type('text/plain').send('No pairs are tracked.');
    const { pair, interval, range } = sel;
    const latestCandle = await market.service.latestCandle(pair.id, interval);
    const days = RANGE_PRESETS[range];
    const from = latestCandle && days !== null ? latestCandle.time + interval * 60 - days * DAY : undefined;
    const list = (await rows(pair.altname, interval, from)).sort((a, b) => a.target_time.localeCompare(b.target_time) || Number(a.is_naive) - Number(b.is_naive));
    const cols = ['target_time', 'target_close_time', 'made_at', 'algorithm', 'run_id', 'base_close', 'prediction', 'lower80', 'upper80', 'lower95', 'upper95', 'naive_prediction', 'actual', 'error', 'abs_error', 'naive_abs_error'] as const;
    const lines = [cols.join(',')];
    for (const p of list) {
      lines.push(
        [p.target_time, p.target_close_time, p.made_at, p.algorithm, p.run_id, p.base_close, p.prediction_value, p.lower80, p.upper80, p.lower95, p.upper95, p.naive_value, p.actual, p.error, p.abs_error, p.naive_abs_error]
          .map(csvCell)
          .join(','),
      );
    }
    const name = `candlecast-${pair.altname}-${intervalName(interval)}-predictions.csv`;
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.send(lines.join('\r\n') + '\r\n');
  });

  return r;
}
