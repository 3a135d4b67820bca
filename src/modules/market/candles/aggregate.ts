/**
 * Trades -> exact candles. Kraken's OHLC endpoint only reaches 720 intervals back, so older
 * history is rebuilt from its Trades endpoint; the candles must then equal what Kraken itself
 * publishes, digit for digit, which is why every sum here is exact (see decimal.ts).
 */
import type { ExactCandle } from '../../../platform/candle.js';
import {
  addFixed,
  compareFixed,
  decimalPlaces,
  divFixed,
  type Fixed,
  formatFixed,
  mulFixed,
  parseFixed,
  toPlainDecimal,
  ZERO,
} from './decimal.js';

export interface TradeTick {
  /** decimal string as the exchange wrote it */
  price: string;
  /** decimal string as the exchange wrote it */
  volume: string;
  /** Unix seconds, fractional */
  time: number;
}

export interface AggregateOptions {
  intervalMinutes: number;
  /**
   * Digits of the volume-weighted average price. Default: the most digits any trade price
   * of that candle was written with, so the VWAP is as precise as the prices it averages.
   */
  vwapScale?: number;
}

export class TradeOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TradeOrderError';
  }
}

interface Bucket {
  time: number;
  open: string;
  high: string;
  highF: Fixed;
  low: string;
  lowF: Fixed;
  close: string;
  volume: Fixed;
  pv: Fixed;
  trades: number;
  priceScale: number;
}

/**
 * Streaming aggregator: feed trades oldest first (page by page), collect the candles that are
 * known to be complete. Memory stays at one candle whatever the number of trades.
 *
 * A candle is complete once a trade of a LATER interval arrives, or once the caller says time
 * has passed its end (`closeUpTo(now)`), meaning the trade feed is known to be complete up to
 * `now`. The last, possibly still filling, interval is never emitted before that.
 */
export class TradeAggregator {
  private readonly seconds: number;
  private readonly vwapScale: number | undefined;
  private bucket: Bucket | null = null;
  /** trades before this time belong to candles already emitted */
  private sealedBefore = -Infinity;

  constructor(opts: AggregateOptions) {
    if (!Number.isInteger(opts.intervalMinutes) || opts.intervalMinutes <= 0) {
      throw new RangeError(`intervalMinutes must be a positive integer, got ${opts.intervalMinutes}`);
    }
    this.seconds = opts.intervalMinutes * 60;
    this.vwapScale = opts.vwapScale;
  }

  /** Open time of the interval still being filled, if any. */
  get pendingTime(): number | null {
    return this.bucket?.time ?? null;
  }

  /** Adds one trade; returns the candles this trade proves complete (zero or one). */
  push(trade: TradeTick): ExactCandle[] {
    if (!Number.isFinite(trade.time)) throw new TradeOrderError(`trade time is not a number: ${String(trade.time)}`);
    if (trade.time < this.sealedBefore) {
      throw new TradeOrderError(`trade at ${trade.time} belongs to a candle already emitted (before ${this.sealedBefore})`);
    }
    const priceF = parseFixed(trade.price);
    const volumeF = parseFixed(trade.volume);
    if (priceF.units <= 0n) throw new RangeError(`trade price must be > 0, got ${trade.price}`);
    if (volumeF.units < 0n) throw new RangeError(`trade volume must be >= 0, got ${trade.volume}`);
    const time = Math.floor(trade.time / this.seconds) * this.seconds;
    const out: ExactCandle[] = [];
    let b = this.bucket;
    if (b && time < b.time) {
      throw new TradeOrderError(`trades out of order: ${trade.time} is before the current candle at ${b.time}`);
    }
    if (b && time > b.time) {
      out.push(this.finish(b));
      b = null;
    }
    const price = toPlainDecimal(trade.price);
    const scale = decimalPlaces(trade.price);
    if (!b) {
      b = {
        time,
        open: price,
        high: price,
        highF: priceF,
        low: price,
        lowF: priceF,
        close: price,
        volume: ZERO,
        pv: ZERO,
        trades: 0,
        priceScale: scale,
      };
      this.bucket = b;
    }
    // Strict comparisons keep the first spelling of an extreme, as the exchange wrote it.
    if (compareFixed(priceF, b.highF) > 0) {
      b.high = price;
      b.highF = priceF;
    }
    if (compareFixed(priceF, b.lowF) < 0) {
      b.low = price;
      b.lowF = priceF;
    }
    b.close = price;
    b.volume = addFixed(b.volume, volumeF);
    b.pv = addFixed(b.pv, mulFixed(priceF, volumeF));
    b.trades += 1;
    if (scale > b.priceScale) b.priceScale = scale;
    return out;
  }

  /** Emits the pending candle when its interval ended at or before `now` (Unix seconds). */
  closeUpTo(now: number): ExactCandle[] {
    const out: ExactCandle[] = [];
    const b = this.bucket;
    if (b && b.time + this.seconds <= now) out.push(this.finish(b));
    // Having declared the feed complete up to `now`, a later trade from before it would mean
    // an emitted (and maybe stored) candle was wrong: refuse it rather than fork silently.
    if (!this.bucket) this.sealedBefore = Math.max(this.sealedBefore, Math.floor(now / this.seconds) * this.seconds);
    return out;
  }

  private finish(b: Bucket): ExactCandle {
    this.bucket = null;
    this.sealedBefore = b.time + this.seconds;
    const vwapScale = this.vwapScale ?? b.priceScale;
    return {
      time: b.time,
      open: b.open,
      high: b.high,
      low: b.low,
      close: b.close,
      volume: formatFixed(b.volume),
      trades: b.trades,
      vwap: b.volume.units === 0n ? null : formatFixed(divFixed(b.pv, b.volume, vwapScale)),
    };
  }
}

/**
 * Aggregates trades (oldest first) into the candles of fully closed intervals.
 * Without `now`, every interval but the last one seen is closed; with `now` (the time up to
 * which the trade list is known complete), intervals that ended at or before `now` are.
 */
export function aggregateTrades(trades: Iterable<TradeTick>, opts: AggregateOptions & { now?: number }): ExactCandle[] {
  const agg = new TradeAggregator(opts);
  const out: ExactCandle[] = [];
  for (const t of trades) out.push(...agg.push(t));
  if (opts.now !== undefined) out.push(...agg.closeUpTo(opts.now));
  return out;
}
