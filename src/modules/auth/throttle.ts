/**
 * Login throttling shared by every instance through the login_throttle table. Two counters
 * per attempt: the username (stops guessing one account's password from many addresses) and
 * the client address (stops one address trying many accounts). Reaching the limit locks the
 * counter for 30 s, doubling with each lockout in a row up to an hour; a day without failures
 * starts again from 30 s. While locked, no password is checked at all.
 */
import { isIP } from 'node:net';
import { normalizeIp } from '../../http/private-boundary.js';
import type { AuthRepo, ThrottlePolicy } from './auth.repo.js';

export interface LoginThrottlePolicy {
  user: ThrottlePolicy;
  ip: ThrottlePolicy;
}

const MINUTE = 60_000;

export const DEFAULT_THROTTLE_POLICY: LoginThrottlePolicy = {
  user: { maxFailures: 5, windowMs: 15 * MINUTE, baseLockMs: 30_000, maxLockMs: 60 * MINUTE, decayMs: 24 * 60 * MINUTE },
  ip: { maxFailures: 20, windowMs: 15 * MINUTE, baseLockMs: 60_000, maxLockMs: 60 * MINUTE, decayMs: 24 * 60 * MINUTE },
};

export interface ThrottleKeys {
  user: string;
  ip: string;
}

/** The eight 16-bit groups of an IPv6 address, as numbers (null when it is not one). */
function ipv6Groups(ip: string): number[] | null {
  let addr = ip.split('%')[0]!;
  // A trailing dotted quad (e.g. 64:ff9b::192.0.2.1) is the last two groups.
  const quad = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    addr = `${addr.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail, extra] = addr.split('::');
  if (extra !== undefined) return null;
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  return groups.map((g) => parseInt(g, 16));
}

/**
 * The address a failure is counted against. An IPv6 client usually holds a whole /64 and could
 * otherwise move to a fresh address for every guess, so IPv6 is counted per /64.
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const addr = normalizeIp(ip);
  if (isIP(addr) !== 6) return addr;
  const g = ipv6Groups(addr);
  return g ? `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64` : addr;
}

export function throttleKeys(username: string, ip: string | undefined): ThrottleKeys {
  // Usernames are throttled whether or not they exist, so lockouts reveal nothing.
  return { user: `user:${username.slice(0, 128)}`, ip: `ip:${addressKey(ip)}` };
}

export interface LoginThrottle {
  /** seconds until the attempt may be made, or 0 when not locked */
  lockedFor(keys: ThrottleKeys, now: Date): Promise<number>;
  /** counts a failure; returns which counters started a lockout now, and for how long */
  fail(keys: ThrottleKeys, now: Date): Promise<{ locked: ('user' | 'ip')[]; retryAfterSeconds: number }>;
  /** a successful login forgives the username's failures (not the address's) */
  succeed(keys: ThrottleKeys): Promise<void>;
}

export function createLoginThrottle(repo: AuthRepo, policy: LoginThrottlePolicy = DEFAULT_THROTTLE_POLICY): LoginThrottle {
  return {
    async lockedFor(keys, now) {
      const rows = await repo.getThrottles([keys.user, keys.ip]);
      let until = 0;
      for (const r of rows) if (r.lockedUntil && r.lockedUntil.getTime() > now.getTime()) until = Math.max(until, r.lockedUntil.getTime());
      return until ? Math.max(1, Math.ceil((until - now.getTime()) / 1000)) : 0;
    },
    async fail(keys, now) {
      const [u, i] = await Promise.all([repo.recordFailure(keys.user, now, policy.user), repo.recordFailure(keys.ip, now, policy.ip)]);
      const locked: ('user' | 'ip')[] = [];
      let until = 0;
      for (const [name, row] of [['user', u], ['ip', i]] as const) {
        if (row.lockStarted && row.lockedUntil) {
          locked.push(name);
          until = Math.max(until, row.lockedUntil.getTime());
        }
      }
      return { locked, retryAfterSeconds: until ? Math.max(1, Math.ceil((until - now.getTime()) / 1000)) : 0 };
    },
    async succeed(keys) {
      // The address keeps its count: otherwise logging in to one's own account between
      // guesses would reset the per-address limit.
      await repo.clearThrottle(keys.user);
    },
  };
}
