/**
 * Access-anomaly detection and temporary blocks. Three rules:
 *
 *  - failed-login burst per address (audit log, all instances): the address is blocked;
 *  - failed-login burst against one username: the admins are alerted, nobody is blocked (a block
 *    would let an attacker lock a person out; the login throttle already slows the guessing);
 *  - an API key used from more than N addresses, and a user's request rate far above their own
 *    usual rate (this instance's memory): the key, or the user, is blocked.
 *
 * Each anomaly is recorded once per subject while its block (or alert marker) lasts: a row in
 * access_blocks, an `anomaly.*` audit entry, an `access.anomaly` event (the alerts module
 * notifies admins from it), a warn log line and a metric. Blocks are answered with 429 and
 * Retry-After in the router's error format.
 */
import client from 'prom-client';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthUser } from '../../http/auth-context.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, NotFoundError } from '../../platform/errors.js';
import type { EventBus } from '../../platform/events.js';
import type { Logger } from '../../platform/log.js';
import type { NotifyBus, Subscription } from '../../platform/notify-bus.js';
import type { AuditLog } from '../auth/index.js';
import type { Metrics } from '../monitoring/index.js';
import { ApiKeySpread, UserRate } from './detectors.js';
import { USER_LOGIN_ALERT, type BlockRow, type SecurityRepo } from './security.repo.js';

export const ANOMALY = {
  loginBurstIp: 'anomaly.login_burst_ip',
  loginBurstUser: 'anomaly.login_burst_user',
  apiKeySpread: 'anomaly.api_key_many_ips',
  userRate: 'anomaly.request_rate',
  blockLifted: 'security.block_lifted',
} as const;

/** Kinds that refuse requests; any other kind is only an alert marker. */
export const BLOCKING_KINDS = ['ip', 'user', 'apikey'] as const;
export type BlockKind = (typeof BLOCKING_KINDS)[number];

export interface SecuritySettings {
  windowMs: number;
  loginFailuresPerIp: number;
  loginFailuresPerUser: number;
  apiKeyMaxIps: number;
  rateFactor: number;
  rateFloorPerMinute: number;
  blockMs: number;
  checkMs: number;
}

export interface PublicBlock {
  id: number;
  kind: string;
  value: string;
  reason: string;
  created_at: string;
  until: string;
  active: boolean;
  blocking: boolean;
}

export interface SecurityServiceDeps {
  repo: SecurityRepo;
  audit: AuditLog;
  events: EventBus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  settings: SecuritySettings;
  /** the process's LISTEN/NOTIFY bus: a block set or lifted here reaches every instance at once */
  notify?: NotifyBus;
}

export const BLOCKS_CHANNEL = 'candlecast_blocks';
const ECHO_WAIT_MS = 2000;

interface Raise {
  rule: string;
  kind: string;
  value: string;
  /** who or what, for people: an address, a username, "key 1a2b... of alice" */
  subject: string;
  detail: string;
  ip?: string;
  requestId?: string;
  actor?: { id: number; username: string } | null;
  details: Record<string, unknown>;
}

const blockKey = (kind: string, value: string) => `${kind}\u0000${value}`;

