/**
 * The in-memory access rules, pure apart from the time they are given. Counters live per
 * instance (behind a load balancer each instance sees its share of the traffic; the limits are
 * per instance, docs/ops/several-instances.md); what they conclude is stored in the database.
 */

/** An API key seen from more than `maxIps` distinct addresses within `windowMs`. */
export class ApiKeySpread {
  private readonly seen = new Map<string, Map<string, number>>();
  constructor(private readonly opts: { windowMs: number; maxIps: number; maxKeys?: number }) {}

  /** Records a use; returns the number of distinct addresses when the limit is now exceeded. */
  observe(keyId: string, ip: string, now: number): number | null {
    let ips = this.seen.get(keyId);
    if (!ips) {
      if (this.seen.size >= (this.opts.maxKeys ?? 50_000)) this.evict(now);
      ips = new Map();
      this.seen.set(keyId, ips);
    }
    ips.set(ip, now);
    if (ips.size <= this.opts.maxIps) return null;
    for (const [addr, t] of ips) if (now - t > this.opts.windowMs) ips.delete(addr);
    // Bounded: an attacker rotating addresses cannot grow one key's set without limit.
    if (ips.size > this.opts.maxIps * 4) {
      const excess = ips.size - this.opts.maxIps * 4;
      let i = 0;
      for (const addr of ips.keys()) {
        if (i++ >= excess) break;
        ips.delete(addr);
      }
    }
    return ips.size > this.opts.maxIps ? ips.size : null;
  }

  forget(keyId: string): void {
    this.seen.delete(keyId);
  }

  private evict(now: number): void {
    for (const [k, ips] of this.seen) {
      let newest = 0;
      for (const t of ips.values()) newest = Math.max(newest, t);
      if (now - newest > this.opts.windowMs) this.seen.delete(k);
    }
    if (this.seen.size >= (this.opts.maxKeys ?? 50_000)) this.seen.clear();
  }
}

interface RateState {
  minute: number;
  count: number;
  /** exponentially weighted mean of past minutes' counts (minutes without requests count as 0) */
  baseline: number;
  minutesSeen: number;
  flaggedMinute: number;
}

export interface RateVerdict {
  count: number;
  baseline: number;
}

/**
 * A user's requests per minute against their own usual rate: an exponentially weighted moving
 * average over past minutes (alpha 0.1, so about the last ten minutes of activity weigh most).
 * Flagged when this minute's count exceeds `factor` x the baseline AND the absolute `floor`,
 * once per minute. A user with no history is judged by the floor alone.
 */
export class UserRate {
  private readonly state = new Map<number, RateState>();
  constructor(private readonly opts: { factor: number; floorPerMinute: number; alpha?: number; maxUsers?: number }) {}

  observe(userId: number, now: number): RateVerdict | null {
    const minute = Math.floor(now / 60_000);
    const alpha = this.opts.alpha ?? 0.1;
    let s = this.state.get(userId);
    if (!s) {
      if (this.state.size >= (this.opts.maxUsers ?? 100_000)) this.state.clear();
      s = { minute, count: 0, baseline: 0, minutesSeen: 0, flaggedMinute: -1 };
      this.state.set(userId, s);
    }
    if (minute !== s.minute) {
      // Close the finished minute, then decay over the idle minutes in between (capped).
      s.baseline = s.minutesSeen === 0 ? s.count : alpha * s.count + (1 - alpha) * s.baseline;
      s.minutesSeen++;
      const idle = Math.min(Math.max(0, minute - s.minute - 1), 120);
      for (let i = 0; i < idle; i++) s.baseline *= 1 - alpha;
      s.minute = minute;
      s.count = 0;
    }
    s.count++;
    if (s.flaggedMinute === minute) return null;
    const limit = Math.max(this.opts.floorPerMinute, this.opts.factor * s.baseline);
    if (s.count > limit) {
      s.flaggedMinute = minute;
      return { count: s.count, baseline: Math.round(s.baseline * 10) / 10 };
    }
    return null;
  }
}
