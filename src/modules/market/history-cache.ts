/**
 * Closed candles never change, so a history read can be answered from the bytes already sent
 * for the same question. Entries are the serialised body (JSON or CSV) with its strong ETag and
 * paging cursors, keyed by the pair as the client named it, the interval, the range with its end
 * clamped to the open time of the forming candle (so "up to now" is one bucket per interval and
 * moves on by itself when a candle closes), the limit, the cursor and the format. Whatever the
 * service would have answered, the entry holds: nothing newer than the forming candle is ever in
 * an answer, cached or not.
 *
 * Invalidation, not expiry: storing, importing or deleting candles of a pair and interval drops
 * its entries (and tells the other instances); a change to the pairs drops everything. A read that
 * missed keeps its result only if no invalidation happened while it read the database, so a read
 * racing a store never caches what the store replaced. While cross-instance invalidation cannot be
 * trusted (the listening connection is down), nothing is served from or kept in memory, and the
 * cache is emptied when it is back (messages sent meanwhile are lost). Bounded by bytes, LRU.
 */
import { createHash } from 'node:crypto';
import { ByteLru } from '../../platform/byte-lru.js';
import { INTERVALS } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';

export interface HistoryBody {
  pairId: number;
  interval: number;
  body: Buffer;
  /** strong validator of `body`, computed once */
  etag: string;
  contentType: string;
  disposition?: string;
  /** paging cursors; the Link header is built from them and the request's own URL */
  next?: string;
  prev?: string;
}

export interface HistoryRange {
  from?: number;
  /** exclusive end */
  to?: number;
  limit?: number;
  cursor?: string;
}

export interface HistoryCacheOptions {
  /** upper bound of the bytes held; 0 turns the cache off */
  maxBytes: number;
  clock: Clock;
  /** false while other instances' invalidations may be missed: read through to the database */
  trusted?: () => boolean;
}

/** What another instance (or this one) changed, as sent over the bus. */
export type HistoryChange = { kind: 'candles'; pairId: number; interval?: number } | { kind: 'pairs' };

export const HISTORY_CHANNEL = 'candlecast_history';

export function encodeHistoryChange(c: HistoryChange, from: string): string {
  return JSON.stringify({ ...c, from });
}

export function decodeHistoryChange(payload: string | undefined): { change: HistoryChange; from: string } | null {
  if (!payload) return null;
  try {
    const o = JSON.parse(payload) as { kind?: unknown; pairId?: unknown; interval?: unknown; from?: unknown };
    if (typeof o.from !== 'string') return null;
    if (o.kind === 'pairs') return { change: { kind: 'pairs' }, from: o.from };
    if (o.kind === 'candles' && Number.isInteger(o.pairId) && (o.interval === undefined || Number.isInteger(o.interval))) {
      return { change: { kind: 'candles', pairId: o.pairId as number, interval: o.interval as number | undefined }, from: o.from };
    }
  } catch {
    // not ours
  }
  return null;
}

/** Per-entry bookkeeping beyond the body (Map slots, key, strings), charged against the bound. */
const ENTRY_OVERHEAD = 512;

export function strongEtag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

export function createHistoryCache(o: HistoryCacheOptions) {
  const trusted = o.trusted ?? (() => true);
  const enabled = o.maxBytes > 0;
  const keysOf = new Map<string, Set<string>>();
  const slot = (pairId: number, interval: number) => `${pairId}:${interval}`;
  const unindex = (key: string, b: HistoryBody) => {
    const s = keysOf.get(slot(b.pairId, b.interval));
    s?.delete(key);
    if (s?.size === 0) keysOf.delete(slot(b.pairId, b.interval));
  };
  const lru = new ByteLru<string, HistoryBody>(
    Math.max(0, o.maxBytes),
    (key, b) => b.body.length + key.length * 2 + b.etag.length + (b.next?.length ?? 0) + (b.prev?.length ?? 0) + ENTRY_OVERHEAD,
    unindex,
  );
  // bumped by every invalidation: a read that started before one does not keep its result
  let generation = 0;
  let hits = 0;
  let misses = 0;

  function drop(pairId: number, interval: number): void {
    const s = keysOf.get(slot(pairId, interval));
    if (!s) return;
    for (const k of s) lru.delete(k);
    keysOf.delete(slot(pairId, interval));
  }

  return {
    /**
     * The answer to a history read: from memory, or from `load` (given the range with its end
     * clamped to the forming candle's open time), kept for next time.
     */
    async read(ref: string, interval: number, range: HistoryRange, variant: string, load: (range: HistoryRange) => Promise<HistoryBody>): Promise<HistoryBody> {
      const step = interval * 60;
      const closedTo = Math.floor(o.clock.now().getTime() / 1000 / step) * step;
      const clamped: HistoryRange = { ...range, to: Math.min(range.to ?? Infinity, closedTo) };
      if (!enabled || !trusted()) return load(clamped);
      const key = JSON.stringify([ref, interval, clamped.from ?? null, clamped.to, clamped.limit ?? null, clamped.cursor ?? null, variant]);
      const hit = lru.get(key);
      if (hit) {
        hits++;
        return hit;
      }
      misses++;
      const gen = generation;
      const b = await load(clamped);
      if (gen === generation && trusted() && !lru.has(key) && lru.set(key, b)) {
        const s = keysOf.get(slot(b.pairId, b.interval)) ?? new Set<string>();
        s.add(key);
        keysOf.set(slot(b.pairId, b.interval), s);
      }
      return b;
    },

    /** Candles of a pair (one interval, or all) changed: its entries go. */
    invalidate(change: HistoryChange): void {
      generation++;
      if (change.kind === 'pairs') {
        lru.clear();
        keysOf.clear();
        return;
      }
      for (const i of change.interval === undefined ? Object.values(INTERVALS) : [change.interval]) drop(change.pairId, i);
    },

    /** The listening connection was (re)established: messages may have been missed. */
    resync(): void {
      generation++;
      lru.clear();
      keysOf.clear();
    },

    stats() {
      return { enabled, entries: lru.count, bytes: lru.bytes, maxBytes: o.maxBytes, hits, misses };
    },
  };
}

export type HistoryCache = ReturnType<typeof createHistoryCache>;
