/**
 * The numbers behind the data analysis page, from float64 candles: log returns, rolling
 * volatility, summary statistics and the series the charts draw. Pure (no I/O); the rolling
 * maths is the features module's.
 */
import type { Candle } from '../../platform/candle.js';
import { logReturns, rollingStd } from '../features/index.js';

export interface SummaryStats {
  candles: number;
  first: { time: number; close: number } | null;
  last: { time: number; close: number } | null;
  /** simple return from the first close to the last */
  change: number | null;
  minClose: number | null;
  maxClose: number | null;
  highest: number | null;
  lowest: number | null;
  meanReturn: number | null;
  stdReturn: number | null;
  /** std of log returns scaled to a year (sqrt of periods per year) */
  annualVolatility: number | null;
  skewness: number | null;
  excessKurtosis: number | null;
  /** largest fall from a running peak of the close, as a negative fraction */
  maxDrawdown: number | null;
  best: { time: number; ret: number } | null;
  worst: { time: number; ret: number } | null;
  totalVolume: number;
  upShare: number | null;
}

/** Candles a year holds: 8,760 hours, 365 days (crypto trades every day). */
export function periodsPerYear(intervalMinutes: number): number {
  return (365 * 24 * 60) / intervalMinutes;
}

/** Window of the rolling volatility: a month of days, or a week of hours. */
export function volatilityWindow(intervalMinutes: number): number {
  return intervalMinutes >= 1440 ? 30 : 168;
}

export function summarize(candles: readonly Candle[], intervalMinutes: number): SummaryStats {
  const n = candles.length;
  const empty: SummaryStats = {
    candles: n, first: null, last: null, change: null, minClose: null, maxClose: null, highest: null, lowest: null, meanReturn: null, stdReturn: null,
    annualVolatility: null, skewness: null, excessKurtosis: null, maxDrawdown: null, best: null, worst: null, totalVolume: 0, upShare: null,
  };
  if (n === 0) return empty;
  const closes = Float64Array.from(candles, (c) => c.close);
  const r = logReturns(closes);
  let minClose = Infinity, maxClose = -Infinity, highest = -Infinity, lowest = Infinity, volume = 0;
  let peak = -Infinity, maxDd = 0;
  for (const c of candles) {
    minClose = Math.min(minClose, c.close);
    maxClose = Math.max(maxClose, c.close);
    highest = Math.max(highest, c.high);
    lowest = Math.min(lowest, c.low);
    volume += c.volume;
    peak = Math.max(peak, c.close);
    maxDd = Math.min(maxDd, c.close / peak - 1);
  }
  const rets: number[] = [];
  let best: SummaryStats['best'] = null;
  let worst: SummaryStats['worst'] = null;
  for (let i = 1; i < n; i++) {
    const v = r[i]!;
    if (!Number.isFinite(v)) continue;
    rets.push(v);
    if (!best || v > best.ret) best = { time: candles[i]!.time, ret: Math.expm1(v) };
    if (!worst || v < worst.ret) worst = { time: candles[i]!.time, ret: Math.expm1(v) };
  }
  let mean = null, std = null, skew = null, kurt = null, up = null;
  if (rets.length >= 2) {
    const m = rets.reduce((a, b) => a + b, 0) / rets.length;
    let m2 = 0, m3 = 0, m4 = 0;
    for (const v of rets) {
      const d = v - m;
      m2 += d * d;
      m3 += d * d * d;
      m4 += d * d * d * d;
    }
    const k = rets.length;
    mean = m;
    std = Math.sqrt(m2 / (k - 1));
    const pop = m2 / k;
    skew = pop > 0 ? m3 / k / Math.pow(pop, 1.5) : 0;
    kurt = pop > 0 ? m4 / k / (pop * pop) - 3 : 0;
    up = rets.filter((v) => v > 0).length / k;
  }
  const first = candles[0]!;
  const last = candles[n - 1]!;
  return {
    candles: n,
    first: { time: first.time, close: first.close },
    last: { time: last.time, close: last.close },
    change: last.close / first.close - 1,
    minClose,
    maxClose,
    highest,
    lowest,
    meanReturn: mean,
    stdReturn: std,
    annualVolatility: std === null ? null : std * Math.sqrt(periodsPerYear(intervalMinutes)),
    skewness: skew,
    excessKurtosis: kurt,
    maxDrawdown: maxDd,
    best,
    worst,
    totalVolume: volume,
    upShare: up,
  };
}