export function createSecurityService(deps: SecurityServiceDeps) {
  const { repo, audit, events, clock, log, settings } = deps;
  const anomalies = new client.Counter({
    name: 'candlecast_access_anomalies_total',
    help: 'Access anomalies detected by rule (failed-login bursts, API key spread, request rate)',
    labelNames: ['rule'] as const,
    registers: [deps.metrics.registry],
  });
  const blockedRequests = new client.Counter({
    name: 'candlecast_blocked_requests_total',
    help: 'Requests refused because their address, user or API key is blocked',
    labelNames: ['kind'] as const,
    registers: [deps.metrics.registry],
  });
  for (const rule of Object.values(ANOMALY)) if (rule.startsWith('anomaly.')) anomalies.inc({ rule }, 0);
  for (const kind of BLOCKING_KINDS) blockedRequests.inc({ kind }, 0);

  const keySpread = new ApiKeySpread({ windowMs: settings.windowMs, maxIps: settings.apiKeyMaxIps });
  const userRate = new UserRate({ factor: settings.rateFactor, floorPerMinute: settings.rateFloorPerMinute });
  let cache = new Map<string, BlockRow>();
  const pending = new Set<Promise<unknown>>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let soonTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  let sub: Subscription | undefined;
  const echoes = new Map<string, () => void>();

  /**
   * Tells every instance (this one included) about a block set or lifted, and waits (bounded)
   * for its own echo: when this returns, Postgres has broadcast it. Without a bus, or if the
   * NOTIFY fails, the other instances see it on their next sweep (ANOMALY_CHECK_MS).
   */
  async function broadcast(m: { set?: BlockRow; lift?: { kind: string; value: string } }): Promise<void> {
    if (!sub) return;
    const n = Math.random().toString(36).slice(2) + Date.now().toString(36);
    const listening = sub.listening;
    const echoed = new Promise<void>((resolve) => {
      if (!listening) return resolve();
      const t = setTimeout(() => (echoes.delete(n), resolve()), ECHO_WAIT_MS);
      t.unref();
      echoes.set(n, () => (clearTimeout(t), echoes.delete(n), resolve()));
    });
    try {
      await sub.publish(JSON.stringify({ ...m, n }));
    } catch (err) {
      echoes.get(n)?.();
      log.warn({ err }, 'could not publish a block change; other instances see it on their next sweep');
      return;
    }
    await echoed;
  }

  function onBlockMessage(payload: string): void {
    try {
      const m = JSON.parse(payload) as { set?: { id: number; kind: string; value: string; reason: string; createdAt: string; until: string }; lift?: { kind: string; value: string }; n?: string };
      if (m.set && (BLOCKING_KINDS as readonly string[]).includes(m.set.kind)) {
        cache.set(blockKey(m.set.kind, m.set.value), { ...m.set, createdAt: new Date(m.set.createdAt), until: new Date(m.set.until) });
      }
      if (m.lift) cache.delete(blockKey(m.lift.kind, m.lift.value));
      if (m.n) echoes.get(m.n)?.();
    } catch {
      track(refresh());
    }
  }

  function track(p: Promise<unknown>): void {
    const q = p.catch((err: unknown) => log.error({ err }, 'access anomaly handling failed')).finally(() => pending.delete(q));
    pending.add(q);
  }

  async function raise(a: Raise, block: boolean): Promise<boolean> {
    const now = clock.now();
    const row = await repo.claim({ kind: a.kind, value: a.value, reason: `${a.rule}: ${a.detail}`.slice(0, 500), now, until: new Date(now.getTime() + settings.blockMs) });
    if (!row) return false;
    if (block) {
      cache.set(blockKey(row.kind, row.value), row);
      await broadcast({ set: row });
    }
    anomalies.inc({ rule: a.rule });
    log.warn({ rule: a.rule, subject: a.subject, blocked: block, until: row.until.toISOString(), ...a.details }, `access anomaly: ${a.detail}`);
    await audit.record({
      action: a.rule,
      actor: a.actor ?? null,
      target: a.subject,
      ip: a.ip ?? null,
      requestId: a.requestId ?? null,
      success: false,
      details: { ...a.details, blocked: block, until: row.until.toISOString(), blockId: row.id },
    });
    events.emit('access.anomaly', { id: String(row.id), kind: a.rule, subject: a.subject, detail: block ? `${a.detail}; blocked until ${row.until.toISOString()}` : a.detail });
    return true;
  }

  async function refresh(): Promise<void> {
    const rows = await repo.activeBlocks(clock.now());
    const next = new Map<string, BlockRow>();
    for (const r of rows) if ((BLOCKING_KINDS as readonly string[]).includes(r.kind)) next.set(blockKey(r.kind, r.value), r);
    cache = next;
  }

  async function sweepLogins(): Promise<void> {
    const since = new Date(clock.now().getTime() - settings.windowMs);
    const minutes = Math.round(settings.windowMs / 60_000);
    for (const r of await repo.failedLoginsByIp(since, settings.loginFailuresPerIp)) {
      await raise(
        {
          rule: ANOMALY.loginBurstIp,
          kind: 'ip',
          value: r.ip,
          subject: r.ip,
          ip: r.ip,
          detail: `${r.failures} failed logins from ${r.ip} (${r.usernames} username${r.usernames === 1 ? '' : 's'}) within ${minutes} min`,
          details: { failures: r.failures, usernames: r.usernames, windowSeconds: settings.windowMs / 1000 },
        },
        true,
      );
    }
    for (const r of await repo.failedLoginsByUser(since, settings.loginFailuresPerUser)) {
      await raise(
        {
          rule: ANOMALY.loginBurstUser,
          kind: USER_LOGIN_ALERT,
          value: r.username,
          subject: r.username,
          actor: null,
          detail: `${r.failures} failed logins for "${r.username}" from ${r.ips} address${r.ips === 1 ? '' : 'es'} within ${minutes} min`,
          details: { failures: r.failures, addresses: r.ips, windowSeconds: settings.windowMs / 1000 },
        },
        false,
      );
    }
  }

  /** One pass: failed-login rules, then reload blocks set by any instance. */
  function sweep(): Promise<void> {
    sweeping ??= (async () => {
      try {
        await sweepLogins();
        await refresh();
      } finally {
        sweeping = undefined;
      }
    })();
    return sweeping;
  }

  function blockFor(ip: string | undefined, user: AuthUser | undefined): BlockRow | undefined {
    const now = clock.now().getTime();
    const candidates: [string, string | undefined][] = [
      ['ip', ip],
      ['user', user ? String(user.id) : undefined],
      ['apikey', user?.apiKeyId],
    ];
    for (const [kind, value] of candidates) {
      if (value === undefined) continue;
      const row = cache.get(blockKey(kind, value));
      if (row && row.until.getTime() > now) return row;
    }
    return undefined;
  }

  function refusal(row: BlockRow): AppError {
    const seconds = Math.max(1, Math.ceil((row.until.getTime() - clock.now().getTime()) / 1000));
    blockedRequests.inc({ kind: row.kind });
    const who = row.kind === 'ip' ? 'this address' : row.kind === 'apikey' ? 'this API key' : 'this account';
    return new AppError(429, 'access_blocked', `Access from ${who} is blocked for ${seconds} more second${seconds === 1 ? '' : 's'} after unusual activity; an administrator has been told`, {
      headers: { 'Retry-After': String(seconds) },
      details: { retryAfterSeconds: seconds, kind: row.kind },
    });
  }

  const toPublic = (r: BlockRow, now: Date): PublicBlock => ({
    id: r.id,
    kind: r.kind,
    value: r.value,
    reason: r.reason,
    created_at: r.createdAt.toISOString(),
    until: r.until.toISOString(),
    active: r.until > now,
    blocking: (BLOCKING_KINDS as readonly string[]).includes(r.kind),
  });

  return {
    settings,

    /** Before the body parsers: refuses a blocked address without reading its body. */
    ipGuard: function blockedAddressGuard(req: Request, _res: Response, next: NextFunction): void {
      const row = blockFor(req.ip, undefined);
      next(row ? refusal(row) : undefined);
    },

    /**
     * After authenticate: refuses a blocked user or key, then counts the request for the
     * in-memory rules. A failed login answered here makes the next login sweep run soon.
     */
    identityGuard: function accessGuard(req: Request, res: Response, next: NextFunction): void {
      const row = blockFor(req.ip, req.user);
      if (row) return next(refusal(row));
      const ip = req.ip ?? 'unknown';
      const user = req.user;
      if (user) {
        const now = clock.now().getTime();
        const requestId = req.id === undefined ? undefined : String(req.id);
        if (user.apiKeyId) {
          const ips = keySpread.observe(user.apiKeyId, ip, now);
          if (ips !== null) {
            const prefix = user.apiKeyId.slice(0, 8);
            track(
              raise(
                {
                  rule: ANOMALY.apiKeySpread,
                  kind: 'apikey',
                  value: user.apiKeyId,
                  subject: `API key ${prefix}… of ${user.username}`,
                  actor: { id: user.id, username: user.username },
                  ip,
                  requestId,
                  detail: `API key ${prefix}… of ${user.username} used from ${ips} addresses within ${Math.round(settings.windowMs / 60_000)} min`,
                  details: { apiKeyId: user.apiKeyId, addresses: ips, limit: settings.apiKeyMaxIps },
                },
                true,
              ).then((raised) => raised && keySpread.forget(user.apiKeyId!)),
            );
          }
        }
        const rate = userRate.observe(user.id, now);
        if (rate) {
          track(
            raise(
              {
                rule: ANOMALY.userRate,
                kind: 'user',
                value: String(user.id),
                subject: user.username,
                actor: { id: user.id, username: user.username },
                ip,
                requestId,
                detail: `${user.username} sent ${rate.count} requests this minute; usual is ${rate.baseline} a minute`,
                details: { count: rate.count, baselinePerMinute: rate.baseline, factor: settings.rateFactor, floor: settings.rateFloorPerMinute },
              },
              true,
            ),
          );
        }
      }
      if (req.method === 'POST' && /\/login$/.test(req.path)) {
        res.on('finish', () => {
          if (res.statusCode !== 401) return;
          soonTimer ??= setTimeout(() => {
            soonTimer = undefined;
            track(sweep());
          }, 50);
          soonTimer.unref();
        });
      }
      next();
    } as RequestHandler,

    sweep,

    async list(opts: { limit?: number; activeOnly?: boolean } = {}): Promise<PublicBlock[]> {
      const now = clock.now();
      const rows = opts.activeOnly ? await repo.activeBlocks(now) : await repo.recentBlocks(new Date(now.getTime() - 30 * 86_400_000), opts.limit ?? 200);
      return rows.map((r) => toPublic(r, now));
    },

    /** An admin ends a block (or an alert marker) early. */
    async lift(actor: AuthUser, id: number, meta: { ip?: string; requestId?: string } = {}): Promise<PublicBlock> {
      const now = clock.now();
      const row = await repo.lift(id, now);
      if (!row) throw new NotFoundError('No block with this id is in force');
      cache.delete(blockKey(row.kind, row.value));
      await broadcast({ lift: { kind: row.kind, value: row.value } });
      if (row.kind === 'apikey') keySpread.forget(row.value);
      await audit.record({ action: ANOMALY.blockLifted, actor: { id: actor.id, username: actor.username }, target: `${row.kind}:${row.value}`, ip: meta.ip, requestId: meta.requestId, details: { blockId: row.id, reason: row.reason } });
      return toPublic(row, now);
    },

    start(): void {
      if (sweepTimer) return;
      // a (re)established LISTEN may have missed messages: reload what is in force
      sub ??= deps.notify?.subscribe(BLOCKS_CHANNEL, { onMessage: onBlockMessage, onResync: () => track(refresh()) });
      track(sweep());
      sweepTimer = setInterval(() => track(sweep()), settings.checkMs);
      sweepTimer.unref();
    },

    async stop(): Promise<void> {
      if (sweepTimer) clearInterval(sweepTimer);
      if (soonTimer) clearTimeout(soonTimer);
      sweepTimer = undefined;
      soonTimer = undefined;
      sub?.unsubscribe();
      sub = undefined;
      while (pending.size) await Promise.allSettled([...pending]);
    },

    /** Waits for anomaly handling started by requests (tests, shutdown). */
    async settle(): Promise<void> {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

export type SecurityService = ReturnType<typeof createSecurityService>;
