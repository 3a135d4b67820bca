/**
 * The only file of the auth module that touches Prisma: users, API keys, the audit log and
 * the login throttle. Everything returned is a plain object; services never see Prisma types.
 */
import type { PrismaClient, Prisma } from '../../db/prisma.js';
import type { Role } from '../../http/auth-context.js';
import { ConflictError } from '../../platform/errors.js';

export interface UserRow {
  id: number;
  username: string;
  email: string;
  passwordHash: string;
  role: Role;
  tokenVersion: number;
  createdAt: Date;
  updatedAt: Date;
  lastLoginAt: Date | null;
}

export interface ApiKeyRow {
  id: string;
  userId: number;
  name: string;
  prefix: string;
  hash: string;
  scope: 'read' | 'write';
  createdAt: Date;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface SessionRow {
  id: string;
  userId: number;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditRow {
  id: bigint;
  at: Date;
  actorId: number | null;
  actorUsername: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  requestId: string | null;
  success: boolean;
  details: unknown;
}

export interface AuditInsert {
  at: Date;
  actorId?: number | null;
  actorUsername?: string | null;
  action: string;
  target?: string | null;
  ip?: string | null;
  requestId?: string | null;
  success?: boolean;
  details?: Record<string, unknown>;
}

export interface AuditFilter {
  action?: string;
  /** matches the actor's username or the target */
  user?: string;
  actorId?: number;
  success?: boolean;
  limit: number;
  offset: number;
}

export interface ThrottleRow {
  key: string;
  failures: number;
  lockouts: number;
  lockedUntil: Date | null;
  lastFailureAt: Date | null;
}

export interface ThrottlePolicy {
  maxFailures: number;
  /** failures older than this no longer count towards a lockout */
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
  /** a quiet period after which the growing lockout starts again from the base */
  decayMs: number;
}

/** Thrown inside the guarded transactions when the change would leave no administrator. */
export class LastAdminError extends ConflictError {
  constructor(message: string) {
    super(message, 'last_admin');
  }
}

export type AuthRepo = ReturnType<typeof createAuthRepo>;

export function createAuthRepo(prisma: PrismaClient) {
  return {
    // ---------------------------------------------------------------- users
    async findUserById(id: number): Promise<UserRow | null> {
      return prisma.user.findUnique({ where: { id } });
    },
    async findUserByUsername(username: string): Promise<UserRow | null> {
      return prisma.user.findUnique({ where: { username } });
    },
    async findUserByEmail(email: string): Promise<UserRow | null> {
      return prisma.user.findUnique({ where: { email } });
    },
    async createUser(data: { username: string; email: string; passwordHash: string; role: Role }): Promise<UserRow> {
      return prisma.user.create({ data });
    },
    async updateUser(id: number, data: { username?: string; email?: string; passwordHash?: string; bumpTokenVersion?: boolean }): Promise<UserRow> {
      const { bumpTokenVersion, ...rest } = data;
      return prisma.user.update({ where: { id }, data: { ...rest, ...(bumpTokenVersion ? { tokenVersion: { increment: 1 } } : {}) } });
    },
    async recordLogin(id: number, at: Date, newHash?: string): Promise<void> {
      await prisma.user.update({ where: { id }, data: { lastLoginAt: at, ...(newHash ? { passwordHash: newHash } : {}) } });
    },
    async listUsers(opts: { limit?: number; offset?: number } = {}): Promise<UserRow[]> {
      return prisma.user.findMany({ orderBy: { id: 'asc' }, take: opts.limit, skip: opts.offset });
    },
    async countUsers(): Promise<number> {
      return prisma.user.count();
    },
    async countAdmins(): Promise<number> {
      return prisma.user.count({ where: { role: 'admin' } });
    },
    /**
     * Changes a role and bumps the token version, refusing to demote the last admin. The admin
     * rows are locked first, so two admins demoting each other at once cannot both succeed.
     */
    async setRoleGuarded(id: number, role: Role): Promise<UserRow> {
      return prisma.$transaction(async (tx) => {
        const admins = await lockAdmins(tx);
        if (role !== 'admin' && admins.includes(id) && admins.length <= 1) {
          throw new LastAdminError('This is the last administrator: make another user an administrator first.');
        }
        return tx.user.update({ where: { id }, data: { role, tokenVersion: { increment: 1 } } });
      });
    },
    /** Deletes a user (and, by cascade, their keys and data), refusing to delete the last admin. */
    async deleteUserGuarded(id: number): Promise<UserRow> {
      return prisma.$transaction(async (tx) => {
        const admins = await lockAdmins(tx);
        if (admins.includes(id) && admins.length <= 1) {
          throw new LastAdminError('This is the last administrator and cannot be deleted: make another user an administrator first.');
        }
        return tx.user.delete({ where: { id } });
      });
    },
    async setPasswordAndRole(id: number, passwordHash: string, role: Role): Promise<UserRow> {
      return prisma.user.update({ where: { id }, data: { passwordHash, role, tokenVersion: { increment: 1 } } });
    },

    // ---------------------------------------------------------------- API keys
    async createApiKey(data: { userId: number; name: string; prefix: string; hash: string; scope: 'read' | 'write'; expiresAt: Date | null }): Promise<ApiKeyRow> {
      return prisma.apiKey.create({ data });
    },
    async listActiveApiKeys(userId: number, now: Date): Promise<ApiKeyRow[]> {
      return prisma.apiKey.findMany({
        where: { userId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        orderBy: { createdAt: 'desc' },
      });
    },
    async countActiveApiKeys(userId: number, now: Date): Promise<number> {
      return prisma.apiKey.count({ where: { userId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] } });
    },
    async findApiKeyById(id: string): Promise<ApiKeyRow | null> {
      return prisma.apiKey.findUnique({ where: { id } });
    },
    async findApiKeyWithUser(prefix: string): Promise<(ApiKeyRow & { user: UserRow }) | null> {
      return prisma.apiKey.findUnique({ where: { prefix }, include: { user: true } });
    },
    async revokeApiKey(id: string, at: Date): Promise<void> {
      await prisma.apiKey.update({ where: { id }, data: { revokedAt: at } });
    },
    async touchApiKey(id: string, at: Date, ip: string | null): Promise<void> {
      await prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at, lastUsedIp: ip } });
    },

