/**
 * Token bucket that spaces calls to an upstream. Kraken's public endpoints allow roughly one
 * call a second sustained; going faster earns "EAPI:Rate limit exceeded" and, repeated, a
 * temporary ban, so every request of one client (retries included) takes a token first.
 */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PacerOptions {
  /** one token is added every minIntervalMs; 0 disables pacing */
  minIntervalMs: number;
  /** tokens that may be spent back to back after a quiet spell; default 1 (strict spacing) */
  burst?: number;
  /** monotonic milliseconds; default performance.now */
  now?: () => number;
  sleep?: Sleep;
}

export class Pacer {
  private readonly interval: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly sleep: Sleep;
  private tokens: number;
  private refilledAt: number;

  constructor(opts: PacerOptions) {
    if (!(opts.minIntervalMs >= 0)) throw new RangeError(`minIntervalMs must be >= 0, got ${opts.minIntervalMs}`);
    this.interval = opts.minIntervalMs;
    this.capacity = Math.max(1, opts.burst ?? 1);
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? realSleep;
    this.tokens = this.capacity;
    this.refilledAt = this.now();
  }

  /**
   * Waits for a token; resolves with the milliseconds waited. The reservation is made
   * synchronously (tokens may go negative), so concurrent callers queue up one interval
   * apart instead of all waking at once.
   */
  async take(): Promise<number> {
    if (this.interval === 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.refilledAt) / this.interval);
    this.refilledAt = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    const wait = Math.ceil(-this.tokens * this.interval);
    await this.sleep(wait);
    return wait;
  }
}
