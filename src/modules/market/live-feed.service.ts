/**
 * The live feed: Kraken's WebSocket v2 `ohlc` and `ticker` channels for every tracked pair,
 * on the scheduler leader only. In memory: the last price per pair and the forming candle per
 * pair and interval. A candle is stored the moment it closes, i.e. when the first update of a
 * later interval arrives, through the same CandleStore as every other source (so
 * `candles.stored` fires and predictions and alerts follow).
 *
 * REST stays the gap-filler: after every (re)connect the feed runs the REST ingest for each
 * tracked pair and interval (`ingestOne`), which stores whatever closed while the socket was
 * down. Both paths insert with ON CONFLICT DO NOTHING, so a candle both see is stored once.
 *
 * What is never stored from the socket: a forming candle held across a disconnect (updates may
 * have been missed; it is dropped and REST fills it), an update for an interval older than the
 * forming one (it can neither reopen nor change a stored candle), and an update older (by
 * Kraken's timestamp) than the one already held for the same interval.
 */
import type { ExactCandle } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import type { Metrics } from '../monitoring/index.js';
import type { CandleStore } from './candle-store.js';
import { intervalLabel } from './candle-store.js';
import type { IngestService } from './ingest.service.js';
import { KRAKEN_OHLC_INTERVALS } from './kraken/index.js';
import type { KrakenWsCandle, KrakenWsConnection, KrakenWsEvent, KrakenWsOptions, KrakenWsSubscriptions, KrakenWsTicker } from './kraken/kraken.ws.js';
import type { MarketRepo, PairRow } from './market.repo.js';

/** Kraken v2 names assets the common way: XBT/USD in AssetPairs' wsname is BTC/USD on v2. */
const V2_ASSETS: Record<string, string> = { XBT: 'BTC', XDG: 'DOGE' };

export function wsSymbol(pair: Pick<PairRow, 'wsname' | 'base' | 'quote'>): string | null {
  const name = pair.wsname;
  if (!name || !name.includes('/')) return null;
  return name
    .split('/')
    .map((a) => V2_ASSETS[a.toUpperCase()] ?? a.toUpperCase())
    .join('/');
}

export interface LivePrice {
  pair: string;
  last: string;
  bid: string;
  ask: string;
  change: string;
  changePct: string;
  /** when the feed received it */
  at: Date;
}

export interface FormingCandle extends ExactCandle {
  pair: string;
  interval: number;
  vwap: string;
}

export interface LiveFeedStatus {
  running: boolean;
  connected: boolean;
  pairs: string[];
  connections: number;
  reconnects: number;
  stored: number;
  ignored: number;
  garbage: number;
  lastMessageAt: Date | null;
}

export interface LiveFeedDeps {
  repo: MarketRepo;
  store: CandleStore;
  ingest: IngestService;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  connect(o: Pick<KrakenWsOptions, 'subscriptions' | 'onEvent'>): KrakenWsConnection;
}

interface Slot {
  pair: PairRow;
  interval: number;
  forming: KrakenWsCandle | null;
  /** newest open time known closed (stored by either path, or seen closing): never reopened */
  closedUpTo: number;
  chain: Promise<void>;
}

