/**
 * /data: data analysis of one pair and interval over a date range: candles and volume, the
 * return histogram, rolling volatility, summary statistics, gaps and flagged anomalies.
 * The controls and results are one htmx region (#analysis), so a change of pair, interval or
 * range swaps it and pushes the URL; the charts are drawn by public/js/charts.js from a JSON
 * block in the fragment.
 */
import { Router, type Request } from 'express';
import { intervalName, parseInterval, type IntervalMinutes } from '../../platform/candle.js';
import { chartSeries, jsonForScript, summarize, volatilityWindow, zonedDayStart } from './analysis.js';
import type { PageRouteDeps, PagesMarket } from './deps.js';
import { hxTarget, requirePageUser } from './page-context.js';
import { dataQuery, RANGE_PRESETS, type RangePreset } from './pages.schemas.js';

/** More candles than this are not drawn at once (about two years of hours). */
export const MAX_CANDLES = 20_000;
const DAY = 86_400;

export function createDataRouter(deps: PageRouteDeps & { market: PagesMarket }): Router {
  const { market } = deps;
  const r = Router();

  async function analysis(req: Request) {
    const tz = req.preferences?.timeZone ?? 'UTC';
    const q = dataQuery.parse(req.query);
    const pairs = (await market.service.listPairs({ includeUntracked: true })).sort((a, b) => Number(b.tracked) - Number(a.tracked) || a.altname.localeCompare(b.altname));
    const wanted = q.pair ?? req.preferences?.defaultPair ?? undefined;
    const pair = pairs.find((p) => p.altname === wanted || p.key === wanted || p.wsname === wanted) ?? pairs.find((p) => p.tracked) ?? pairs[0];
    if (!pair) return { pairs, pair: null };
    const interval: IntervalMinutes = (q.interval ? parseInterval(q.interval) : undefined) ?? (pair.intervals.includes(1440) ? 1440 : 60);
    const latest = await market.service.latestCandle(pair.id, interval);
    // An explicit from/to wins; otherwise a preset counted back from the newest stored candle.
    const range: RangePreset | 'custom' = q.from || q.to ? 'custom' : (q.range ?? (interval === 1440 ? '1y' : '1m'));
    const to = q.to ? (zonedDayStart(q.to, tz) ?? 0) + DAY : undefined;
    let from = q.from ? zonedDayStart(q.from, tz) : undefined;
    if (range !== 'custom' && latest) {
      const days = RANGE_PRESETS[range];
      from = days === null ? undefined : latest.time + interval * 60 - days * DAY;
    }
    const candles = latest ? await market.service.getCandles(pair.id, interval, from, to, { limit: MAX_CANDLES }) : [];
    const shownFrom = candles[0]?.time;
    const shownTo = candles.length ? candles[candles.length - 1]!.time + interval * 60 : undefined;
    const [gaps, anomalies] = await Promise.all([
      candles.length ? market.service.gaps(pair.id, interval, { from: shownFrom, to: shownTo }) : null,
      candles.length ? market.service.anomalies(pair.id, interval, { from: shownFrom, to: shownTo, limit: 200 }) : null,
    ]);
    const stats = summarize(candles, interval);
    const series = chartSeries(candles, {
      intervalMinutes: interval,
      timeZone: tz,
      pair: pair.wsname ?? pair.altname,
      anomalies: (anomalies?.candles ?? []).map((a) => ({ time: a.time, close: Number(a.close), reason: a.anomalyReason })),
    });
    return {
      pairs,
      pair,
      interval,
      intervalName: intervalName(interval),
      range,
      presets: Object.keys(RANGE_PRESETS) as RangePreset[],
      fromInput: q.from ?? (shownFrom !== undefined ? localDate(shownFrom, tz) : ''),
      toInput: q.to ?? (shownTo !== undefined ? localDate(shownTo - 1, tz) : ''),
      candles: candles.length,
      capped: candles.length >= MAX_CANDLES,
      shownFrom,
      shownTo,
      latestTime: latest?.time,
      stats,
      gaps,
      anomalies: anomalies?.candles ?? [],
      chartJson: jsonForScript(series),
      volWindow: volatilityWindow(interval),
    };
  }

  /** YYYY-MM-DD of a moment in the viewer's zone (what a date input shows). */
  function localDate(t: number, tz: string): string {
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(t * 1000));
  }

  r.get('/data', requirePageUser, async (req, res) => {
    const data = { title: 'Data analysis', scripts: ['/static/vendor/plotly.min.js', '/static/js/charts.js'], ...(await analysis(req)) };
    res.vary('HX-Target');
    if (hxTarget(req) === 'analysis') return res.render('pages/data/_analysis', data);
    res.render('pages/data/index', data);
  });

  return r;
}
