/**
 * A least-recently-used map bounded by the bytes of what it holds, not by its number of
 * entries: one cached body can be 200 B or 2 MB. `size(value)` is charged once, when the value
 * is set; a value larger than the whole bound is not kept at all. Pure, no timers.
 */
export class ByteLru<K, V> {
  private readonly map = new Map<K, { value: V; bytes: number }>();
  private total = 0;

  constructor(
    readonly maxBytes: number,
    private readonly size: (key: K, value: V) => number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {}

  get bytes(): number {
    return this.total;
  }

  get count(): number {
    return this.map.size;
  }

  /** the value, now the most recently used */
  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** false when the value alone exceeds the bound (it is then not stored) */
  set(key: K, value: V): boolean {
    this.delete(key);
    const bytes = this.size(key, value);
    if (bytes > this.maxBytes) return false;
    this.map.set(key, { value, bytes });
    this.total += bytes;
    // Map iterates in insertion order, and get() re-inserts: the first key is the least recent
    while (this.total > this.maxBytes) {
      const oldest = this.map.keys().next().value as K;
      this.evict(oldest);
    }
    return true;
  }

  delete(key: K): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    this.total -= e.bytes;
    return true;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }

  private evict(key: K): void {
    const e = this.map.get(key)!;
    this.map.delete(key);
    this.total -= e.bytes;
    this.onEvict?.(key, e.value);
  }
}
