import type { Candle } from '../../platform/candle.js';
import { intervalSeconds } from '../../platform/candle.js';
import { assertSortedUnique } from './clean.js';
import type { FeatureConfig } from './features.schemas.js';
import { ema, lag, logChange, logReturns, rollingMean, rollingStd, rollingZScore, rsi } from './indicators.js';

/**
 * Features for every candle, column-major. Row i belongs to candle i: its features use candles
 * 0..i only (time <= candle i's time) and its target is the log return of the NEXT interval,
 * ln(close[i+1] / close[i]).
 */
export interface FeatureFrame {
  intervalMinutes: number;
  names: string[];
  /** Open time of candle i (unix seconds). */
  times: Float64Array;
  close: Float64Array;
  /** One column per name, same length as times. */
  columns: Float64Array[];
  /** ln(nextClose / close); NaN for the last candle and when the next interval is missing (gap). */
  target: Float64Array;
  nextClose: Float64Array;
  /** 1 when every feature of the row is finite (past the warm-up). */
  complete: Uint8Array;
}

const DAY = 86_400;

/** Names in the order buildFeatures produces them; stable so runs can record them. */
export function featureNames(config: FeatureConfig, intervalMinutes: number): string[] {
  const names = ['logret'];
  for (let k = 1; k <= config.lags; k++) names.push(`logret_lag${k}`);
  for (const n of config.momentumWindows) names.push(`mom_${n}`);
  for (const n of config.smaWindows) names.push(`sma_ratio_${n}`);
  for (const n of config.emaWindows) names.push(`ema_ratio_${n}`);
  if (config.rsiPeriod !== null) names.push(`rsi_${config.rsiPeriod}`);
  for (const n of config.volatilityWindows) names.push(`vol_${n}`);
  if (config.volumeWindow !== null) names.push(`volume_z_${config.volumeWindow}`);
  if (config.range) names.push('range', 'body');
  if (config.calendar) {
    names.push('dow_sin', 'dow_cos');
    if (intervalSeconds(intervalMinutes) < DAY) names.push('hour_sin', 'hour_cos');
  }
  return [...new Set(names)];
}

/** Candles before the first complete row (the longest look-back). */
export function warmupCandles(config: FeatureConfig): number {
  return Math.max(
    config.lags + 1,
    ...config.momentumWindows,
    ...config.smaWindows.map((n) => n - 1),
    ...config.emaWindows.map((n) => n - 1),
    config.rsiPeriod ?? 0,
    ...config.volatilityWindows,
    (config.volumeWindow ?? 1) - 1,
    1,
  );
}

