/**
 * The audit log: who did what to whom, from where, in the database where admins can read it.
 * Writing an entry never fails the action it records (a failure is logged instead), except
 * where the caller awaits it to keep the order of events.
 */
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import type { AuditFilter, AuditRow, AuthRepo } from './auth.repo.js';

/** Actions written by the auth module (other modules may add their own, dotted the same way). */
export const AUDIT = {
  login: 'auth.login',
  loginFailed: 'auth.login_failed',
  lockout: 'auth.lockout',
  logout: 'auth.logout',
  signup: 'auth.signup',
  userCreated: 'auth.user_created',
  userUpdated: 'auth.user_updated',
  passwordChanged: 'auth.password_changed',
  roleChanged: 'auth.role_changed',
  userDeleted: 'auth.user_deleted',
  apiKeyCreated: 'auth.api_key_created',
  apiKeyRevoked: 'auth.api_key_revoked',
  adminBootstrap: 'auth.admin_bootstrap',
  privateBlocked: 'private.blocked',
} as const;

export interface AuditEntry {
  action: string;
  actor?: { id: number; username: string } | null;
  /** when there is no actor object (e.g. a failed login): the name that was tried */
  actorUsername?: string | null;
  target?: string | null;
  ip?: string | null;
  requestId?: string | null;
  success?: boolean;
  details?: Record<string, unknown>;
}

export interface AuditItem {
  id: string;
  at: string;
  action: string;
  actor_id: number | null;
  actor_username: string | null;
  target: string | null;
  ip: string | null;
  request_id: string | null;
  success: boolean;
  details: unknown;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  list(filter: AuditFilter): Promise<{ items: AuditItem[]; total: number; limit: number; offset: number }>;
}

const clip = (s: string | null | undefined, n: number) => (s == null ? s : s.length > n ? s.slice(0, n) : s);

export function createAuditLog(deps: { repo: AuthRepo; clock: Clock; log: Logger }): AuditLog {
  const { repo, clock, log } = deps;
  const toItem = (r: AuditRow): AuditItem => ({
    id: r.id.toString(),
    at: r.at.toISOString(),
    action: r.action,
    actor_id: r.actorId,
    actor_username: r.actorUsername,
    target: r.target,
    ip: r.ip,
    request_id: r.requestId,
    success: r.success,
    details: r.details ?? null,
  });
  return {
    async record(e) {
      try {
        await repo.insertAudit({
          at: clock.now(),
          action: e.action,
          actorId: e.actor?.id ?? null,
          actorUsername: clip(e.actor?.username ?? e.actorUsername ?? null, 128),
          target: clip(e.target ?? null, 256),
          ip: clip(e.ip ?? null, 64),
          requestId: clip(e.requestId ?? null, 64),
          success: e.success ?? true,
          details: e.details,
        });
      } catch (err) {
        log.error({ err, action: e.action }, 'could not write an audit log entry');
      }
    },
    async list(filter) {
      const { items, total } = await repo.listAudit(filter);
      return { items: items.map(toItem), total, limit: filter.limit, offset: filter.offset };
    },
  };
}

/**
 * Records refused private-route requests without letting a scan flood the table: at most one
 * entry per address per minute and `globalPerMinute` entries overall; the entry that does get
 * written says how many were left out before it.
 */
export function createBlockedAttemptRecorder(deps: { audit: AuditLog; clock: Clock; perAddressMs?: number; globalPerMinute?: number; maxTracked?: number }) {
  const perAddressMs = deps.perAddressMs ?? 60_000;
  const globalPerMinute = deps.globalPerMinute ?? 30;
  const maxTracked = deps.maxTracked ?? 10_000;
  const byIp = new Map<string, { last: number; suppressed: number }>();
  let windowStart = 0;
  let inWindow = 0;
  let suppressedGlobal = 0;

  return async function recordBlocked(a: { ip: string; method: string; path: string; reason: string; requestId?: string }): Promise<void> {
    const now = deps.clock.now().getTime();
    if (now - windowStart >= 60_000) {
      windowStart = now;
      inWindow = 0;
    }
    const seen = byIp.get(a.ip);
    if ((seen && now - seen.last < perAddressMs) || inWindow >= globalPerMinute) {
      if (seen) seen.suppressed++;
      else suppressedGlobal++;
      return;
    }
    if (byIp.size >= maxTracked) {
      // Forget the oldest addresses (Map keeps insertion order).
      for (const k of byIp.keys()) {
        byIp.delete(k);
        if (byIp.size < maxTracked / 2) break;
      }
    }
    const suppressed = (seen?.suppressed ?? 0) + suppressedGlobal;
    suppressedGlobal = 0;
    byIp.delete(a.ip);
    byIp.set(a.ip, { last: now, suppressed: 0 });
    inWindow++;
    await deps.audit.record({
      action: AUDIT.privateBlocked,
      ip: a.ip,
      requestId: a.requestId,
      target: `${a.method} ${a.path}`,
      success: false,
      details: { reason: a.reason, ...(suppressed ? { suppressedSinceLastEntry: suppressed } : {}) },
    });
  };
}
