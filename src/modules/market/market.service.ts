/**
 * The market's read side and its pairs: which pairs are tracked, their candles (exact for the
 * API, float64 for models), the latest price, gaps and anomalies. Every candle read is one
 * indexed range query on the primary key (pair, interval, time).
 */
import { INTERVALS, parseInterval, type Candle, type IntervalMinutes } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { PairCatalogue, type KrakenApi, type KrakenAssetPair } from './kraken/index.js';
import { ConfirmationRequiredError, type BackfillEstimate, type BackfillService } from './backfill.service.js';
import type { CatalogueService, CatalogueSnapshot } from './catalogue.service.js';
import type { MarketRepo, PairRow, StoredCandle } from './market.repo.js';
import type { LaunchResult } from '../../platform/jobs.js';
import type { BackfillRow } from './market.repo.js';
import type { HistoryChange } from './history-cache.js';

export type MarketPair = PairRow;

export interface LatestPrice {
  price: number;
  time: number;
  change24h: number | null;
  change24hPct: number | null;
  interval: number;
}

export interface HistoryPage {
  candles: StoredCandle[];
  /** cursor of the page after this one (ascending), if there is one */
  next?: string;
  /** cursor of the page before this one, if there is one */
  prev?: string;
}

export interface GapReport {
  pair: string;
  interval: number;
  from: number;
  /** end of the expected range (exclusive) */
  to: number;
  stored: number;
  missing: number;
  gaps: { from: number; to: number; missing: number; kind: 'leading' | 'inner' | 'trailing' }[];
}

export interface TickerInfo {
  pair: MarketPair;
  source: 'kraken' | 'stored';
  /** last trade price (Kraken) or last stored close */
  price: number;
  priceExact: string;
  time: number;
  bid: number | null;
  ask: number | null;
  open: number | null;
  high24h: number | null;
  low24h: number | null;
  volume24h: number | null;
  vwap24h: number | null;
  trades24h: number | null;
  change24h: number | null;
  change24hPct: number | null;
  /** what the change is measured against */
  changeBasis: 'close 24h ago' | "today's open" | null;
  /** why Kraken was not used, when source is 'stored' */
  note?: string;
}

export interface AddPairInput {
  asset?: string;
  symbol?: string;
  pair?: string;
  intervals?: IntervalMinutes[];
  /** undefined: what OHLC's window of each interval holds; a time: from there (Trades for the older part) */
  backfillFrom?: number;
  backfill?: boolean;
  confirm?: boolean;
}

export interface AddPairResult {
  pair: MarketPair;
  /** false when the pair existed untracked and was tracked again */
  created: boolean;
  backfill: { rows: BackfillRow[]; estimate: BackfillEstimate; launched: LaunchResult | null } | null;
}

export interface MarketServiceDeps {
  repo: MarketRepo;
  catalogue: CatalogueService;
  kraken: KrakenApi;
  backfill: BackfillService;
  clock: Clock;
  log: Logger;
  /** after a commit that changed pairs or deleted candles (history cache invalidation) */
  changed?: (c: HistoryChange) => void;
  /** the tracked pairs or their intervals changed (the live feed subscribes again) */
  onPairsChanged?(): void;
}

interface Cursor {
  i: number;
  /** open time strictly after this */
  a?: number;
  /** open time strictly before this */
  b?: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.i === 'number' && (typeof c.a === 'number' || typeof c.b === 'number')) return c;
  } catch {
    // falls through
  }
  throw new ValidationError('cursor: not a cursor this API gave out (take it from the Link header)');
}

function pairAsCatalogueEntry(p: PairRow): KrakenAssetPair {
  return {
    key: p.key,
    altname: p.altname,
    wsname: p.wsname,
    base: p.base,
    quote: p.quote,
    pairDecimals: p.pairDecimals,
    lotDecimals: p.lotDecimals,
    costDecimals: null,
    tickSize: null,
    orderMin: null,
    status: p.status,
  };
}

export function toPairInput(e: KrakenAssetPair) {
  return { key: e.key, altname: e.altname, wsname: e.wsname, base: e.base, quote: e.quote, pairDecimals: e.pairDecimals, lotDecimals: e.lotDecimals, status: e.status ?? 'online' };
}

