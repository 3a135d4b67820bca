import type { Candle } from '../../platform/candle.js';
import { intervalSeconds } from '../../platform/candle.js';
import { assertSortedUnique } from './clean.js';

/** A candle built from `parts` finer candles (fewer than the full count when the source has gaps). */
export interface ResampledCandle extends Candle {
  parts: number;
}

export interface ResampleOptions {
  /**
   * Unix seconds: drop buckets that end after this time. A bucket whose period has not
   * finished yet is not a closed candle; only the caller knows "now", so it is passed in.
   */
  closedBefore?: number;
  /** Drop buckets built from fewer source candles than this (default 1: keep what exists). */
  minParts?: number;
}

/**
 * Aggregates sorted, clean candles into a coarser interval aligned to the Unix epoch, which
 * for days means UTC midnight. A bucket is built only from the candles that exist: Kraken
 * writes no candle for an hour without trades, so a day with 20 hourly candles is still that
 * day's real open/high/low/close/volume. Empty buckets produce no candle.
 *
 * One pass over sorted rows: 3-4 ms for 70k hourly candles, against 0.8-1 s for the five
 * danfojs groupby aggregations it takes (agg() has no first/last; docs/decisions/010).
 */
export function resampleCandles(candles: readonly Candle[], toMinutes: number, opts: ResampleOptions = {}): ResampledCandle[] {
  assertSortedUnique(candles);
  const size = intervalSeconds(toMinutes);
  const minParts = opts.minParts ?? 1;
  const out: ResampledCandle[] = [];
  let cur: ResampledCandle | undefined;
  // One pass: input is sorted, so a bucket's candles are contiguous.
  for (const c of candles) {
    const start = Math.floor(c.time / size) * size;
    if (!cur || cur.time !== start) {
      if (cur) out.push(cur);
      cur = { time: start, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, trades: c.trades, parts: 1 };
    } else {
      if (c.high > cur.high) cur.high = c.high;
      if (c.low < cur.low) cur.low = c.low;
      cur.close = c.close;
      cur.volume += c.volume;
      cur.trades += c.trades;
      cur.parts++;
    }
  }
  if (cur) out.push(cur);
  const closedBefore = opts.closedBefore;
  return out.filter((b) => b.parts >= minParts && (closedBefore === undefined || b.time + size <= closedBefore));
}