const chartFormats = new Map<string, Intl.DateTimeFormat>();

/** Times as the chart shows them: "YYYY-MM-DD HH:MM" in the viewer's zone (Plotly has no zones). */
export function chartTime(unixSeconds: number, timeZone: string): string {
  if (timeZone === 'UTC') return new Date(unixSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
  // Building a DateTimeFormat costs ~0.2 ms: one per zone, not one per candle.
  let f = chartFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    chartFormats.set(timeZone, f);
  }
  const parts: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(unixSeconds * 1000))) parts[p.type] = p.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

export interface AnalysisSeries {
  timeZone: string;
  pair: string;
  interval: number;
  t: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
  /** simple returns in percent (first candle has none) */
  returnsPct: number[];
  /** rolling annualised volatility in percent, aligned with t (null while the window fills) */
  volatilityPct: (number | null)[];
  volatilityWindow: number;
  anomalies: { t: string; close: number; reason: string }[];
}

export function chartSeries(
  candles: readonly Candle[],
  opts: { intervalMinutes: number; timeZone: string; pair: string; anomalies?: { time: number; close: number; reason: string | null }[] },
): AnalysisSeries {
  const closes = Float64Array.from(candles, (c) => c.close);
  const r = logReturns(closes);
  const w = volatilityWindow(opts.intervalMinutes);
  const vol = rollingStd(r, w);
  const scale = Math.sqrt(periodsPerYear(opts.intervalMinutes)) * 100;
  const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
  const returnsPct: number[] = [];
  for (let i = 1; i < candles.length; i++) if (Number.isFinite(r[i]!)) returnsPct.push(round(Math.expm1(r[i]!) * 100, 4));
  return {
    timeZone: opts.timeZone,
    pair: opts.pair,
    interval: opts.intervalMinutes,
    t: candles.map((c) => chartTime(c.time, opts.timeZone)),
    open: candles.map((c) => c.open),
    high: candles.map((c) => c.high),
    low: candles.map((c) => c.low),
    close: candles.map((c) => c.close),
    volume: candles.map((c) => round(c.volume, 6)),
    returnsPct,
    volatilityPct: Array.from(vol, (v) => (Number.isFinite(v) ? round(v * scale, 3) : null)),
    volatilityWindow: w,
    anomalies: (opts.anomalies ?? []).map((a) => ({ t: chartTime(a.time, opts.timeZone), close: a.close, reason: a.reason ?? 'flagged' })),
  };
}

/**
 * JSON for a <script type="application/json"> block: the browser never runs it (so the CSP
 * allows it), and `<`, `>`, `&` and the JS line separators are escaped so no value can close
 * the element ("</script>") or start a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * Midnight at the start of `date` (YYYY-MM-DD) in `timeZone`, as Unix seconds: what a person
 * means by "from 1 March" on a page that shows their zone.
 */
export function zonedDayStart(date: string, timeZone: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const utcGuess = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(utcGuess)) return undefined;
  // The zone's offset at that moment, applied twice to settle across a DST change.
  const offset = (t: number) => {
    const p = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
        .formatToParts(new Date(t))
        .map((x) => [x.type, Number(x.value)]),
    ) as Record<string, number>;
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - t;
  };
  let t = utcGuess - offset(utcGuess);
  t = utcGuess - offset(t);
  return Math.floor(t / 1000);
}
