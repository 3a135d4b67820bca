/**
 * Alert rules and the inbox, per user. Every read and write is scoped to the caller: another
 * user's rule or notification is "not found" (404), whoever asks, administrators included, so
 * ids reveal nothing. The rule's kind decides which fields it needs; health kinds are for
 * administrators.
 */
import type { AuthUser } from '../../http/auth-context.js';
import type { Clock } from '../../platform/clock.js';
import { ForbiddenError, NotFoundError, ValidationError, ConflictError } from '../../platform/errors.js';
import type { AlertsRepo, DeliveryRow, NotificationRow, PairFact, RuleInput, RuleRow } from './alerts.repo.js';
import type { Channel, CreateRuleInput, UpdateRuleInput } from './alerts.schemas.js';
import { DEFAULT_STALE_INTERVALS, isRuleKind, type RuleKind } from './evaluate.js';

export const MAX_RULES_PER_USER = 100;
export const DEFAULT_COOLDOWN_SECONDS = 3600;

export interface PublicRule {
  id: number;
  kind: string;
  pair: string | null;
  pair_id: number | null;
  interval: number | null;
  threshold: number | null;
  window_minutes: number | null;
  cooldown_seconds: number;
  channels: string[];
  enabled: boolean;
  note: string | null;
  /** whether the condition held at the last evaluation */
  active: boolean;
  last_fired_at: string | null;
  last_evaluated_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface PublicNotification {
  id: string;
  rule_id: number | null;
  event_key: string;
  title: string;
  body: string;
  data: unknown;
  created_at: string;
  read_at: string | null;
  read: boolean;
}

export interface PublicDelivery {
  id: string;
  notification_id: string;
  channel: string;
  endpoint_id: number | null;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toPublicDelivery(d: DeliveryRow): PublicDelivery {
  return {
    id: String(d.id),
    notification_id: String(d.notificationId),
    channel: d.channel,
    endpoint_id: d.endpointId,
    status: d.status,
    attempts: d.attempts,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    next_attempt_at: d.status === 'pending' || d.status === 'failed' ? iso(d.nextAttemptAt) : null,
    created_at: d.createdAt.toISOString(),
    delivered_at: iso(d.deliveredAt),
  };
}

export function toPublicNotification(n: NotificationRow): PublicNotification {
  return { id: String(n.id), rule_id: n.ruleId, event_key: n.eventKey, title: n.title, body: n.body, data: n.data ?? null, created_at: n.createdAt.toISOString(), read_at: iso(n.readAt), read: n.readAt !== null };
}

/** Which fields each kind takes, and their defaults. */
interface KindSpec {
  admin: boolean;
  pair: 'required' | 'optional';
  /** default interval when none is given; null: any interval */
  interval: number | null;
  threshold: 'required' | 'optional' | 'none';
  window: 'required' | 'optional' | 'none';
}

const KIND_SPECS: Record<RuleKind, KindSpec> = {
  price_above: { admin: false, pair: 'required', interval: 60, threshold: 'required', window: 'none' },
  price_below: { admin: false, pair: 'required', interval: 60, threshold: 'required', window: 'none' },
  move_pct: { admin: false, pair: 'required', interval: 60, threshold: 'required', window: 'required' },
  predicted_move_pct: { admin: false, pair: 'required', interval: null, threshold: 'required', window: 'none' },
  skill_below_naive: { admin: true, pair: 'required', interval: null, threshold: 'optional', window: 'optional' },
  stale_data: { admin: true, pair: 'required', interval: 60, threshold: 'optional', window: 'none' },
  anomaly: { admin: true, pair: 'optional', interval: null, threshold: 'none', window: 'none' },
};

export interface AlertsServiceDeps {
  repo: AlertsRepo;
  clock: Clock;
}

type Problem = { path: string; message: string };

export function createAlertsService(deps: AlertsServiceDeps) {
  const { repo, clock } = deps;

  async function pairNames(rows: RuleRow[]): Promise<Map<number, string>> {
    const ids = [...new Set(rows.map((r) => r.pairId).filter((v): v is number => v !== null))];
    const out = new Map<number, string>();
    for (const id of ids) {
      const p = await repo.pairById(id);
      if (p) out.set(id, p.altname);
    }
    return out;
  }

  function toPublic(r: RuleRow, names: Map<number, string>): PublicRule {
    return {
      id: r.id,
      kind: r.kind,
      pair: r.pairId === null ? null : (names.get(r.pairId) ?? null),
      pair_id: r.pairId,
      interval: r.interval,
      threshold: r.threshold,
      window_minutes: r.windowMinutes,
      cooldown_seconds: r.cooldownSeconds,
      channels: r.channels,
      enabled: r.enabled,
      note: r.note,
      active: r.active,
      last_fired_at: iso(r.lastFiredAt),
      last_evaluated_at: iso(r.lastEvaluatedAt),
      created_at: r.createdAt.toISOString(),
      updated_at: r.updatedAt.toISOString(),
    };
  }

  async function resolvePair(ref: number | string): Promise<PairFact> {
    const p = typeof ref === 'number' ? await repo.pairById(ref) : await repo.pairByName(ref);
    if (!p) throw new ValidationError(`pair: no pair "${String(ref).slice(0, 40)}" is stored`, [{ path: 'pair', message: 'is not a stored pair' }]);
    if (!p.tracked) throw new ValidationError(`pair: ${p.altname} is not tracked, so no data arrives for it`, [{ path: 'pair', message: 'is not tracked' }]);
    return p;
  }

  /** Checks the merged rule against its kind and fills defaults; throws one 422 naming every problem. */
  async function normalise(user: AuthUser, kind: RuleKind, v: { pair?: number | string | null; pairId?: number | null; interval?: number | null; threshold?: number | null; window_minutes?: number | null; cooldown_seconds?: number; channels?: Channel[] | string[]; enabled?: boolean; note?: string | null }): Promise<RuleInput> {
    const spec = KIND_SPECS[kind];
    if (spec.admin && user.role !== 'admin') throw new ForbiddenError(`Rules of kind ${kind} are for administrators`, 'admin_only_kind');
    const problems: Problem[] = [];
    let pair: PairFact | null = null;
    if (v.pair !== undefined && v.pair !== null) pair = await resolvePair(v.pair);
    else if (v.pair === undefined && v.pairId != null) pair = await repo.pairById(v.pairId);
    if (!pair && spec.pair === 'required') problems.push({ path: 'pair', message: `is required for ${kind}` });
    const interval = v.interval === undefined ? spec.interval : v.interval;
    if (interval === null && spec.interval !== null) problems.push({ path: 'interval', message: `is required for ${kind}` });
    if (pair && interval !== null && !pair.intervals.includes(interval)) problems.push({ path: 'interval', message: `${pair.altname} is not tracked at ${interval} minutes` });

    let threshold = v.threshold ?? null;
    if (spec.threshold === 'none' && threshold !== null) problems.push({ path: 'threshold', message: `is not used by ${kind}` });
    if (spec.threshold === 'required' && threshold === null) problems.push({ path: 'threshold', message: `is required for ${kind}` });
    if (threshold !== null) {
      if ((kind === 'price_above' || kind === 'price_below') && !(threshold > 0)) problems.push({ path: 'threshold', message: 'must be a price above 0' });
      if ((kind === 'move_pct' || kind === 'predicted_move_pct') && !(threshold > 0 && threshold <= 1000)) problems.push({ path: 'threshold', message: 'must be a percentage above 0 and at most 1000' });
      if (kind === 'skill_below_naive' && !(threshold >= -1000 && threshold <= 100)) problems.push({ path: 'threshold', message: 'must be a skill in percent from -1000 to 100' });
      if (kind === 'stale_data' && !(Number.isInteger(threshold) && threshold >= 1 && threshold <= 1000)) problems.push({ path: 'threshold', message: 'must be a whole number of intervals from 1 to 1000' });
    }
    if (kind === 'stale_data' && threshold === null) threshold = DEFAULT_STALE_INTERVALS;

    const window = v.window_minutes ?? null;
    if (spec.window === 'none' && window !== null) problems.push({ path: 'window_minutes', message: `is not used by ${kind}` });
    if (spec.window === 'required' && window === null) problems.push({ path: 'window_minutes', message: `is required for ${kind}` });
    if (kind === 'move_pct' && window !== null && interval !== null && (window < interval || window % interval !== 0)) {
      problems.push({ path: 'window_minutes', message: `must be a multiple of the interval (${interval} minutes)` });
    }
    if (problems.length) throw new ValidationError(problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
    return {
      kind,
      pairId: pair?.id ?? null,
      interval,
      threshold,
      windowMinutes: window,
      cooldownSeconds: v.cooldown_seconds ?? DEFAULT_COOLDOWN_SECONDS,
      channels: [...(v.channels ?? ['inbox'])],
      enabled: v.enabled ?? true,
      note: v.note ?? null,
    };
  }

  async function own(user: AuthUser, id: number): Promise<RuleRow> {
    const r = await repo.getRule(user.id, id);
    if (!r) throw new NotFoundError(`No alert rule ${id}`, 'rule_not_found');
    return r;
  }

  return {
    async listRules(user: AuthUser): Promise<PublicRule[]> {
      const rows = await repo.listRules(user.id);
      const names = await pairNames(rows);
      return rows.map((r) => toPublic(r, names));
    },
    async getRule(user: AuthUser, id: number): Promise<PublicRule> {
      const r = await own(user, id);
      return toPublic(r, await pairNames([r]));
    },
    async createRule(user: AuthUser, input: CreateRuleInput): Promise<PublicRule> {
      if ((await repo.countRules(user.id)) >= MAX_RULES_PER_USER) throw new ConflictError(`You already have ${MAX_RULES_PER_USER} alert rules; delete some first`, 'too_many_rules');
      const data = await normalise(user, input.kind, input);
      const r = await repo.createRule(user.id, data);
      return toPublic(r, await pairNames([r]));
    },
    async updateRule(user: AuthUser, id: number, patch: UpdateRuleInput): Promise<PublicRule> {
      const cur = await own(user, id);
      if (!isRuleKind(cur.kind)) throw new ValidationError(`rule ${id} has an unknown kind`);
      const data = await normalise(user, cur.kind, {
        pair: patch.pair,
        pairId: cur.pairId,
        interval: patch.interval === undefined ? cur.interval : patch.interval,
        threshold: patch.threshold === undefined ? cur.threshold : patch.threshold,
        window_minutes: patch.window_minutes === undefined ? cur.windowMinutes : patch.window_minutes,
        cooldown_seconds: patch.cooldown_seconds ?? cur.cooldownSeconds,
        channels: patch.channels ?? cur.channels,
        enabled: patch.enabled ?? cur.enabled,
        note: patch.note === undefined ? cur.note : patch.note,
      });
      // A new condition (or re-enabling) starts from a clean state: the next evaluation seeds it
      // from the data before it, so a level already crossed is no fresh crossing.
      const conditionChanged =
        data.pairId !== cur.pairId || data.interval !== cur.interval || data.threshold !== cur.threshold || data.windowMinutes !== cur.windowMinutes || (data.enabled && !cur.enabled);
      const r = await repo.updateRule(user.id, id, data, conditionChanged);
      if (!r) throw new NotFoundError(`No alert rule ${id}`, 'rule_not_found');
      return toPublic(r, await pairNames([r]));
    },
    async deleteRule(user: AuthUser, id: number): Promise<void> {
      if (!(await repo.deleteRule(user.id, id))) throw new NotFoundError(`No alert rule ${id}`, 'rule_not_found');
    },

    // ---------------------------------------------------------------- inbox
    async listNotifications(user: AuthUser, q: { unread?: boolean; limit: number; before?: bigint }): Promise<{ items: PublicNotification[]; unread: number; next_before: string | null }> {
      const [rows, unread] = await Promise.all([repo.listNotifications(user.id, q), repo.countUnread(user.id)]);
      return { items: rows.map(toPublicNotification), unread, next_before: rows.length === q.limit ? String(rows[rows.length - 1]!.id) : null };
    },
    async getNotification(user: AuthUser, id: bigint): Promise<PublicNotification & { deliveries: PublicDelivery[] }> {
      const n = await repo.getNotification(user.id, id);
      if (!n) throw new NotFoundError(`No notification ${id}`, 'notification_not_found');
      return { ...toPublicNotification(n), deliveries: (await repo.deliveriesOfNotification(n.id)).map(toPublicDelivery) };
    },
    unreadCount(user: AuthUser): Promise<number> {
      return repo.countUnread(user.id);
    },
    /** Marks one of the caller's notifications read; 404 for anyone else's. */
    async markRead(user: AuthUser, id: bigint): Promise<PublicNotification> {
      const n = await repo.getNotification(user.id, id);
      if (!n) throw new NotFoundError(`No notification ${id}`, 'notification_not_found');
      if (!n.readAt) await repo.markRead(user.id, [id], clock.now());
      return toPublicNotification((await repo.getNotification(user.id, id))!);
    },
    async markUnread(user: AuthUser, id: bigint): Promise<PublicNotification> {
      if ((await repo.markUnread(user.id, id)) === 0) throw new NotFoundError(`No notification ${id}`, 'notification_not_found');
      return toPublicNotification((await repo.getNotification(user.id, id))!);
    },
    /** Marks several (only the caller's count) or all read; returns how many changed and what is left unread. */
    async markManyRead(user: AuthUser, ids: bigint[] | 'all'): Promise<{ marked: number; unread: number }> {
      const marked = await repo.markRead(user.id, ids, clock.now());
      return { marked, unread: await repo.countUnread(user.id) };
    },
  };
}

export type AlertsService = ReturnType<typeof createAlertsService>;
