/**
 * The only file of the alerts module that touches the database: rules, the inbox, webhook
 * endpoints, deliveries, preferences, settings, and the read-only facts rules are judged on.
 *
 * Facts (closes, newest candle times, live skill) are read here with plain read-only SQL on the
 * market and predictions tables rather than through those modules' services: evaluation needs a
 * few narrow, indexed reads inside its own transaction, and the market module's index did not
 * exist when alerts was built. They sit behind the `AlertFacts` interface (facts.ts), so the
 * wiring can hand in an implementation over the market/predictions services instead.
 */
import type { Prisma, PrismaClient } from '../../db/prisma.js';
import type { ClosePoint, RuleKind } from './evaluate.js';

export type Tx = Prisma.TransactionClient;

export interface RuleRow {
  id: number;
  userId: number;
  kind: string;
  pairId: number | null;
  interval: number | null;
  threshold: number | null;
  windowMinutes: number | null;
  cooldownSeconds: number;
  channels: string[];
  enabled: boolean;
  active: boolean;
  lastFiredAt: Date | null;
  lastEvaluatedAt: Date | null;
  note: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A rule locked for evaluation, with what fan-out needs about its owner and pair. */
export interface LockedRuleRow extends RuleRow {
  ownerRole: string;
  ownerEmail: string;
  pairAltname: string | null;
}

export interface RuleInput {
  kind: RuleKind;
  pairId: number | null;
  interval: number | null;
  threshold: number | null;
  windowMinutes: number | null;
  cooldownSeconds: number;
  channels: string[];
  enabled: boolean;
  note: string | null;
}

export interface NotificationRow {
  id: bigint;
  userId: number;
  ruleId: number | null;
  eventKey: string;
  title: string;
  body: string;
  data: unknown;
  createdAt: Date;
  readAt: Date | null;
}

export interface EndpointRow {
  id: number;
  userId: number;
  url: string;
  secretEnc: string;
  enabled: boolean;
  consecutiveFailures: number;
  disabledAt: Date | null;
  createdAt: Date;
}

export interface DeliveryRow {
  id: bigint;
  notificationId: bigint;
  channel: string;
  endpointId: number | null;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** A delivery claimed by the dispatcher, with everything needed to attempt it. */
export interface ClaimedDelivery extends DeliveryRow {
  userId: number;
  userEmail: string;
  ruleId: number | null;
  eventKey: string;
  title: string;
  body: string;
  data: unknown;
  notificationCreatedAt: Date;
  endpointUrl: string | null;
  endpointSecretEnc: string | null;
  endpointEnabled: boolean | null;
}

export interface PairFact {
  id: number;
  key: string;
  altname: string;
  wsname: string | null;
  tracked: boolean;
  intervals: number[];
}

export interface SkillFact {
  modelMae: number;
  naiveMae: number;
  samples: number;
  /** newest scored target time, Unix seconds */
  at: number;
}

export interface PreferencesRow {
  userId: number;
  defaultPair: string | null;
  defaultInterval: number | null;
  timeZone: string;
  watchlist: string[];
  updatedAt: Date;
}

export interface PreferencesPatch {
  defaultPair?: string | null;
  defaultInterval?: number | null;
  timeZone?: string;
  watchlist?: string[];
}

const RULE_COLUMNS = `r.id, r."userId", r.kind, r."pairId", r."interval", r.threshold, r."windowMinutes", r."cooldownSeconds",
  COALESCE(r.channels, ARRAY[]::text[]) AS channels, r.enabled, r.active, r."lastFiredAt", r."lastEvaluatedAt", r.note, r."createdAt", r."updatedAt"`;

export function createAlertsRepo(prisma: PrismaClient) {
  return {
    transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      return prisma.$transaction(fn, { timeout: 30_000, maxWait: 10_000 });
    },

    // ---------------------------------------------------------------- rules
    listRules(userId: number): Promise<RuleRow[]> {
      return prisma.alertRule.findMany({ where: { userId }, orderBy: { id: 'asc' } });
    },
    /** The rule if it belongs to `userId`; null otherwise (another user's rule is "not found"). */
    getRule(userId: number, id: number): Promise<RuleRow | null> {
      return prisma.alertRule.findFirst({ where: { id, userId } });
    },
    countRules(userId: number): Promise<number> {
      return prisma.alertRule.count({ where: { userId } });
    },
    createRule(userId: number, input: RuleInput): Promise<RuleRow> {
      return prisma.alertRule.create({ data: { userId, ...input } });
    },
    /** Updates only a rule of `userId`; `resetState` re-arms it (its condition changed). */
    async updateRule(userId: number, id: number, patch: Partial<RuleInput>, resetState: boolean): Promise<RuleRow | null> {
      const data: Prisma.AlertRuleUpdateManyMutationInput = { ...patch };
      if (resetState) Object.assign(data, { active: false, lastEvaluatedAt: null });
      const r = await prisma.alertRule.updateMany({ where: { id, userId }, data });
      return r.count === 0 ? null : prisma.alertRule.findFirst({ where: { id, userId } });
    },
    async deleteRule(userId: number, id: number): Promise<boolean> {
      return (await prisma.alertRule.deleteMany({ where: { id, userId } })).count > 0;
    },

    /**
     * Locks (FOR UPDATE, in id order) the enabled rules one event can trigger: those of `kinds`
     * on this pair (and interval, or any interval), plus any-pair rules of `anyPairKinds`.
     * Served by the (pairId, kind) index: no scan over every rule.
     */
    async lockRulesForPair(tx: Tx, q: { pairId: number; interval: number; kinds: readonly RuleKind[]; anyPairKinds?: readonly RuleKind[] }): Promise<LockedRuleRow[]> {
      const kinds = [...q.kinds];
      const anyKinds = [...(q.anyPairKinds ?? [])];
      return tx.$queryRawUnsafe<LockedRuleRow[]>(
        `SELECT ${RULE_COLUMNS}, u.role::text AS "ownerRole", u.email AS "ownerEmail", p.altname AS "pairAltname"
           FROM alert_rules r
           JOIN users u ON u.id = r."userId"
           LEFT JOIN pairs p ON p.id = r."pairId"
          WHERE r.enabled
            AND (r."interval" IS NULL OR r."interval" = $2)
            AND ((r."pairId" = $1 AND r.kind = ANY($3::text[])) OR (r."pairId" IS NULL AND r.kind = ANY($4::text[])))
          ORDER BY r.id
          FOR UPDATE OF r`,
        q.pairId,
        q.interval,
        kinds,
        anyKinds,
      );
    },
    /** Locks the enabled rules of one kind (stale_data: judged on a timer, see docs/alerts.md). */
    async lockRulesOfKind(tx: Tx, kind: RuleKind): Promise<LockedRuleRow[]> {
      return tx.$queryRawUnsafe<LockedRuleRow[]>(
        `SELECT ${RULE_COLUMNS}, u.role::text AS "ownerRole", u.email AS "ownerEmail", p.altname AS "pairAltname"
           FROM alert_rules r
           JOIN users u ON u.id = r."userId"
           LEFT JOIN pairs p ON p.id = r."pairId"
          WHERE r.enabled AND r.kind = $1
          ORDER BY r.id
          FOR UPDATE OF r`,
        kind,
      );
    },
    async saveRuleState(tx: Tx, id: number, s: { active: boolean; lastFiredAt?: Date; lastEvaluatedAt: Date }): Promise<void> {
      await tx.alertRule.update({
        where: { id },
        data: { active: s.active, lastEvaluatedAt: s.lastEvaluatedAt, ...(s.lastFiredAt ? { lastFiredAt: s.lastFiredAt } : {}) },
      });
    },

    // ---------------------------------------------------------------- inbox
    async adminIds(tx: Tx): Promise<number[]> {
      return (await tx.user.findMany({ where: { role: 'admin' }, select: { id: true } })).map((u) => u.id);
    },
    /** Inserts a notification unless (userId, eventKey) exists; returns its id, or null for a duplicate. */
    async insertNotification(
      tx: Tx,
      n: { userId: number; ruleId: number | null; eventKey: string; title: string; body: string; data: unknown; createdAt: Date; readAt: Date | null },
    ): Promise<bigint | null> {
      const rows = await tx.$queryRaw<{ id: bigint }[]>`
        INSERT INTO notifications ("userId", "ruleId", "eventKey", title, body, data, "createdAt", "readAt")
        VALUES (${n.userId}, ${n.ruleId}, ${n.eventKey}, ${n.title}, ${n.body}, ${JSON.stringify(n.data ?? null)}::jsonb, ${n.createdAt}, ${n.readAt})
        ON CONFLICT ("userId", "eventKey") DO NOTHING
        RETURNING id`;
      return rows[0]?.id ?? null;
    },
    listNotifications(userId: number, q: { unread?: boolean; limit: number; before?: bigint }): Promise<NotificationRow[]> {
      return prisma.notification.findMany({
        where: { userId, ...(q.unread ? { readAt: null } : {}), ...(q.before !== undefined ? { id: { lt: q.before } } : {}) },
        orderBy: { id: 'desc' },
        take: q.limit,
      });
    },
    getNotification(userId: number, id: bigint): Promise<NotificationRow | null> {
      return prisma.notification.findFirst({ where: { id, userId } });
    },
    countUnread(userId: number): Promise<number> {
      return prisma.notification.count({ where: { userId, readAt: null } });
    },
    /** Marks the given (or all) unread notifications of `userId` read; returns how many changed. */
    async markRead(userId: number, ids: bigint[] | 'all', at: Date): Promise<number> {
      const r = await prisma.notification.updateMany({ where: { userId, readAt: null, ...(ids === 'all' ? {} : { id: { in: ids } }) }, data: { readAt: at } });
      return r.count;
    },
    async markUnread(userId: number, id: bigint): Promise<number> {
      return (await prisma.notification.updateMany({ where: { userId, id }, data: { readAt: null } })).count;
    },
    deliveriesOfNotification(notificationId: bigint): Promise<DeliveryRow[]> {
      return prisma.delivery.findMany({ where: { notificationId }, orderBy: { id: 'asc' } });
    },

    // ---------------------------------------------------------------- webhook endpoints
    listEndpoints(userId: number): Promise<EndpointRow[]> {
      return prisma.webhookEndpoint.findMany({ where: { userId }, orderBy: { id: 'asc' } });
    },
    getEndpoint(userId: number, id: number): Promise<EndpointRow | null> {
      return prisma.webhookEndpoint.findFirst({ where: { id, userId } });
    },
    countEndpoints(userId: number): Promise<number> {
      return prisma.webhookEndpoint.count({ where: { userId } });
    },
    createEndpoint(userId: number, url: string, secretEnc: string): Promise<EndpointRow> {
      return prisma.webhookEndpoint.create({ data: { userId, url, secretEnc } });
    },
    async updateEndpoint(userId: number, id: number, patch: { url?: string; enabled?: boolean; secretEnc?: string }): Promise<EndpointRow | null> {
      const data: Prisma.WebhookEndpointUpdateManyMutationInput = { ...patch };
      // Turning an endpoint back on gives it a clean slate.
      if (patch.enabled === true) Object.assign(data, { consecutiveFailures: 0, disabledAt: null });
      if (patch.enabled === false) Object.assign(data, { disabledAt: new Date() });
      const r = await prisma.webhookEndpoint.updateMany({ where: { id, userId }, data });
      return r.count === 0 ? null : prisma.webhookEndpoint.findFirst({ where: { id, userId } });
    },
    async deleteEndpoint(userId: number, id: number): Promise<boolean> {
      return (await prisma.webhookEndpoint.deleteMany({ where: { id, userId } })).count > 0;
    },
    /** Ids of the enabled endpoints of these users (fan-out). */
    async enabledEndpoints(tx: Tx, userIds: number[]): Promise<{ id: number; userId: number }[]> {
      if (userIds.length === 0) return [];
      return tx.webhookEndpoint.findMany({ where: { userId: { in: userIds }, enabled: true }, select: { id: true, userId: true }, orderBy: { id: 'asc' } });
    },
    listDeliveriesOfEndpoint(userId: number, endpointId: number, limit: number): Promise<(DeliveryRow & { title: string; eventKey: string })[]> {
      return prisma.delivery
        .findMany({
          where: { endpointId, endpoint: { userId } },
          orderBy: { id: 'desc' },
          take: limit,
          include: { notification: { select: { title: true, eventKey: true } } },
        })
        .then((rows) => rows.map(({ notification, ...d }) => ({ ...d, title: notification.title, eventKey: notification.eventKey })));
    },
    /** Every sealed webhook secret, for key rotation. */
    allEndpointSecrets(): Promise<{ id: number; secretEnc: string }[]> {
      return prisma.webhookEndpoint.findMany({ select: { id: true, secretEnc: true }, orderBy: { id: 'asc' } });
    },
    /** Replaces a sealed secret only if it is still the one read (a concurrent rotation wins once). */
    async replaceEndpointSecret(id: number, from: string, to: string): Promise<boolean> {
      return (await prisma.webhookEndpoint.updateMany({ where: { id, secretEnc: from }, data: { secretEnc: to } })).count > 0;
    },

    // ---------------------------------------------------------------- deliveries
    async insertDeliveries(tx: Tx, rows: { notificationId: bigint; channel: 'webhook' | 'email'; endpointId: number | null; nextAttemptAt: Date }[]): Promise<void> {
      if (rows.length) await tx.delivery.createMany({ data: rows.map((r) => ({ ...r, status: 'pending' })) });
    },
    /**
     * Claims up to `limit` due deliveries for this process: their nextAttemptAt moves to the end
     * of a lease, so other instances (SKIP LOCKED) and later polls leave them alone; a process
     * that dies mid-attempt leaves them to be picked up again when the lease runs out.
     */
    async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
      const claimed = await prisma.$queryRaw<{ id: bigint }[]>`
        UPDATE deliveries SET "nextAttemptAt" = ${leaseUntil}
         WHERE id IN (SELECT id FROM deliveries
                       WHERE status IN ('pending', 'failed') AND "nextAttemptAt" <= ${now}
                       ORDER BY "nextAttemptAt", id
                       LIMIT ${limit}
                       FOR UPDATE SKIP LOCKED)
        RETURNING id`;
      if (claimed.length === 0) return [];
      return prisma.$queryRaw<ClaimedDelivery[]>`
        SELECT d.id, d."notificationId", d.channel, d."endpointId", d.status, d.attempts, d."lastStatusCode", d."lastError",
               d."nextAttemptAt", d."createdAt", d."deliveredAt",
               n."userId", u.email AS "userEmail", n."ruleId", n."eventKey", n.title, n.body, n.data, n."createdAt" AS "notificationCreatedAt",
               e.url AS "endpointUrl", e."secretEnc" AS "endpointSecretEnc", e.enabled AS "endpointEnabled"
          FROM deliveries d
          JOIN notifications n ON n.id = d."notificationId"
          JOIN users u ON u.id = n."userId"
          LEFT JOIN webhook_endpoints e ON e.id = d."endpointId"
         WHERE d.id = ANY(${claimed.map((c) => c.id)}::bigint[])
         ORDER BY d.id`;
    },
    /** The earliest time a delivery becomes due (to sleep until then), or null. */
    async nextDueAt(): Promise<Date | null> {
      const rows = await prisma.$queryRaw<{ at: Date | null }[]>`SELECT min("nextAttemptAt") AS at FROM deliveries WHERE status IN ('pending', 'failed')`;
      return rows[0]?.at ?? null;
    },
    async markDelivered(id: bigint, attempts: number, statusCode: number | null, at: Date): Promise<void> {
      await prisma.delivery.update({ where: { id }, data: { status: 'delivered', attempts, lastStatusCode: statusCode, lastError: null, deliveredAt: at, nextAttemptAt: null } });
    },
    /** A failed attempt: retry at `nextAttemptAt`, or give up when it is null. */
    async markAttemptFailed(id: bigint, attempts: number, statusCode: number | null, error: string, nextAttemptAt: Date | null): Promise<void> {
      await prisma.delivery.update({
        where: { id },
        data: { status: nextAttemptAt ? 'failed' : 'gave_up', attempts, lastStatusCode: statusCode, lastError: error.slice(0, 500), nextAttemptAt },
      });
    },
    /** Gives a claimed delivery back, due at `at` (an attempt cut short by shutdown). */
    async release(id: bigint, at: Date): Promise<void> {
      await prisma.delivery.updateMany({ where: { id, status: { in: ['pending', 'failed'] } }, data: { nextAttemptAt: at } });
    },
    async giveUp(id: bigint, error: string): Promise<void> {
      await prisma.delivery.update({ where: { id }, data: { status: 'gave_up', lastError: error.slice(0, 500), nextAttemptAt: null } });
    },
    async endpointSucceeded(endpointId: number): Promise<void> {
      await prisma.webhookEndpoint.updateMany({ where: { id: endpointId, consecutiveFailures: { gt: 0 } }, data: { consecutiveFailures: 0 } });
    },
    /**
     * Counts a failed attempt against the endpoint; at `disableAfter` in a row it is disabled and
     * its waiting deliveries are given up, in one transaction. Returns whether it was disabled now.
     */
    async endpointFailed(endpointId: number, disableAfter: number, now: Date): Promise<{ failures: number; disabled: boolean }> {
      return prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<{ consecutiveFailures: number; enabled: boolean }[]>`
          UPDATE webhook_endpoints SET "consecutiveFailures" = "consecutiveFailures" + 1
           WHERE id = ${endpointId} RETURNING "consecutiveFailures", enabled`;
        const row = rows[0];
        if (!row) return { failures: 0, disabled: false };
        if (!row.enabled || row.consecutiveFailures < disableAfter) return { failures: row.consecutiveFailures, disabled: false };
        await tx.webhookEndpoint.update({ where: { id: endpointId }, data: { enabled: false, disabledAt: now } });
        await tx.delivery.updateMany({
          where: { endpointId, status: { in: ['pending', 'failed'] } },
          data: { status: 'gave_up', lastError: `endpoint disabled after ${row.consecutiveFailures} failed attempts in a row`, nextAttemptAt: null },
        });
        return { failures: row.consecutiveFailures, disabled: true };
      });
    },

    // ---------------------------------------------------------------- settings
    async getSetting(key: string): Promise<unknown> {
      return (await prisma.appSetting.findUnique({ where: { key } }))?.value ?? undefined;
    },
    async putSetting(key: string, value: Prisma.InputJsonValue): Promise<void> {
      await prisma.appSetting.upsert({ where: { key }, create: { key, value }, update: { value } });
    },
    async deleteSetting(key: string): Promise<boolean> {
      return (await prisma.appSetting.deleteMany({ where: { key } })).count > 0;
    },
    /** Replaces a setting only if it still holds `from` (compare-and-set for key rotation). */
    async replaceSetting(key: string, from: Prisma.InputJsonValue, to: Prisma.InputJsonValue): Promise<boolean> {
      const n = await prisma.$executeRaw`UPDATE app_settings SET value = ${JSON.stringify(to)}::jsonb, "updatedAt" = now() WHERE key = ${key} AND value = ${JSON.stringify(from)}::jsonb`;
      return n > 0;
    },

    // ---------------------------------------------------------------- preferences
    getPreferences(userId: number): Promise<PreferencesRow | null> {
      return prisma.userPreference.findUnique({ where: { userId } });
    },
    upsertPreferences(userId: number, patch: PreferencesPatch): Promise<PreferencesRow> {
      return prisma.userPreference.upsert({ where: { userId }, create: { userId, ...patch }, update: patch });
    },

    // ---------------------------------------------------------------- facts (read-only)
    async pairById(id: number): Promise<PairFact | null> {
      return prisma.pair.findUnique({ where: { id }, select: { id: true, key: true, altname: true, wsname: true, tracked: true, intervals: true } });
    },
    /** A pair by Kraken key, altname or wsname, case-insensitively ("xbtusd", "XXBTZUSD", "XBT/USD"). */
    async pairByName(name: string): Promise<PairFact | null> {
      const rows = await prisma.$queryRaw<PairFact[]>`
        SELECT id, key, altname, wsname, tracked, intervals FROM pairs
         WHERE upper(altname) = upper(${name}) OR upper(key) = upper(${name}) OR upper(wsname) = upper(${name})
         ORDER BY tracked DESC, id LIMIT 1`;
      return rows[0] ?? null;
    },
    listPairs(): Promise<PairFact[]> {
      return prisma.pair.findMany({ select: { id: true, key: true, altname: true, wsname: true, tracked: true, intervals: true }, orderBy: { altname: 'asc' } });
    },
    /** Closes with open time in [from, to], oldest first, as float64. */
    closes(pairId: number, interval: number, from: number, to: number, tx: Tx | PrismaClient = prisma): Promise<ClosePoint[]> {
      return tx.$queryRaw<ClosePoint[]>`
        SELECT extract(epoch FROM time)::float8 AS time, close::float8 AS close FROM candles
         WHERE "pairId" = ${pairId} AND "interval" = ${interval}
           AND time >= to_timestamp(${from}::float8) AND time <= to_timestamp(${to}::float8)
         ORDER BY time`;
    },
    /** The newest close at or before `t`. */
    async closeAtOrBefore(pairId: number, interval: number, t: number, tx: Tx | PrismaClient = prisma): Promise<ClosePoint | null> {
      const rows = await tx.$queryRaw<ClosePoint[]>`
        SELECT extract(epoch FROM time)::float8 AS time, close::float8 AS close FROM candles
         WHERE "pairId" = ${pairId} AND "interval" = ${interval} AND time <= to_timestamp(${t}::float8)
         ORDER BY time DESC LIMIT 1`;
      return rows[0] ?? null;
    },
    /** Open time of the newest stored candle per pair (null when it has none). */
    async latestTimes(pairIds: number[], interval: number, tx: Tx | PrismaClient = prisma): Promise<Map<number, number | null>> {
      const out = new Map<number, number | null>(pairIds.map((id) => [id, null]));
      if (pairIds.length === 0) return out;
      // one index probe per pair (the candles primary key is (pairId, interval, time))
      const rows = await tx.$queryRaw<{ pairId: number; t: number | null }[]>`
        SELECT p.id AS "pairId",
               (SELECT extract(epoch FROM c.time)::float8 FROM candles c
                 WHERE c."pairId" = p.id AND c."interval" = ${interval} ORDER BY c.time DESC LIMIT 1) AS t
          FROM unnest(${pairIds}::int[]) AS p(id)`;
      for (const r of rows) out.set(Number(r.pairId), r.t === null ? null : Number(r.t));
      return out;
    },
    /**
     * Mean absolute error of the live model predictions scored since `since` against the naive
     * forecast's, over the newest `limit` of them. The naive baseline's own predictions are left
     * out: they are what the model is compared with.
     */
    async liveSkill(pairId: number, interval: number, since: number, limit: number): Promise<SkillFact | null> {
      const rows = await prisma.$queryRaw<{ modelMae: number | null; naiveMae: number | null; samples: number; at: number | null }[]>`
        SELECT avg("absError")::float8 AS "modelMae", avg("naiveAbsError")::float8 AS "naiveMae", count(*)::int AS samples,
               max(extract(epoch FROM "targetTime"))::float8 AS at
          FROM (SELECT "absError", "naiveAbsError", "targetTime" FROM predictions
                 WHERE "pairId" = ${pairId} AND "interval" = ${interval} AND kind = 'live' AND algorithm <> 'naive'
                   AND "scoredAt" IS NOT NULL AND "absError" IS NOT NULL AND "naiveAbsError" IS NOT NULL
                   AND "targetTime" >= to_timestamp(${since}::float8)
                 ORDER BY "targetTime" DESC LIMIT ${limit}) s`;
      const r = rows[0];
      if (!r || r.samples === 0 || r.modelMae === null || r.naiveMae === null || r.at === null) return null;
      return { modelMae: r.modelMae, naiveMae: r.naiveMae, samples: r.samples, at: r.at };
    },
  };
}

export type AlertsRepo = ReturnType<typeof createAlertsRepo>;
