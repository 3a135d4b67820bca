/**
 * Cache invalidation across instances with Postgres LISTEN/NOTIFY on the channel
 * 'candlecast_cache'. An instance that stores a prediction or changes a best model NOTIFYs
 * (through the repo, on the ordinary pool); every instance LISTENs on one dedicated connection
 * (a pooled one would lose the LISTEN when the pool recycles it) and drops the named entries.
 * When that connection is lost, everything cached is dropped on reconnect, because the
 * messages sent meanwhile are gone; the caches' TTL bounds staleness while it is down.
 */
import pg from 'pg';
import type { Logger } from '../../platform/log.js';
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
  start(): Promise<void>;
  stop(): Promise<void>;
  /** tells the other instances (fire and forget: a lost message only costs the TTL) */
  publish(m: CacheMessage): void;
  readonly listening: boolean;
}

export interface CacheBusOptions {
  connectionString: string;
  instanceId: string;
  log: Logger;
  send(payload: string): Promise<void>;
  /** a message from another instance */
  onMessage(m: CacheMessage): void;
  /** the listening connection was (re)established: drop everything, messages may have been missed */
  onResync(): void;
  retryMs?: number;
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
  const retryMs = o.retryMs ?? 5000;
  let client: pg.Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let listening = false;

  function schedule(): void {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
  }

  async function connect(): Promise<void> {
    if (stopped) return;
    const c = new pg.Client({ connectionString: o.connectionString, application_name: 'candlecast-cache-bus', keepAlive: true, connectionTimeoutMillis: 10_000 });
    const drop = (why: string, err?: unknown) => {
      if (client !== c) return;
      client = undefined;
      listening = false;
      c.end().catch(() => undefined);
      if (!stopped) {
        log.warn({ err, why }, 'cache invalidation connection lost; retrying');
        schedule();
      }
    };
    c.on('error', (err) => drop('error', err));
    c.on('end', () => drop('end'));
    c.on('notification', (n) => {
      if (n.channel !== CACHE_CHANNEL) return;
      const m = decodeCacheMessage(n.payload);
      if (!m || m.from === o.instanceId) return;
      o.onMessage({ kind: m.kind, pairId: m.pairId, interval: m.interval });
    });
    try {
      await c.connect();
      client = c;
      await c.query(`LISTEN ${CACHE_CHANNEL}`);
      if (stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      listening = true;
      o.onResync();
    } catch (err) {
      client = undefined;
      listening = false;
      await c.end().catch(() => undefined);
      if (!stopped) {
        log.warn({ err }, 'cache invalidation connection failed; retrying');
        schedule();
      }
    }
  }

  return {
    async start() {
      stopped = false;
      await connect();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      listening = false;
      const c = client;
      client = undefined;
      if (c) await c.end().catch(() => undefined);
    },
    publish(m) {
      o.send(encodeCacheMessage(m, o.instanceId)).catch((err: unknown) => log.warn({ err }, 'could not publish a cache invalidation'));
    },
    get listening() {
      return listening;
    },
  };
}
