/**
 * What the credential check needs, kept in memory so an authenticated read costs no query:
 * per user id the identity and token version; per session (JWT jti) its revocation and user;
 * per API-key prefix the key's hash, scope, state and its user. Trusted only while this instance LISTENs on 'candlecast_auth' (the process's
 * notify bus): while the listening connection is down (not yet up, lost, reconnecting) every
 * lookup goes to the database and nothing is stored; on (re)connect everything is dropped.
 *
 * Every write that changes what a check would answer (password, role, username or e-mail,
 * deletion, logout everywhere, key revocation) calls `changed()` after it commits: the entries
 * go here at once, a NOTIFY tells the other instances, and the call waits (bounded) for its own
 * echo, so when the revocation answers, Postgres has already broadcast it. A lookup started
 * before an invalidation is not stored (the epoch check), so a read racing a revocation cannot
 * put the old state back. docs/decisions/113-auth-state-cache.md.
 */
import { randomBytes } from 'node:crypto';
import type { Role } from '../../http/auth-context.js';
import type { Logger } from '../../platform/log.js';
import type { NotifyBus, Subscription } from '../../platform/notify-bus.js';

export const AUTH_CHANNEL = 'candlecast_auth';
/** past this many entries a map is emptied rather than grown (a bound, not an LRU: refills are one query) */
const MAX_ENTRIES = 20_000;
const ECHO_WAIT_MS = 2000;

export interface CachedUser {
  id: number;
  username: string;
  email: string;
  role: Role;
  tokenVersion: number;
}

export interface CachedApiKey {
  id: string;
  hash: string;
  scope: 'read' | 'write';
  revokedAt: Date | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  user: CachedUser;
}

export interface CachedSession {
  id: string;
  userId: number;
  revokedAt: Date | null;
  user: CachedUser;
}

export interface AuthChange {
  userId?: number;
  apiKeyId?: string;
  /** one session (jti) revoked by a logout */
  sessionId?: string;
}

export interface AuthCache {
  /** true while cached state may be served */
  readonly trusted: boolean;
  user(id: number, load: () => Promise<CachedUser | null>): Promise<CachedUser | null>;
  apiKey(prefix: string, load: () => Promise<CachedApiKey | null>): Promise<CachedApiKey | null>;
  session(jti: string, load: () => Promise<CachedSession | null>): Promise<CachedSession | null>;
  /** after a committed change: drop here, tell every instance, wait for the broadcast */
  changed(c: AuthChange): Promise<void>;
  stop(): void;
}

/** Without a bus (CLI, tools): nothing is cached, every check reads the database. */
export const noAuthCache: AuthCache = {
  trusted: false,
  user: (_id, load) => load(),
  apiKey: (_p, load) => load(),
  session: (_j, load) => load(),
  changed: async () => undefined,
  stop: () => undefined,
};

export function createAuthCache(o: { bus: NotifyBus; log: Logger }): AuthCache {
  const users = new Map<number, CachedUser>();
  const keys = new Map<string, CachedApiKey>();
  const sessions = new Map<string, CachedSession>();
  const echoes = new Map<string, () => void>();
  let epoch = 0;

  function clear(): void {
    epoch++;
    users.clear();
    keys.clear();
    sessions.clear();
  }
  function drop(c: AuthChange): void {
    epoch++;
    if (c.userId !== undefined) users.delete(c.userId);
    for (const [prefix, k] of keys) if (k.id === c.apiKeyId || k.user.id === c.userId) keys.delete(prefix);
    if (c.sessionId !== undefined) sessions.delete(c.sessionId);
    if (c.userId !== undefined) for (const [id, x] of sessions) if (x.user.id === c.userId) sessions.delete(id);
  }

  const sub: Subscription = o.bus.subscribe(AUTH_CHANNEL, {
    onMessage(payload) {
      let m: { u?: unknown; k?: unknown; s?: unknown; n?: unknown };
      try {
        m = JSON.parse(payload) as typeof m;
      } catch {
        clear(); // not understood: drop everything rather than guess
        return;
      }
      drop({ userId: Number.isInteger(m.u) ? (m.u as number) : undefined, apiKeyId: typeof m.k === 'string' ? m.k : undefined, sessionId: typeof m.s === 'string' ? m.s : undefined });
      if (typeof m.n === 'string') echoes.get(m.n)?.();
    },
    onResync: clear,
    onDown: clear,
  });

  async function cached<K, V>(map: Map<K, V>, key: K, load: () => Promise<V | null>): Promise<V | null> {
    if (!sub.listening) return load();
    const hit = map.get(key);
    if (hit) return hit;
    const at = epoch;
    const v = await load();
    // stored only if nothing was invalidated meanwhile and the bus is still up
    if (v && at === epoch && sub.listening) {
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(key, v);
    }
    return v;
  }

  return {
    get trusted() {
      return sub.listening;
    },
    user: (id, load) => cached(users, id, load),
    apiKey: (prefix, load) => cached(keys, prefix, load),
    session: (jti, load) => cached(sessions, jti, load),
    async changed(c) {
      drop(c);
      const n = randomBytes(8).toString('hex');
      const echoed = sub.listening
        ? new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              echoes.delete(n);
              o.log.warn({ ...c }, 'no echo of an auth invalidation within 2 s; other instances may hear it late');
              resolve();
            }, ECHO_WAIT_MS);
            t.unref();
            echoes.set(n, () => {
              clearTimeout(t);
              echoes.delete(n);
              resolve();
            });
          })
        : Promise.resolve();
      try {
        await sub.publish(JSON.stringify({ u: c.userId, k: c.apiKeyId, s: c.sessionId, n }));
      } catch (err) {
        echoes.get(n)?.();
        o.log.error({ err, ...c }, 'could not publish an auth invalidation; other instances keep the old state until their LISTEN reconnects');
        return;
      }
      await echoed;
    },
    stop() {
      sub.unsubscribe();
      clear();
    },
  };
}
