/**
 * History older than OHLC's 720-interval window, rebuilt from Kraken's Trades endpoint (the
 * way Freqtrade backfills Kraken): page through trades with the nanosecond cursor and
 * aggregate them into exact candles.
 */
import type { ExactCandle } from '../../../platform/candle.js';
import { TradeAggregator } from '../candles/aggregate.js';
import type { KrakenApi, KrakenTrade, KrakenTradesPage } from './kraken.types.js';

export interface PageTradesOptions {
  /** cursor to start after: Kraken's nanosecond `last`, or Unix seconds; default: the most recent trades */
  since?: string;
  /** stop before the first trade at or after this Unix time (seconds) */
  until?: number;
  /** safety stop; default 1,000,000 pages */
  maxPages?: number;
}

export interface TradesPageInfo extends KrakenTradesPage {
  /** true when this is the last page the iteration will yield */
  done: boolean;
  /** why it stopped (on the last page) */
  stop?: 'until' | 'exhausted' | 'max_pages';
}

/**
 * Yields pages oldest first until a trade reaches `until`, Kraken has nothing newer, or
 * maxPages. Kraken's `since` is exclusive, but a trade repeated across a page boundary (same
 * id) is dropped anyway, so a cursor with coarser precision cannot double-count volume.
 */
export async function* pageTrades(api: KrakenApi, pair: string, opts: PageTradesOptions = {}): AsyncGenerator<TradesPageInfo> {
  const maxPages = opts.maxPages ?? 1_000_000;
  let cursor = opts.since;
  let lastId = -1;
  for (let page = 1; ; page++) {
    const res = await api.trades(pair, cursor);
    let trades: KrakenTrade[] = res.trades.filter((t) => t.id === null || t.id > lastId);
    let stop: TradesPageInfo['stop'];
    if (opts.until !== undefined) {
      const cut = trades.findIndex((t) => t.time >= opts.until!);
      if (cut !== -1) {
        trades = trades.slice(0, cut);
        stop = 'until';
      }
    }
    for (const t of trades) if (t.id !== null && t.id > lastId) lastId = t.id;
    if (!stop && (res.trades.length === 0 || res.last === cursor)) stop = 'exhausted';
    if (!stop && page >= maxPages) stop = 'max_pages';
    yield { pair: res.pair, trades, last: res.last, done: stop !== undefined, stop };
    if (stop) return;
    cursor = res.last;
  }
}

export interface CandlesFromTradesOptions {
  intervalMinutes: number;
  /** first candle open time (Unix seconds, aligned to the interval) */
  from: number;
  /** end of the range (exclusive, aligned): candles with open time < to */
  to: number;
  /**
   * Current Unix time. When Kraken runs out of trades before `to`, the feed is complete only
   * up to now, so the interval still running is not emitted.
   */
  now: number;
  vwapScale?: number;
  maxPages?: number;
  /** progress, e.g. for a backfill job's log line */
  onPage?: (info: { page: number; trades: number; last: string }) => void;
}

export interface CandlesFromTradesResult {
  pair: string;
  /** closed candles in [from, to), oldest first; intervals without trades have none */
  candles: ExactCandle[];
  pages: number;
  trades: number;
  /** the cursor after the last page, to resume from */
  cursor: string;
  /** false when maxPages stopped the paging before `to` */
  complete: boolean;
}

export async function candlesFromTrades(api: KrakenApi, pair: string, opts: CandlesFromTradesOptions): Promise<CandlesFromTradesResult> {
  const step = opts.intervalMinutes * 60;
  if (opts.from % step !== 0 || opts.to % step !== 0) throw new RangeError(`from and to must be aligned to ${opts.intervalMinutes} minutes`);
  if (opts.to <= opts.from) throw new RangeError('to must be after from');
  const agg = new TradeAggregator({ intervalMinutes: opts.intervalMinutes, vwapScale: opts.vwapScale });
  const candles: ExactCandle[] = [];
  // Kraken's since is exclusive; one nanosecond earlier keeps a trade stamped exactly at `from`.
  const since = (BigInt(opts.from) * 1_000_000_000n - 1n).toString();
  let pages = 0;
  let trades = 0;
  let cursor = since;
  let key = pair;
  let stop: TradesPageInfo['stop'];
  for await (const page of pageTrades(api, pair, { since, until: opts.to, maxPages: opts.maxPages })) {
    pages++;
    key = page.pair;
    cursor = page.last;
    for (const t of page.trades) {
      if (t.time < opts.from) continue;
      trades++;
      candles.push(...agg.push(t));
    }
    opts.onPage?.({ page: pages, trades: page.trades.length, last: page.last });
    stop = page.stop;
  }
  const knownUpTo = stop === 'until' ? opts.to : stop === 'exhausted' ? Math.min(opts.to, opts.now) : undefined;
  if (knownUpTo !== undefined) candles.push(...agg.closeUpTo(knownUpTo));
  return { pair: key, candles, pages, trades, cursor, complete: stop !== 'max_pages' };
}
