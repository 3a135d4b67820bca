import type { Candle } from '../../platform/candle.js';
import { intervalSeconds } from '../../platform/candle.js';

/** A stretch where the exchange wrote no candle: `missing` intervals between `after` and `before`. */
export interface CandleGap {
  after: number;
  before: number;
  missing: number;
}

export interface CleanReport {
  input: number;
  kept: number;
  duplicates: number;
  invalid: number;
  unaligned: number;
  gaps: CandleGap[];
  missingIntervals: number;
}

export interface CleanResult {
  candles: Candle[];
  report: CleanReport;
}

export function isValidCandle(c: Candle): boolean {
  const { time, open, high, low, close, volume, trades } = c;
  if (!Number.isInteger(time) || time < 0) return false;
  for (const v of [open, high, low, close, volume, trades]) if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (open <= 0 || high <= 0 || low <= 0 || close <= 0) return false;
  if (high < low || high < open || high < close || low > open || low > close) return false;
  return volume >= 0 && trades >= 0;
}

/**
 * Sort, dedupe and validate the candles a model sees, and list the gaps. Candles are never
 * invented: Kraken writes none for an interval without trades, so a gap is information,
 * and filling it (forward fill) would teach models that flat, zero-volume intervals exist.
 * On duplicate times the LAST one in input order wins, because a re-fetched candle supersedes
 * an earlier copy of the same interval.
 */
export function cleanCandles(candles: readonly Candle[], intervalMinutes: number): CleanResult {
  const step = intervalSeconds(intervalMinutes);
  let invalid = 0;
  let unaligned = 0;
  const byTime = new Map<number, Candle>();
  let duplicates = 0;
  for (const c of candles) {
    if (!isValidCandle(c)) {
      invalid++;
      continue;
    }
    if (c.time % step !== 0) {
      unaligned++;
      continue;
    }
    if (byTime.has(c.time)) duplicates++;
    byTime.set(c.time, c);
  }
  const out: Candle[] = [];
  for (const c of byTime.values()) {
    out.push({ time: c.time, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, trades: c.trades });
  }
  out.sort((a, b) => a.time - b.time);
  const gaps = findGaps(out, intervalMinutes);
  return {
    candles: out,
    report: {
      input: candles.length,
      kept: out.length,
      duplicates,
      invalid,
      unaligned,
      gaps,
      missingIntervals: gaps.reduce((s, g) => s + g.missing, 0),
    },
  };
}

/** Gaps in a sorted candle list (times strictly increasing). */
export function findGaps(candles: readonly Candle[], intervalMinutes: number): CandleGap[] {
  const step = intervalSeconds(intervalMinutes);
  const gaps: CandleGap[] = [];
  for (let i = 1; i < candles.length; i++) {
    const prev = candles[i - 1]!.time;
    const cur = candles[i]!.time;
    if (cur - prev > step) gaps.push({ after: prev, before: cur, missing: Math.round((cur - prev) / step) - 1 });
  }
  return gaps;
}

/** Throws unless times are strictly increasing: the feature code indexes by position. */
export function assertSortedUnique(candles: readonly Candle[]): void {
  for (let i = 1; i < candles.length; i++) {
    if (!(candles[i]!.time > candles[i - 1]!.time)) {
      throw new RangeError(`candles must be sorted by time without duplicates (index ${i}: ${candles[i]!.time} after ${candles[i - 1]!.time}); run cleanCandles first`);
    }
  }
}