export function createLiveFeed(deps: LiveFeedDeps) {
  const log = deps.log.child({ component: 'kraken-ws' });
  const { metrics } = deps;
  let conn: KrakenWsConnection | undefined;
  let running = false;
  let connected = false;
  let bySymbol = new Map<string, PairRow>();
  let subs: KrakenWsSubscriptions = { ohlc: new Map(), ticker: [] };
  const slots = new Map<string, Slot>();
  const prices = new Map<string, LivePrice>();
  let healing: Promise<void> | undefined;
  let healAgain = false;
  const stats = { connections: 0, reconnects: 0, stored: 0, ignored: 0, garbage: 0, lastMessageAt: null as Date | null };
  const pending = new Set<Promise<void>>();

  const slotKey = (symbol: string, interval: number) => `${symbol}|${interval}`;

  async function loadPairs(): Promise<{ changed: boolean }> {
    const pairs = await deps.repo.trackedPairs();
    const next = new Map<string, PairRow>();
    const ohlc = new Map<number, string[]>();
    for (const p of pairs) {
      const symbol = wsSymbol(p);
      if (!symbol) {
        log.warn({ pair: p.altname }, 'pair has no WebSocket name; REST polling only');
        continue;
      }
      next.set(symbol, p);
      for (const i of p.intervals) {
        if (!KRAKEN_OHLC_INTERVALS.includes(i)) continue;
        ohlc.set(i, [...(ohlc.get(i) ?? []), symbol]);
      }
    }
    const signature = (s: KrakenWsSubscriptions) => JSON.stringify([[...s.ohlc.entries()].sort((a, b) => a[0] - b[0]), s.ticker]);
    const nextSubs = { ohlc, ticker: [...next.keys()] };
    const changed = signature(nextSubs) !== signature(subs);
    bySymbol = next;
    subs = nextSubs;
    // slots of pairs no longer tracked go; the others keep their state
    for (const [k, s] of slots) {
      const p = next.get(k.split('|')[0]!);
      if (!p || !p.intervals.includes(s.interval)) slots.delete(k);
      else s.pair = p;
    }
    return { changed };
  }

  function slotFor(symbol: string, interval: number): Slot | undefined {
    const pair = bySymbol.get(symbol);
    if (!pair || !pair.intervals.includes(interval)) return undefined;
    const k = slotKey(symbol, interval);
    let s = slots.get(k);
    if (!s) {
      s = { pair, interval, forming: null, closedUpTo: -Infinity, chain: Promise.resolve() };
      slots.set(k, s);
    }
    return s;
  }

  function track(p: Promise<void>): void {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }

  function storeClosed(s: Slot, c: KrakenWsCandle): void {
    const candle: ExactCandle = { time: c.intervalBegin, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, trades: c.trades };
    const closeAt = c.intervalBegin + s.interval * 60;
    s.chain = s.chain.then(async () => {
      try {
        const outcome = await deps.repo.transaction((tx) => deps.store.store(tx, s.pair, s.interval, 'kraken', [candle]));
        deps.store.published(outcome);
        await deps.store.reportLag(s.pair, s.interval);
        if (outcome.inserted > 0) {
          stats.stored += outcome.inserted;
          const lag = Math.max(0, deps.clock.now().getTime() / 1000 - closeAt);
          metrics.feedCloseToStored.observe({ interval: intervalLabel(s.interval) }, lag);
          log.debug({ pair: s.pair.altname, interval: s.interval, time: c.intervalBegin }, 'closed candle stored from the feed');
        }
      } catch (err) {
        // REST heals it at the next (re)connect or ingest run
        log.warn({ err, pair: s.pair.altname, interval: s.interval, time: c.intervalBegin }, 'storing a closed candle from the feed failed');
      }
    });
    track(s.chain);
  }

  /** Newer than what the slot holds for the same interval? Kraken's timestamp, then the trade count. */
  function isNewer(c: KrakenWsCandle, held: KrakenWsCandle): boolean {
    if (c.updatedAt !== null && held.updatedAt !== null && c.updatedAt !== held.updatedAt) return c.updatedAt > held.updatedAt;
    return c.trades >= held.trades;
  }

  function onCandle(c: KrakenWsCandle, kind: 'snapshot' | 'update'): void {
    const s = slotFor(c.symbol, c.interval);
    if (!s) return;
    const step = s.interval * 60;
    if (c.intervalBegin % step !== 0 || c.intervalBegin <= s.closedUpTo) {
      stats.ignored++;
      return;
    }
    // A snapshot may carry a candle whose interval already ended (no trades since): REST has it.
    const now = deps.clock.now().getTime() / 1000;
    if (kind === 'snapshot' && c.intervalBegin + step <= now) {
      stats.ignored++;
      return;
    }
    const f = s.forming;
    if (!f || c.intervalBegin > f.intervalBegin) {
      if (f) {
        s.closedUpTo = f.intervalBegin;
        storeClosed(s, f);
      }
      s.forming = c;
      return;
    }
    if (c.intervalBegin < f.intervalBegin || !isNewer(c, f)) {
      stats.ignored++;
      return;
    }
    s.forming = c;
  }

  function onTicker(t: KrakenWsTicker): void {
    const pair = bySymbol.get(t.symbol);
    if (!pair) return;
    prices.set(pair.altname, { pair: pair.altname, last: t.last, bid: t.bid, ask: t.ask, change: t.change, changePct: t.changePct, at: deps.clock.now() });
  }

  function heal(): Promise<void> {
    if (healing) {
      healAgain = true;
      return healing;
    }
    healing = (async () => {
      do {
        healAgain = false;
        for (const pair of bySymbol.values()) {
          for (const interval of pair.intervals.filter((i) => KRAKEN_OHLC_INTERVALS.includes(i))) {
            if (!running) return;
            const r = await deps.ingest.ingestOne(pair, interval);
            if (r.error) log.warn({ pair: pair.altname, interval, err: r.error }, 'healing from REST after a (re)connect failed; the ingest job retries');
            const s = slotFor(wsSymbol(pair)!, interval);
            if (s && r.upTo !== null && r.upTo > s.closedUpTo) s.closedUpTo = r.upTo;
            // the forming candle is newer than anything closed, unless REST just stored it
            if (s?.forming && s.forming.intervalBegin <= s.closedUpTo) s.forming = null;
          }
        }
      } while (healAgain && running);
    })()
      .catch((err: unknown) => log.warn({ err }, 'healing from REST failed'))
      .finally(() => {
        healing = undefined;
      });
    track(healing);
    return healing;
  }

  function onEvent(e: KrakenWsEvent): void {
    switch (e.type) {
      case 'open':
        stats.connections++;
        if (stats.connections > 1) {
          stats.reconnects++;
          metrics.feedReconnects.inc();
        }
        connected = true;
        metrics.feedConnected.set(1);
        log.info({ url: undefined, pairs: [...bySymbol.keys()] }, 'kraken websocket connected; healing the gap from REST');
        void heal();
        return;
      case 'closed':
        if (connected) log.warn({ reason: e.reason, retryInMs: e.willRetryInMs }, 'kraken websocket closed');
        connected = false;
        metrics.feedConnected.set(0);
        // updates may be missed while down: a forming candle is no longer known complete
        for (const s of slots.values()) s.forming = null;
        return;
      case 'message':
        stats.lastMessageAt = deps.clock.now();
        metrics.feedMessages.inc({ channel: e.channel });
        return;
      case 'ohlc':
        for (const c of e.candles) onCandle(c, e.kind);
        return;
      case 'ticker':
        for (const t of e.tickers) onTicker(t);
        return;
      case 'subscribed':
        return;
      case 'refused':
        log.warn({ error: e.error }, 'kraken websocket refused a subscription');
        return;
      case 'garbage':
        stats.garbage++;
        metrics.feedMessages.inc({ channel: 'garbage' });
        log.warn({ reason: e.reason }, 'kraken websocket: ignored a malformed message');
        return;
    }
  }

  return {
    /** connects (when any pair is tracked) and keeps the feed up until stop() */
    async start(): Promise<void> {
      if (running) return;
      running = true;
      await loadPairs();
      conn = deps.connect({ subscriptions: () => subs, onEvent });
      if (subs.ticker.length) conn.start();
      else log.info('no tracked pair has a WebSocket name yet; the feed connects once one is tracked');
    },

    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      await conn?.stop();
      conn = undefined;
      connected = false;
      metrics.feedConnected.set(0);
      for (const s of slots.values()) s.forming = null;
      await Promise.allSettled([...pending]);
    },

    /** re-reads the tracked pairs; subscribes again when they changed */
    async refresh(): Promise<void> {
      if (!running || !conn) return;
      const { changed } = await loadPairs();
      if (!changed) return;
      if (!subs.ticker.length) {
        await conn.stop();
        connected = false;
        metrics.feedConnected.set(0);
        return;
      }
      if (conn.isOpen()) conn.restart('tracked pairs changed');
      else conn.start();
    },

    livePrice: (altname: string): LivePrice | undefined => prices.get(altname),

    forming(altname: string, interval: number): FormingCandle | undefined {
      for (const [symbol, p] of bySymbol) {
        if (p.altname !== altname) continue;
        const f = slots.get(slotKey(symbol, interval))?.forming;
        if (!f) return undefined;
        return { pair: altname, interval, time: f.intervalBegin, open: f.open, high: f.high, low: f.low, close: f.close, volume: f.volume, trades: f.trades, vwap: f.vwap };
      }
      return undefined;
    },

    status(): LiveFeedStatus {
      return { running, connected, pairs: [...bySymbol.values()].map((p) => p.altname), ...stats };
    },

    /** resolves when the stores and heals started so far have finished (tests, shutdown) */
    async idle(): Promise<void> {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

export type LiveFeed = ReturnType<typeof createLiveFeed>;