    // ---------------------------------------------------------------- sessions (one per token)
    /** Records a new token's session and drops this user's sessions that expired before `prunedBefore`. */
    async createSession(data: { id: string; userId: number; expiresAt: Date; ip: string | null; userAgent: string | null }, prunedBefore: Date): Promise<void> {
      await prisma.$transaction([
        prisma.session.deleteMany({ where: { userId: data.userId, expiresAt: { lt: prunedBefore } } }),
        prisma.session.create({ data }),
      ]);
    },
    /** The session behind a token and its user, in one query (the per-request auth check). */
    async findSessionWithUser(id: string): Promise<(SessionRow & { user: UserRow }) | null> {
      return prisma.session.findUnique({ where: { id }, include: { user: true } });
    },
    /** Revokes one session; false when it did not exist or was already revoked. */
    async revokeSession(id: string, at: Date): Promise<boolean> {
      const r = await prisma.session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
      return r.count > 0;
    },
    async revokeUserSessions(userId: number, at: Date): Promise<number> {
      const r = await prisma.session.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: at } });
      return r.count;
    },

    // ---------------------------------------------------------------- audit log
    async insertAudit(e: AuditInsert): Promise<void> {
      await prisma.auditLog.create({
        data: {
          at: e.at,
          actorId: e.actorId ?? null,
          actorUsername: e.actorUsername ?? null,
          action: e.action,
          target: e.target ?? null,
          ip: e.ip ?? null,
          requestId: e.requestId ?? null,
          success: e.success ?? true,
          details: (e.details ?? undefined) as Prisma.InputJsonValue | undefined,
        },
      });
    },
    async listAudit(f: AuditFilter): Promise<{ items: AuditRow[]; total: number }> {
      const where: Prisma.AuditLogWhereInput = {
        ...(f.action ? { action: f.action } : {}),
        ...(f.actorId !== undefined ? { actorId: f.actorId } : {}),
        ...(f.success !== undefined ? { success: f.success } : {}),
        ...(f.user ? { OR: [{ actorUsername: f.user }, { target: f.user }] } : {}),
      };
      const [items, total] = await Promise.all([
        prisma.auditLog.findMany({ where, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: f.limit, skip: f.offset }),
        prisma.auditLog.count({ where }),
      ]);
      return { items, total };
    },

    // ---------------------------------------------------------------- login throttle
    async getThrottles(keys: string[]): Promise<ThrottleRow[]> {
      return prisma.loginThrottle.findMany({ where: { key: { in: keys } } });
    },
    /**
     * Counts one failure for `key` and, when it reaches the limit, starts a lockout that doubles
     * with each lockout in a row. Two statements, each atomic, so instances sharing the database
     * agree: the second only fires for the request that reached the limit (it resets the count).
     */
    async recordFailure(key: string, now: Date, p: ThrottlePolicy): Promise<ThrottleRow & { lockStarted: boolean }> {
      const windowStart = new Date(now.getTime() - p.windowMs);
      const decayStart = new Date(now.getTime() - p.decayMs);
      const counted = await prisma.$queryRaw<ThrottleRow[]>`
        INSERT INTO login_throttle (key, failures, lockouts, "lockedUntil", "lastFailureAt")
        VALUES (${key}, 1, 0, NULL, ${now})
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN login_throttle."lastFailureAt" IS NULL OR login_throttle."lastFailureAt" < ${windowStart}
                          THEN 1 ELSE login_throttle.failures + 1 END,
          lockouts = CASE WHEN login_throttle."lastFailureAt" IS NULL OR login_throttle."lastFailureAt" < ${decayStart}
                          THEN 0 ELSE login_throttle.lockouts END,
          "lastFailureAt" = ${now}
        RETURNING key, failures, lockouts, "lockedUntil", "lastFailureAt"`;
      const row = counted[0]!;
      if (row.failures < p.maxFailures) return { ...row, lockStarted: false };
      const locked = await prisma.$queryRaw<ThrottleRow[]>`
        UPDATE login_throttle SET
          failures = 0,
          lockouts = lockouts + 1,
          "lockedUntil" = ${now}::timestamptz + make_interval(secs => LEAST(${p.maxLockMs / 1000}::float8, ${p.baseLockMs / 1000}::float8 * power(2, lockouts)))
        WHERE key = ${key} AND failures >= ${p.maxFailures}
        RETURNING key, failures, lockouts, "lockedUntil", "lastFailureAt"`;
      return locked[0] ? { ...locked[0], lockStarted: true } : { ...row, lockStarted: false };
    },
    async clearThrottle(key: string): Promise<void> {
      await prisma.loginThrottle.deleteMany({ where: { key } });
    },
  };
}

async function lockAdmins(tx: Prisma.TransactionClient): Promise<number[]> {
  const rows = await tx.$queryRaw<{ id: number }[]>`SELECT id FROM users WHERE role = 'admin' FOR UPDATE`;
  return rows.map((r) => Number(r.id));
}