export function createMarketService(deps: MarketServiceDeps) {
  const { repo, clock } = deps;
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);
  /** open time of the interval still running: stored candles are all before it */
  const openTime = (interval: number) => Math.floor(nowSeconds() / (interval * 60)) * interval * 60;

  function checkInterval(interval: number | string): IntervalMinutes {
    const m = parseInterval(interval);
    if (m === undefined) throw new ValidationError(`unknown interval "${String(interval)}": use ${Object.keys(INTERVALS).join(' or ')}`);
    return m;
  }

  /** A stored pair by id or by any of its names (key, altname, wsname, BTC/USD-style alias). */
  async function resolvePair(ref: number | string): Promise<MarketPair> {
    if (typeof ref === 'number') {
      const p = await repo.pairById(ref);
      if (!p) throw new NotFoundError(`No pair with id ${ref}`);
      return p;
    }
    const pairs = await repo.allPairs();
    const hit = new PairCatalogue(pairs.map(pairAsCatalogueEntry)).resolve(ref);
    if (!hit) throw new NotFoundError(`No stored pair is named "${ref.slice(0, 40)}"; GET /api/crypto/assets lists them and GET /api/crypto/kraken_assets lists what Kraken offers`, 'unknown_pair');
    return pairs.find((p) => p.key === hit.key)!;
  }

  async function history(
    ref: number | string,
    intervalIn: number | string,
    q: { from?: number; to?: number; limit?: number; cursor?: string } = {},
  ): Promise<{ pair: MarketPair; interval: IntervalMinutes; page: HistoryPage }> {
    const interval = checkInterval(intervalIn);
    const pair = await resolvePair(ref);
    const limit = q.limit ?? 1000;
    const closedTo = openTime(interval);
    const to = Math.min(q.to ?? Infinity, closedTo);
    let from = q.from;
    let before: number | undefined;
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      if (c.i !== interval) throw new ValidationError('cursor: it belongs to another interval');
      if (c.a !== undefined) from = Math.max(from ?? -Infinity, c.a + 1);
      if (c.b !== undefined) before = c.b;
    }
    const page: HistoryPage = { candles: [] };
    if (from !== undefined) {
      // a range read forward from `from`
      const rows = await repo.exactCandles(pair.id, interval, { from, to, limit: limit + 1, order: 'asc' });
      if (rows.length > limit) {
        rows.length = limit;
        page.next = encodeCursor({ i: interval, a: rows[rows.length - 1]!.time });
      }
      page.candles = rows;
      if (rows[0] && q.cursor) page.prev = encodeCursor({ i: interval, b: rows[0].time });
    } else {
      // no start: the newest `limit` candles up to `to` (or before the cursor), oldest first
      const end = before !== undefined ? Math.min(to, before) : to;
      const rows = await repo.exactCandles(pair.id, interval, { to: end, limit: limit + 1, order: 'desc' });
      const more = rows.length > limit;
      if (more) rows.length = limit;
      rows.reverse();
      page.candles = rows;
      if (more && rows[0]) page.prev = encodeCursor({ i: interval, b: rows[0].time });
      if (before !== undefined && rows.length > 0) page.next = encodeCursor({ i: interval, a: rows[rows.length - 1]!.time });
    }
    return { pair, interval, page };
  }

  async function gaps(ref: number | string, intervalIn: number | string, q: { from?: number; to?: number } = {}): Promise<GapReport> {
    const interval = checkInterval(intervalIn);
    const pair = await resolvePair(ref);
    const step = interval * 60;
    const end = Math.min(q.to !== undefined ? Math.ceil(q.to / step) * step : Infinity, openTime(interval));
    const first = await repo.firstTimeFrom(pair.id, interval, q.from ?? 0, end);
    const start = q.from !== undefined ? Math.ceil(q.from / step) * step : (first ?? end);
    const report: GapReport = { pair: pair.altname, interval, from: start, to: end, stored: 0, missing: 0, gaps: [] };
    if (end <= start) return report;
    const last = await repo.lastTimeBefore(pair.id, interval, start, end);
    if (first === null || last === null) {
      report.gaps.push({ from: start, to: end - step, missing: (end - start) / step, kind: 'leading' });
    } else {
      if (first > start) report.gaps.push({ from: start, to: first - step, missing: (first - start) / step, kind: 'leading' });
      for (const g of await repo.innerGaps(pair.id, interval, { from: start, to: end })) report.gaps.push({ ...g, kind: 'inner' });
      if (last + step < end) report.gaps.push({ from: last + step, to: end - step, missing: (end - last - step) / step, kind: 'trailing' });
    }
    report.missing = report.gaps.reduce((a, g) => a + g.missing, 0);
    report.stored = (end - start) / step - report.missing;
    return report;
  }

  async function storedTicker(pair: MarketPair, note?: string): Promise<TickerInfo & { interval: number }> {
    let interval = 60;
    let rows = await repo.exactCandles(pair.id, 60, { to: openTime(60), limit: 25, order: 'desc' });
    if (rows.length === 0) {
      interval = 1440;
      rows = await repo.exactCandles(pair.id, 1440, { to: openTime(1440), limit: 2, order: 'desc' });
    }
    const t = tickerFromRows(pair, interval, rows, note);
    if (!t) throw new NotFoundError(`No candles are stored for ${pair.altname}${note ? ` and Kraken's ticker is unavailable (${note})` : ''}`, 'no_data');
    return t;
  }

  /** The stored ticker from a pair's newest candles (newest first): 25 hourly or 2 daily. */
  function tickerFromRows(pair: MarketPair, interval: number, rows: readonly StoredCandle[], note?: string): (TickerInfo & { interval: number }) | null {
    const latest = rows[0];
    if (!latest) return null;
    const step = interval * 60;
    // the candle that closed 24 h before the latest one did, if stored
    const dayAgo = rows.find((r) => r.time === latest.time - 86400);
    const window = rows.filter((r) => r.time > latest.time - 86400);
    const price = Number(latest.close);
    const base = dayAgo ? Number(dayAgo.close) : null;
    return {
      pair,
      interval,
      source: 'stored',
      price,
      priceExact: latest.close,
      time: latest.time + step,
      bid: null,
      ask: null,
      open: Number(window[window.length - 1]!.open),
      high24h: Math.max(...window.map((r) => Number(r.high))),
      low24h: Math.min(...window.map((r) => Number(r.low))),
      volume24h: window.reduce((a, r) => a + Number(r.volume), 0),
      vwap24h: null,
      trades24h: window.reduce((a, r) => a + r.trades, 0),
      change24h: base === null ? null : price - base,
      change24hPct: base === null ? null : ((price - base) / base) * 100,
      changeBasis: base === null ? null : 'close 24h ago',
      note,
    };
  }

  return {
    checkInterval,
    resolvePair,

    /** A stored pair, or (for imports) the pair Kraken's catalogue knows by that name, stored and tracked now. */
    async ensurePair(ref: string, userId: number | null = null): Promise<{ pair: MarketPair; created: boolean }> {
      try {
        return { pair: await resolvePair(ref), created: false };
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      // the bundled pairs first: importing BTC or ETH data must work offline
      const bundled = new PairCatalogue(await deps.catalogue.bundledPairs().catch(() => [])).resolve(ref);
      const entry = bundled ?? (await deps.catalogue.resolve(ref)).entry;
      if (!entry) throw new NotFoundError(`Neither the stored pairs nor Kraken's catalogue know a pair named "${ref.slice(0, 40)}"`, 'unknown_pair');
      const existing = await repo.pairByKey(entry.key);
      if (existing) return { pair: existing, created: false };
      const pair = await repo.upsertPair(toPairInput(entry), { tracked: true, addedById: userId });
      deps.changed?.({ kind: 'pairs' });
      return { pair, created: true };
    },

    async listPairs(opts: { includeUntracked?: boolean } = {}): Promise<MarketPair[]> {
      return opts.includeUntracked ? repo.allPairs() : repo.trackedPairs();
    },

    /** First/last stored open time and count per pair and interval. */
    async coverage(pairIds: number[]) {
      return repo.coverage(pairIds);
    },

    async catalogue(opts: { q?: string; refresh?: boolean } = {}): Promise<{ snapshot: CatalogueSnapshot; pairs: readonly KrakenAssetPair[]; tracked: Set<string> }> {
      const snapshot = await deps.catalogue.get({ refresh: opts.refresh });
      let pairs = snapshot.pairs;
      if (opts.q) {
        const q = opts.q.toUpperCase();
        const exact = snapshot.catalogue.resolve(opts.q);
        pairs = pairs.filter(
          (p) =>
            p === exact ||
            [p.key, p.altname, p.wsname ?? '', p.base, p.quote].some((s) => s.toUpperCase().includes(q)),
        );
      }
      const tracked = new Set((await repo.trackedPairs()).map((p) => p.key));
      return { snapshot, pairs, tracked };
    },

    /** Tracks a pair Kraken lists (by any of its names), and starts its backfill. */
    async addPair(input: AddPairInput, userId: number | null): Promise<AddPairResult> {
      const names = [input.pair, input.asset, input.symbol].filter((n): n is string => !!n);
      const { entry, snapshot } = await deps.catalogue.resolve(names[0]!);
      if (!entry) {
        throw new ValidationError(
          `Kraken lists no pair named "${names[0]!.slice(0, 40)}"${snapshot.stale ? ' (in the stored copy of its catalogue; Kraken is unreachable)' : ''}; GET /api/crypto/kraken_assets?q=... searches the catalogue`,
          { field: input.pair ? 'pair' : input.asset ? 'asset' : 'symbol' },
        );
      }
      for (const n of names.slice(1)) {
        const other = snapshot.catalogue.resolve(n);
        if (other?.key !== entry.key) throw new ValidationError(`"${names[0]}" and "${n}" name different pairs (${entry.altname} and ${other?.altname ?? 'none'})`);
      }
      const existing = await repo.pairByKey(entry.key);
      if (existing?.tracked) throw new ConflictError(`${entry.altname} is already tracked (id ${existing.id})`, 'already_tracked', { id: existing.id });
      const intervals = input.intervals ?? (existing?.intervals.length ? (existing.intervals as IntervalMinutes[]) : [60, 1440]);

      // Cost first: a far start is refused without confirm before anything is written.
      const wantBackfill = input.backfill !== false;
      const from = input.backfillFrom;
      if (from !== undefined && from >= nowSeconds()) throw new ValidationError('backfill_from: must be in the past');
      const estimate = wantBackfill ? await deps.backfill.estimate({ id: existing?.id ?? null, altname: entry.altname }, intervals, from) : null;
      if (estimate?.needsConfirmation && !input.confirm) throw new ConfirmationRequiredError(estimate);
      const pair = await repo.upsertPair(toPairInput(entry), { tracked: true, intervals, addedById: userId });
      deps.changed?.({ kind: 'pairs' });
      const backfill = estimate ? await deps.backfill.request(pair, { from, intervals, confirm: true, createdById: userId, estimate }) : null;
      deps.log.info({ pair: pair.altname, userId, backfillFrom: from, rows: backfill?.rows.map((r) => r.id) }, 'pair tracked');
      deps.onPairsChanged?.();
      return { pair, created: !existing, backfill };
    },

    /** Stops tracking; with purge, also deletes its candles and backfills. */
    async removePair(ref: number | string, opts: { purge?: boolean; userId?: number | null } = {}): Promise<{ pair: MarketPair; deletedCandles: number }> {
      const pair = await resolvePair(ref);
      const updated = await repo.setTracked(pair.id, false);
      await repo.cancelOpenBackfills(pair.id, 'the pair is no longer tracked');
      let deletedCandles = 0;
      if (opts.purge) {
        deletedCandles = await repo.deleteCandles(pair.id);
        deps.changed?.({ kind: 'candles', pairId: pair.id });
        await repo.deleteBackfills(pair.id);
      }
      deps.log.info({ pair: pair.altname, purge: !!opts.purge, deletedCandles, userId: opts.userId }, 'pair untracked');
      deps.onPairsChanged?.();
      return { pair: updated, deletedCandles };
    },

    history,

    /** The latest `limit` closed candles, newest first. */
    async latest(ref: number | string, intervalIn: number | string, limit = 14): Promise<{ pair: MarketPair; interval: IntervalMinutes; candles: StoredCandle[] }> {
      const interval = checkInterval(intervalIn);
      const pair = await resolvePair(ref);
      const candles = await repo.exactCandles(pair.id, interval, { to: openTime(interval), limit, order: 'desc' });
      return { pair, interval, candles };
    },

    /**
     * Closed candles as float64 for features and models, oldest first: [from, to) in Unix
     * seconds, or the newest `limit` of that range.
     */
    async getCandles(ref: number | string, intervalIn: number | string, from?: number, to?: number, opts: { limit?: number } = {}): Promise<Candle[]> {
      const interval = checkInterval(intervalIn);
      const pair = await resolvePair(ref);
      return repo.floatCandles(pair.id, interval, { from, to: Math.min(to ?? Infinity, openTime(interval)), limit: opts.limit });
    },

    /** Exact candles (decimal strings as stored), oldest first. */
    async getExactCandles(ref: number | string, intervalIn: number | string, from?: number, to?: number): Promise<StoredCandle[]> {
      const interval = checkInterval(intervalIn);
      const pair = await resolvePair(ref);
      return repo.exactCandles(pair.id, interval, { from, to: Math.min(to ?? Infinity, openTime(interval)), order: 'asc' });
    },

    async latestCandle(ref: number | string, intervalIn: number | string): Promise<StoredCandle | null> {
      const interval = checkInterval(intervalIn);
      const pair = await resolvePair(ref);
      return (await repo.exactCandles(pair.id, interval, { to: openTime(interval), limit: 1, order: 'desc' }))[0] ?? null;
    },

    /** Latest stored price and its 24 h change, without calling Kraken (hourly candles if stored, else daily). */
    /** latestPrice for many pairs at once, in two queries whatever their number (pages list pairs). */
    async latestPrices(pairs: readonly MarketPair[]): Promise<Map<number, LatestPrice | null>> {
      const ids = pairs.map((p) => p.id);
      const hourly = await repo.recentExactCandlesMany(ids, 60, openTime(60), 25);
      const needDaily = ids.filter((id) => (hourly.get(id)?.length ?? 0) === 0);
      const daily = await repo.recentExactCandlesMany(needDaily, 1440, openTime(1440), 2);
      const out = new Map<number, LatestPrice | null>();
      for (const p of pairs) {
        const h = hourly.get(p.id) ?? [];
        const t = h.length ? tickerFromRows(p, 60, h) : tickerFromRows(p, 1440, daily.get(p.id) ?? []);
        out.set(p.id, t ? { price: t.price, time: t.time, change24h: t.change24h, change24hPct: t.change24hPct, interval: t.interval } : null);
      }
      return out;
    },

    async latestPrice(ref: number | string): Promise<LatestPrice | null> {
      const pair = await resolvePair(ref);
      try {
        const t = await storedTicker(pair);
        return { price: t.price, time: t.time, change24h: t.change24h, change24hPct: t.change24hPct, interval: t.interval };
      } catch (err) {
        if (err instanceof AppError && err.status === 404) return null;
        throw err;
      }
    },

    /** Kraken's ticker, or the stored candles when Kraken cannot answer. */
    async ticker(ref: number | string): Promise<TickerInfo> {
      const pair = await resolvePair(ref);
      try {
        const t = await deps.kraken.ticker(pair.altname);
        const price = Number(t.lastTrade.price);
        const open = Number(t.open);
        // Kraken's ticker has no price of 24 h ago: the stored hourly close of then, else today's open (UTC)
        const then = openTime(60) - 86400 - 3600;
        const dayAgo = (await repo.exactCandles(pair.id, 60, { from: then, to: then + 1, limit: 1 }))[0];
        const base = dayAgo ? Number(dayAgo.close) : open;
        return {
          pair,
          source: 'kraken',
          price,
          priceExact: t.lastTrade.price,
          time: nowSeconds(),
          bid: Number(t.bid.price),
          ask: Number(t.ask.price),
          open,
          high24h: Number(t.high.last24h),
          low24h: Number(t.low.last24h),
          volume24h: Number(t.volume.last24h),
          vwap24h: Number(t.vwap.last24h),
          trades24h: t.trades.last24h,
          change24h: price - base,
          change24hPct: base > 0 ? ((price - base) / base) * 100 : null,
          changeBasis: dayAgo ? 'close 24h ago' : "today's open",
        };
      } catch (err) {
        deps.log.info({ pair: pair.altname, err: (err as Error).message }, 'kraken ticker unavailable; answering from stored candles');
        return storedTicker(pair, (err as Error).message);
      }
    },

    gaps,

    async anomalies(ref: number | string, intervalIn: number | string, q: { from?: number; to?: number; limit?: number } = {}) {
      const interval = checkInterval(intervalIn);
      const pair = await resolvePair(ref);
      const candles = await repo.anomalies(pair.id, interval, { from: q.from, to: q.to, limit: q.limit ?? 1000 });
      return { pair, interval, candles };
    },

    async ingestRuns(opts: { pairId?: number; limit?: number } = {}) {
      return repo.ingestRuns({ pairId: opts.pairId, limit: opts.limit ?? 50 });
    },

    async backfills(opts: { pairId?: number; limit?: number } = {}) {
      return repo.backfills({ pairId: opts.pairId, limit: opts.limit ?? 50 });
    },

    async backfillById(id: number) {
      const row = await repo.backfill(id);
      if (!row) throw new NotFoundError(`No backfill ${id}`);
      return row;
    },
  };
}

export type MarketService = ReturnType<typeof createMarketService>;
