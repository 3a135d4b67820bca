/**
 * The only file of the security module that touches Prisma: temporary access blocks
 * (access_blocks) and the failed-login counts read from the audit log. The audit log is the
 * one record of failed logins that every instance writes to, so reading it makes the burst
 * rules see attempts spread over several instances (docs/decisions/090).
 */
import type { PrismaClient } from '../../db/prisma.js';

/** access_blocks kind of the (non-blocking) marker for a failed-login burst against a username */
export const USER_LOGIN_ALERT = 'alert:user-login';

export interface BlockRow {
  id: number;
  kind: string;
  value: string;
  reason: string;
  createdAt: Date;
  until: Date;
}

export interface FailedLoginsByIp {
  ip: string;
  failures: number;
  usernames: number;
}

export interface FailedLoginsByUser {
  username: string;
  failures: number;
  ips: number;
}

export function createSecurityRepo(prisma: PrismaClient) {
  return {
    /** Blocks (and alert markers) still in force at `now`. */
    async activeBlocks(now: Date): Promise<BlockRow[]> {
      return prisma.accessBlock.findMany({ where: { until: { gt: now } }, orderBy: { createdAt: 'desc' }, take: 10_000 });
    },

    async recentBlocks(since: Date, limit: number): Promise<BlockRow[]> {
      return prisma.accessBlock.findMany({ where: { createdAt: { gt: since } }, orderBy: { createdAt: 'desc' }, take: limit });
    },

    /**
     * Inserts a block unless one for the same kind and value is still in force. Serialised per
     * (kind, value) with a transaction-scoped advisory lock, so instances that detect the same
     * burst at once create one row and raise one alert. Returns the new row, or null.
     */
    async claim(b: { kind: string; value: string; reason: string; now: Date; until: Date }): Promise<BlockRow | null> {
      return prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`candlecast:block:${b.kind}:${b.value}`}))`;
        const existing = await tx.accessBlock.findFirst({ where: { kind: b.kind, value: b.value, until: { gt: b.now } } });
        if (existing) return null;
        return tx.accessBlock.create({ data: { kind: b.kind, value: b.value, reason: b.reason, createdAt: b.now, until: b.until } });
      });
    },

    /** Ends a block now; false when there was no such block in force. */
    async lift(id: number, now: Date): Promise<BlockRow | null> {
      const row = await prisma.accessBlock.findUnique({ where: { id } });
      if (!row || row.until <= now) return null;
      return prisma.accessBlock.update({ where: { id }, data: { until: now } });
    },

    /**
     * Addresses with at least `min` failed logins since `since`, counting only failures after the
     * address's last block began: those before it were answered already (and an admin who lifts
     * a block does not see it come straight back).
     */
    async failedLoginsByIp(since: Date, min: number): Promise<FailedLoginsByIp[]> {
      return prisma.$queryRaw<FailedLoginsByIp[]>`
        SELECT a.ip, count(*)::int AS failures, count(DISTINCT a."actorUsername")::int AS usernames
        FROM audit_log a
        WHERE a.action = 'auth.login_failed' AND a.at > ${since} AND a.ip IS NOT NULL
          AND a.at > coalesce((SELECT max(b."createdAt") FROM access_blocks b WHERE b.kind = 'ip' AND b.value = a.ip), '-infinity')
        GROUP BY a.ip HAVING count(*) >= ${min}
        ORDER BY failures DESC LIMIT 1000`;
    },

    /** The same per username, after the username's last alert marker began. */
    async failedLoginsByUser(since: Date, min: number): Promise<FailedLoginsByUser[]> {
      return prisma.$queryRaw<FailedLoginsByUser[]>`
        SELECT a."actorUsername" AS username, count(*)::int AS failures, count(DISTINCT a.ip)::int AS ips
        FROM audit_log a
        WHERE a.action = 'auth.login_failed' AND a.at > ${since} AND a."actorUsername" IS NOT NULL
          AND a.at > coalesce((SELECT max(b."createdAt") FROM access_blocks b WHERE b.kind = ${USER_LOGIN_ALERT} AND b.value = a."actorUsername"), '-infinity')
        GROUP BY a."actorUsername" HAVING count(*) >= ${min}
        ORDER BY failures DESC LIMIT 1000`;
    },

    /** Old rows are kept a while for the security page, then removed. */
    async prune(before: Date): Promise<number> {
      const r = await prisma.accessBlock.deleteMany({ where: { until: { lt: before } } });
      return r.count;
    },
  };
}

export type SecurityRepo = ReturnType<typeof createSecurityRepo>;
