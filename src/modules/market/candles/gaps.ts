/**
 * Kraken writes no candle for an interval without trades, so a missing time is a fact to
 * report (and maybe backfill from Trades), never something to fill with an invented candle.
 */

export interface CandleGap {
  /** open time of the first missing candle */
  from: number;
  /** open time of the last missing candle */
  to: number;
  /** number of missing candles, (to - from) / interval + 1 */
  missing: number;
}

export interface GapBounds {
  /** the first expected open time (inclusive); missing candles before the first given time count */
  from?: number;
  /** the end of the expected range (exclusive): open times < end are expected */
  end?: number;
}

/**
 * Missing ranges in a sorted list of candle open times. With `bounds`, missing candles at the
 * start and the end of the expected range are reported too.
 * Throws RangeError when the times are not strictly ascending or not aligned to the interval:
 * that is a bug upstream, and guessing would hide it.
 */
export function findGaps(times: readonly number[], intervalMinutes: number, bounds: GapBounds = {}): CandleGap[] {
  const step = intervalMinutes * 60;
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`intervalMinutes must be a positive integer, got ${intervalMinutes}`);
  for (const [name, v] of [['from', bounds.from], ['end', bounds.end]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v % step !== 0)) throw new RangeError(`bounds.${name} ${v} is not aligned to ${intervalMinutes} minutes`);
  }
  const gaps: CandleGap[] = [];
  const push = (from: number, to: number) => {
    if (to >= from) gaps.push({ from, to, missing: (to - from) / step + 1 });
  };
  let prev: number | undefined;
  for (const t of times) {
    if (!Number.isInteger(t) || t % step !== 0) throw new RangeError(`time ${t} is not aligned to ${intervalMinutes} minutes`);
    if (prev !== undefined && t <= prev) throw new RangeError(`times are not strictly ascending at ${t} (after ${prev})`);
    if (bounds.end !== undefined && t >= bounds.end) break;
    if (bounds.from !== undefined && t < bounds.from) {
      prev = t;
      continue;
    }
    if (prev === undefined || prev < (bounds.from ?? -Infinity)) {
      if (bounds.from !== undefined) push(bounds.from, t - step);
    } else {
      push(prev + step, t - step);
    }
    prev = t;
  }
  if (bounds.end !== undefined) {
    const last = prev !== undefined && prev >= (bounds.from ?? -Infinity) ? prev + step : bounds.from;
    if (last !== undefined) push(last, bounds.end - step);
  }
  return gaps;
}