export function buildFeatures(candles: readonly Candle[], intervalMinutes: number, config: FeatureConfig): FeatureFrame {
  assertSortedUnique(candles);
  const len = candles.length;
  const step = intervalSeconds(intervalMinutes);
  const times = new Float64Array(len);
  const open = new Float64Array(len);
  const high = new Float64Array(len);
  const low = new Float64Array(len);
  const close = new Float64Array(len);
  const logVolume = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    const c = candles[i]!;
    times[i] = c.time;
    open[i] = c.open;
    high[i] = c.high;
    low[i] = c.low;
    close[i] = c.close;
    // log1p tames the heavy right tail of volume so one panic day does not dominate the z-score.
    logVolume[i] = Math.log1p(c.volume);
  }

  const cols = new Map<string, Float64Array>();
  const r = logReturns(close);
  cols.set('logret', r);
  for (let k = 1; k <= config.lags; k++) cols.set(`logret_lag${k}`, lag(r, k));
  for (const n of config.momentumWindows) cols.set(`mom_${n}`, logChange(close, n));
  for (const n of config.smaWindows) cols.set(`sma_ratio_${n}`, logRatio(close, rollingMean(close, n)));
  for (const n of config.emaWindows) cols.set(`ema_ratio_${n}`, logRatio(close, ema(close, n)));
  if (config.rsiPeriod !== null) {
    const v = rsi(close, config.rsiPeriod);
    // Centred and scaled to [-0.5, 0.5] so linear models see a sensible magnitude.
    for (let i = 0; i < len; i++) v[i] = v[i]! / 100 - 0.5;
    cols.set(`rsi_${config.rsiPeriod}`, v);
  }
  for (const n of config.volatilityWindows) cols.set(`vol_${n}`, rollingStd(r, n));
  if (config.volumeWindow !== null) cols.set(`volume_z_${config.volumeWindow}`, rollingZScore(logVolume, config.volumeWindow));
  if (config.range) {
    const range = new Float64Array(len);
    const body = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      range[i] = Math.log(high[i]! / low[i]!);
      body[i] = Math.log(close[i]! / open[i]!);
    }
    cols.set('range', range);
    cols.set('body', body);
  }
  if (config.calendar) {
    const dowSin = new Float64Array(len);
    const dowCos = new Float64Array(len);
    const intraday = step < DAY;
    const hourSin = new Float64Array(len);
    const hourCos = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const t = times[i]!;
      // 1970-01-01 was a Thursday: +4 gives Sunday = 0 like Date#getUTCDay, without a Date per row.
      const dow = (Math.floor(t / DAY) + 4) % 7;
      dowSin[i] = Math.sin((2 * Math.PI * dow) / 7);
      dowCos[i] = Math.cos((2 * Math.PI * dow) / 7);
      if (intraday) {
        const hour = Math.floor((t % DAY) / 3600);
        hourSin[i] = Math.sin((2 * Math.PI * hour) / 24);
        hourCos[i] = Math.cos((2 * Math.PI * hour) / 24);
      }
    }
    cols.set('dow_sin', dowSin);
    cols.set('dow_cos', dowCos);
    if (intraday) {
      cols.set('hour_sin', hourSin);
      cols.set('hour_cos', hourCos);
    }
  }

  const names = featureNames(config, intervalMinutes);
  const columns = names.map((n) => {
    const c = cols.get(n);
    if (!c) throw new Error(`feature ${n} was not built`);
    return c;
  });

  const target = new Float64Array(len).fill(NaN);
  const nextClose = new Float64Array(len).fill(NaN);
  for (let i = 0; i + 1 < len; i++) {
    // Across a gap the "next" candle is several intervals away; its return is not a one-step
    // target, so the row is left without one rather than mixing horizons.
    if (times[i + 1]! - times[i]! !== step) continue;
    nextClose[i] = close[i + 1]!;
    target[i] = Math.log(close[i + 1]! / close[i]!);
  }

  const complete = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    let ok = 1;
    for (const col of columns) {
      if (!Number.isFinite(col[i]!)) {
        ok = 0;
        break;
      }
    }
    complete[i] = ok;
  }

  return { intervalMinutes, names, times, close, columns, target, nextClose, complete };
}

function logRatio(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.log(a[i]! / b[i]!);
  return out;
}

/** Rows that have every feature and a known target: what models may be fitted and scored on. */
export function trainableRows(frame: FeatureFrame): number[] {
  const rows: number[] = [];
  for (let i = 0; i < frame.times.length; i++) if (frame.complete[i] === 1 && Number.isFinite(frame.target[i]!)) rows.push(i);
  return rows;
}

/** Row-major copy of the chosen columns (by index into frame.names) for the chosen rows. */
export function gatherRows(frame: FeatureFrame, rows: readonly number[], featureIdx: readonly number[]): number[][] {
  const out: number[][] = new Array(rows.length);
  const cols = featureIdx.map((j) => {
    const c = frame.columns[j];
    if (!c) throw new RangeError(`feature index ${j} out of range`);
    return c;
  });
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    const row = new Array<number>(cols.length);
    for (let k = 0; k < cols.length; k++) row[k] = cols[k]![i]!;
    out[r] = row;
  }
  return out;
}

export function featureIndex(frame: FeatureFrame, names: readonly string[]): number[] {
  return names.map((n) => {
    const j = frame.names.indexOf(n);
    if (j < 0) throw new RangeError(`feature ${n} is not in this frame (config changed?)`);
    return j;
  });
}
