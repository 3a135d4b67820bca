/**
 * Cache invalidation across instances on the channel 'candlecast_cache' of the process's
 * NOTIFY bus (src/platform/notify-bus.ts). An instance that stores a prediction or changes a
 * best model NOTIFYs; every instance drops the named entries. When the bus's listening
 * connection is lost, everything cached is dropped on reconnect, because the messages sent
 * meanwhile are gone; the caches' TTL bounds staleness while it is down.
 */
import type { Logger } from '../../platform/log.js';
import type { NotifyBus } from '../../platform/notify-bus.js';
import { CACHE_CHANNEL } from './predictions.repo.js';

export interface CacheMessage {
  /** what changed: the best run (and so everything derived) or the latest prediction */
  kind: 'best' | 'prediction';
  pairId: number;
  interval: number;
}

interface Wire extends CacheMessage {
  /** the sending instance, so it ignores its own messages */
  from: string;
}

export interface CacheBus {
  /** tells the other instances (fire and forget: a lost message only costs the TTL) */
  publish(m: CacheMessage): void;
  readonly listening: boolean;
  stop(): void;
}

export interface CacheBusOptions {
  bus: NotifyBus;
  instanceId: string;
  log: Logger;
  /** a message from another instance */
  onMessage(m: CacheMessage): void;
  /** the listening connection was (re)established: drop everything, messages may have been missed */
  onResync(): void;
}

export function encodeCacheMessage(m: CacheMessage, from: string): string {
  return JSON.stringify({ kind: m.kind, pairId: m.pairId, interval: m.interval, from } satisfies Wire);
}

export function decodeCacheMessage(payload: string | undefined): Wire | null {
  if (!payload) return null;
  try {
    const o = JSON.parse(payload) as Partial<Wire>;
    if ((o.kind === 'best' || o.kind === 'prediction') && Number.isInteger(o.pairId) && Number.isInteger(o.interval) && typeof o.from === 'string') return o as Wire;
  } catch {
    // not ours
  }
  return null;
}

export function createCacheBus(o: CacheBusOptions): CacheBus {
  const log = o.log.child({ component: 'cache-bus' });
  const sub = o.bus.subscribe(CACHE_CHANNEL, {
    onMessage(payload) {
      const m = decodeCacheMessage(payload);
      if (!m || m.from === o.instanceId) return;
      o.onMessage({ kind: m.kind, pairId: m.pairId, interval: m.interval });
    },
    onResync: o.onResync,
  });
  return {
    publish(m) {
      sub.publish(encodeCacheMessage(m, o.instanceId)).catch((err: unknown) => log.warn({ err }, 'could not publish a cache invalidation'));
    },
    get listening() {
      return sub.listening;
    },
    stop() {
      sub.unsubscribe();
    },
  };
}
