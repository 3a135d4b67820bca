/**
 * In-memory caches of the read path: pair names, the best run per pair and interval, loaded
 * models and the latest prediction. Each entry also expires after a TTL, a safety net for the
 * rare invalidation that never arrives (another instance's NOTIFY lost while our listening
 * connection was down); invalidation, not the TTL, is what keeps answers fresh.
 */

export class TtlCache<K, V> {
  private readonly map = new Map<K, { value: V; expires: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The cached value, or undefined on a miss (a cached null is a hit). */
  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    if (this.map.size >= this.maxEntries && !this.map.has(key)) {
      // evict the oldest insertion (Map keeps insertion order)
      const first = this.map.keys().next();
      if (!first.done) this.map.delete(first.value);
    }
    this.map.delete(key);
    this.map.set(key, { value, expires: this.now() + this.ttlMs });
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  deleteWhere(pred: (key: K, value: V) => boolean): void {
    for (const [k, e] of this.map) if (pred(k, e.value)) this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

/** The cache key of a pair and interval. */
export function seriesKey(pairId: number, interval: number): string {
  return `${pairId}:${interval}`;
}

/**
 * A value computed once per key at a time: concurrent callers share the same promise, so a burst
 * of cold reads makes one database round trip, not one per request.
 */
export class SingleFlight<K, V> {
  private readonly inflight = new Map<K, Promise<V>>();
  run(key: K, fn: () => Promise<V>): Promise<V> {
    const hit = this.inflight.get(key);
    if (hit) return hit;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}

/** Runs tasks one after another per key (predictions for one pair and interval never race). */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
  /** Resolves when every queued task has settled. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.allSettled([...this.tails.values()]);
  }
}
