/**
 * Accounts and access, as use cases: login, sign-up, the user's own account, user management
 * by admins, personal API keys, the audit log, the first admin. No Express, no Prisma: routes
 * parse input and pass typed values plus the caller (`AuthUser`) and request facts (`RequestMeta`).
 */
import { ConfigError } from '../../config.js';
import type { AuthUser, Role } from '../../http/auth-context.js';
import { assertOwnerOrAdmin } from '../../http/auth-context.js';
import type { Clock } from '../../platform/clock.js';
import { AppError, BadRequestError, ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError, UnauthorizedError, ValidationError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { apiKeyMatches, generateApiKey, parseApiKey } from './api-keys.js';
import type { AuditFilter, AuthRepo, UserRow, ApiKeyRow } from './auth.repo.js';
import { emailSchema, usernameSchema, type CreateApiKeyInput, type SignupInput, type UpdateMeInput } from './auth.schemas.js';
import { AUDIT, createBlockedAttemptRecorder, type AuditLog } from './audit.js';
import { noAuthCache, type AuthCache, type CachedApiKey, type CachedUser } from './auth-cache.js';
import { generatePassword, passwordProblem, type PasswordHasher } from './passwords.js';
import { throttleKeys, type LoginThrottle } from './throttle.js';
import type { IssuedToken, TokenService } from './tokens.js';

/** Facts about the request that the audit log and the throttle need. */
export interface RequestMeta {
  ip?: string;
  requestId?: string;
  /** the client's User-Agent (first 256 characters), kept with a new session */
  userAgent?: string;
}

/** A user as the API shows it (the original's {username, email, role} plus extras). */
export interface PublicUser {
  id: number;
  username: string;
  email: string;
  role: Role;
  created_at: string;
  last_login_at: string | null;
}

export interface PublicApiKey {
  id: string;
  name: string;
  prefix: string;
  scope: 'read' | 'write';
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}

/** Why a presented credential was not accepted; becomes the 401's message. */
export interface AuthFailure {
  code: string;
  message: string;
}

export type Resolved = { user: AuthUser } | { failure: AuthFailure };

export interface AuthServiceDeps {
  repo: AuthRepo;
  hasher: PasswordHasher;
  tokens: TokenService;
  throttle: LoginThrottle;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  config: {
    SIGNUP_MODE: 'open' | 'closed';
    ADMIN_USERNAME?: string;
    ADMIN_PASSWORD?: string;
    ADMIN_EMAIL?: string;
    isTest: boolean;
  };
  /** where the generated first-admin password is printed (a plain line, never the JSON log) */
  stderr?: { write(s: string): unknown };
  /** what the credential check needs, in memory (invalidated across instances); none: always the database */
  cache?: AuthCache;
}

/** An API key's last-used time is written at most this often. */
export const API_KEY_TOUCH_MS = 60_000;
export const MAX_API_KEYS_PER_USER = 25;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function toPublicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    role: u.role,
    created_at: u.createdAt.toISOString(),
    last_login_at: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
  };
}

function toPublicKey(k: ApiKeyRow): PublicApiKey {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scope: k.scope,
    created_at: k.createdAt.toISOString(),
    last_used_at: k.lastUsedAt ? k.lastUsedAt.toISOString() : null,
    expires_at: k.expiresAt ? k.expiresAt.toISOString() : null,
  };
}

function cachedUser(u: UserRow): CachedUser {
  return { id: u.id, username: u.username, email: u.email, role: u.role, tokenVersion: u.tokenVersion };
}

function toAuthUser(u: Pick<UserRow, 'id' | 'username' | 'email' | 'role'>, via: AuthUser['via'], scope: AuthUser['scope'] = 'write', apiKeyId?: string): AuthUser {
  return { id: u.id, username: u.username, email: u.email, role: u.role, via, scope, ...(apiKeyId ? { apiKeyId } : {}) };
}

function isUniqueViolation(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { code?: unknown }).code === 'P2002';
}

/**
 * Status for a taken username or e-mail. The original API answers 400 when the username is
 * taken on sign-up and on PUT users/me, and clients may rely on it, so those two keep 400;
 * everything else (e-mail taken, the new admin endpoint) is a 409. docs/decisions/030.
 */
function takenError(field: 'username' | 'email', legacy400: boolean): AppError {
  const message = field === 'username' ? 'This username is already taken' : 'An account with this e-mail address already exists';
  if (legacy400 && field === 'username') return new BadRequestError(message, { field }, 'duplicate');
  return new ConflictError(message, 'duplicate', { field });
}

function policyError(problem: string): ValidationError {
  return new ValidationError(problem, [{ path: 'password', message: problem }], 422);
}

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: AuthServiceDeps) {
  const { repo, hasher, tokens, throttle, audit, clock, log, config } = deps;
  const stderr = deps.stderr ?? process.stderr;
  const cache = deps.cache ?? noAuthCache;
  const recordBlocked = createBlockedAttemptRecorder({ audit, clock });

  async function checkAvailable(fields: { username?: string; email?: string }, legacy400: boolean, exceptId?: number): Promise<void> {
    if (fields.username) {
      const u = await repo.findUserByUsername(fields.username);
      if (u && u.id !== exceptId) throw takenError('username', legacy400);
    }
    if (fields.email) {
      const u = await repo.findUserByEmail(fields.email);
      if (u && u.id !== exceptId) throw takenError('email', legacy400);
    }
  }

  /** Runs a write that may hit a unique index another request filled in the meantime. */
  async function unique<T>(fields: { username?: string; email?: string }, legacy400: boolean, exceptId: number | undefined, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await checkAvailable(fields, legacy400, exceptId);
      throw takenError('username', legacy400);
    }
  }

  async function insertUser(input: { username: string; email: string; password: string; role: Role }, legacy400: boolean): Promise<UserRow> {
    const problem = passwordProblem(input.password, input);
    if (problem) throw policyError(problem);
    await checkAvailable(input, legacy400);
    const passwordHash = await hasher.hash(input.password);
    return unique(input, legacy400, undefined, () => repo.createUser({ username: input.username, email: input.email, passwordHash, role: input.role }));
  }

  async function findByUsernameOr404(username: string): Promise<UserRow> {
    const u = await repo.findUserByUsername(username);
    if (!u) throw new NotFoundError(`No user named ${JSON.stringify(username.slice(0, 64))}`, 'user_not_found');
    return u;
  }

  /** Issues a token and records its session: a token is accepted only while its session lives. */
  async function openSession(user: { id: number; role: Role; tokenVersion: number }, meta: RequestMeta): Promise<IssuedToken> {
    const t = tokens.issue(user);
    // Sessions expire on the wall clock like their tokens (not the app clock): prune by the token's own issue time.
    const issuedAt = new Date(t.expiresAt.getTime() - t.expiresIn * 1000);
    await repo.createSession({ id: t.jti, userId: user.id, expiresAt: t.expiresAt, ip: meta.ip ?? null, userAgent: meta.userAgent ?? null }, issuedAt);
    return t;
  }

  const service = {
    audit,

    /** A new token (and session) for a user, e.g. for tools that act on a user's behalf. */
    issueToken(user: { id: number; role: Role; tokenVersion: number }, meta: RequestMeta = {}): Promise<IssuedToken> {
      return openSession(user, meta);
    },

    /**
     * Checks a username and password. Unknown users cost the same argon2 work as known ones
     * and get the same answer; both count towards the per-username and per-address lockouts.
     */
    async login(input: { username: string; password: string }, meta: RequestMeta = {}): Promise<IssuedToken & { user: PublicUser }> {
      const username = input.username.trim().toLowerCase();
      const keys = throttleKeys(username, meta.ip);
      const lockedFor = await throttle.lockedFor(keys, clock.now());
      if (lockedFor > 0) {
        throw new TooManyRequestsError(`Too many failed logins. Try again in ${lockedFor} second${lockedFor === 1 ? '' : 's'}.`, lockedFor);
      }
      const user = await repo.findUserByUsername(username);
      const ok = user ? await hasher.verify(user.passwordHash, input.password) : await hasher.verifyDummy(input.password);
      if (!user || !ok) {
        const now = clock.now();
        const r = await throttle.fail(keys, now);
        await audit.record({ action: AUDIT.loginFailed, actorUsername: username, ip: meta.ip, requestId: meta.requestId, success: false, details: { reason: user ? 'wrong_password' : 'unknown_user' } });
        if (r.locked.length) {
          await audit.record({ action: AUDIT.lockout, actorUsername: username, ip: meta.ip, requestId: meta.requestId, success: false, details: { counters: r.locked, seconds: r.retryAfterSeconds } });
        }
        throw new UnauthorizedError('Incorrect username or password', 'invalid_credentials');
      }
      await throttle.succeed(keys);
      const newHash = hasher.needsRehash(user.passwordHash) ? await hasher.hash(input.password) : undefined;
      await repo.recordLogin(user.id, clock.now(), newHash);
      await audit.record({ action: AUDIT.login, actor: user, ip: meta.ip, requestId: meta.requestId });
      const fresh = { ...user, lastLoginAt: clock.now() };
      return { ...(await openSession(user, meta)), user: toPublicUser(fresh) };
    },

    /**
     * The identity behind a verified JWT, the one place that decides whether a token still counts:
     * its session (jti) must exist, belong to the token's user and not be revoked, and the user
     * must still have the token's version (password/role change, "log out everywhere"). From the
     * auth state cache while it is trusted (auth-cache.ts), else from the database.
     */
    async resolveToken(claims: { userId: number; ver: number; jti: string }, via: 'bearer' | 'cookie'): Promise<Resolved> {
      const session = await cache.session(claims.jti, async () => {
        const x = await repo.findSessionWithUser(claims.jti);
        return x && { id: x.id, userId: x.userId, revokedAt: x.revokedAt, user: cachedUser(x.user) };
      });
      const user = session?.user;
      if (!session || session.revokedAt || session.userId !== claims.userId || !user || user.tokenVersion !== claims.ver) {
        return { failure: { code: 'token_revoked', message: 'This token is no longer valid; log in again' } };
      }
      return { user: { ...toAuthUser(user, via), sessionId: session.id } };
    },

    /** The identity behind a personal API key. */
    async resolveApiKey(key: string, meta: RequestMeta = {}): Promise<Resolved> {
      const invalid = { failure: { code: 'invalid_api_key', message: 'The API key is not valid' } };
      const parsed = parseApiKey(key);
      if (!parsed) return invalid;
      const row = await cache.apiKey(parsed.prefix, async (): Promise<CachedApiKey | null> => {
        const k = await repo.findApiKeyWithUser(parsed.prefix);
        return k && { id: k.id, hash: k.hash, scope: k.scope, revokedAt: k.revokedAt, expiresAt: k.expiresAt, lastUsedAt: k.lastUsedAt, user: cachedUser(k.user) };
      });
      if (!row || !apiKeyMatches(key, row.hash)) return invalid;
      const now = clock.now();
      if (row.revokedAt) return { failure: { code: 'api_key_revoked', message: 'This API key has been revoked' } };
      if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return { failure: { code: 'api_key_expired', message: 'This API key has expired' } };
      if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= API_KEY_TOUCH_MS) {
        await repo.touchApiKey(row.id, now, meta.ip ?? null);
        // the cached entry too, so the next minute's requests do not write again
        row.lastUsedAt = now;
      }
      return { user: toAuthUser(row.user, 'apikey', row.scope, row.id) };
    },

    /**
     * POST /auth/signup. With an admin as the caller it creates a user with any role; with no
     * caller it is self-service sign-up (role user) when SIGNUP_MODE=open; otherwise refused.
     */
    async signup(actor: AuthUser | undefined, input: SignupInput, meta: RequestMeta = {}): Promise<PublicUser> {
      if (actor && actor.role !== 'admin') throw new ForbiddenError('Only administrators can create accounts', 'admin_only');
      if (!actor) {
        if (config.SIGNUP_MODE !== 'open') throw new ForbiddenError('Sign-up is closed: ask an administrator for an account', 'signup_closed');
        if (input.role === 'admin') throw new ForbiddenError('Only administrators can create administrators', 'admin_only');
      }
      const role = actor ? (input.role ?? 'user') : 'user';
      const user = await insertUser({ ...input, role }, true);
      await audit.record({
        action: actor ? AUDIT.userCreated : AUDIT.signup,
        actor: actor ?? user,
        target: user.username,
        ip: meta.ip,
        requestId: meta.requestId,
        details: { role },
      });
      return toPublicUser(user);
    },

    /** POST /auth/users (admin): the new API's create, where any duplicate is a 409. */
    async createUser(actor: AuthUser, input: SignupInput, meta: RequestMeta = {}): Promise<PublicUser> {
      if (actor.role !== 'admin') throw new ForbiddenError('Administrators only');
      const role = input.role ?? 'user';
      const user = await insertUser({ ...input, role }, false);
      await audit.record({ action: AUDIT.userCreated, actor, target: user.username, ip: meta.ip, requestId: meta.requestId, details: { role } });
      return toPublicUser(user);
    },

    async me(actor: AuthUser): Promise<PublicUser> {
      const u = await repo.findUserById(actor.id);
      if (!u) throw new UnauthorizedError('This account no longer exists', 'token_revoked');
      return toPublicUser(u);
    },

    /**
     * PUT /auth/users/me: username, e-mail, and a new password only together with the current
     * one. Never the role. A new password ends every older token, so a fresh one is returned.
     */
    async updateMe(actor: AuthUser, input: UpdateMeInput, meta: RequestMeta = {}): Promise<{ user: PublicUser; session?: IssuedToken }> {
      if (input.role !== undefined) throw new ForbiddenError('You cannot change your own role', 'own_role');
      const current = await repo.findUserById(actor.id);
      if (!current) throw new UnauthorizedError('This account no longer exists', 'token_revoked');
      const username = input.username !== undefined && input.username !== current.username ? input.username : undefined;
      const email = input.email !== undefined && input.email !== current.email ? input.email : undefined;
      let passwordHash: string | undefined;
      if (input.password !== undefined) {
        const given = input.current_password ?? input.currentPassword;
        if (given === undefined || given === '') {
          throw new ValidationError('current_password is required to set a new password', [{ path: 'current_password', message: 'is required to set a new password' }]);
        }
        const keys = throttleKeys(current.username, meta.ip);
        const lockedFor = await throttle.lockedFor(keys, clock.now());
        if (lockedFor > 0) throw new TooManyRequestsError(`Too many wrong passwords. Try again in ${lockedFor} seconds.`, lockedFor);
        if (!(await hasher.verify(current.passwordHash, given))) {
          await throttle.fail(keys, clock.now());
          await audit.record({ action: AUDIT.passwordChanged, actor, target: current.username, ip: meta.ip, requestId: meta.requestId, success: false, details: { reason: 'wrong_current_password' } });
          throw new ForbiddenError('The current password is not correct', 'wrong_password');
        }
        const problem = passwordProblem(input.password, { username: username ?? current.username, email: email ?? current.email });
        if (problem) throw policyError(problem);
        passwordHash = await hasher.hash(input.password);
      }
      if (!username && !email && !passwordHash) return { user: toPublicUser(current) };
      await checkAvailable({ username, email }, true, current.id);
      const updated = await unique({ username, email }, true, current.id, () => repo.updateUser(current.id, { username, email, passwordHash, bumpTokenVersion: !!passwordHash }));
      await cache.changed({ userId: current.id });
      if (username || email) {
        await audit.record({
          action: AUDIT.userUpdated,
          actor: { id: actor.id, username: updated.username },
          target: updated.username,
          ip: meta.ip,
          requestId: meta.requestId,
          details: { ...(username ? { usernameFrom: current.username, usernameTo: username } : {}), ...(email ? { emailChanged: true } : {}) },
        });
      }
      if (passwordHash) {
        await audit.record({ action: AUDIT.passwordChanged, actor: { id: actor.id, username: updated.username }, target: updated.username, ip: meta.ip, requestId: meta.requestId });
        await repo.revokeUserSessions(updated.id, clock.now());
        return { user: toPublicUser(updated), session: await openSession(updated, meta) };
      }
      return { user: toPublicUser(updated) };
    },

    /** DELETE /auth/users/:username: an admin, or the user closing their own account. */
    async deleteUser(actor: AuthUser, username: string, meta: RequestMeta = {}): Promise<{ self: boolean }> {
      const self = actor.username === username;
      // Non-admins learn nothing about other accounts: 403 whether or not the name exists.
      if (!self && actor.role !== 'admin') throw new ForbiddenError('You can only delete your own account', 'not_yours');
      const target = await findByUsernameOr404(username);
      await repo.deleteUserGuarded(target.id);
      await cache.changed({ userId: target.id });
      await audit.record({ action: AUDIT.userDeleted, actor, target: target.username, ip: meta.ip, requestId: meta.requestId, details: { self, role: target.role } });
      return { self };
    },

    async listUsers(opts: { limit?: number; offset?: number } = {}): Promise<PublicUser[]> {
      return (await repo.listUsers(opts)).map(toPublicUser);
    },

    /** PUT /auth/users/:username/role (admin). Not one's own, and never the last admin away. */
    async setRole(actor: AuthUser, username: string, role: Role, meta: RequestMeta = {}): Promise<PublicUser> {
      if (actor.role !== 'admin') throw new ForbiddenError('Administrators only');
      const target = await findByUsernameOr404(username);
      if (target.id === actor.id) throw new ForbiddenError('You cannot change your own role; ask another administrator', 'own_role');
      if (target.role === role) return toPublicUser(target);
      const updated = await repo.setRoleGuarded(target.id, role);
      await cache.changed({ userId: target.id });
      await audit.record({ action: AUDIT.roleChanged, actor, target: target.username, ip: meta.ip, requestId: meta.requestId, details: { from: target.role, to: role } });
      return toPublicUser(updated);
    },

    /**
     * Ends the session of the token that made the request; with `everywhere`, every session of
     * the caller (the token version is bumped as well, so nothing issued earlier survives).
     */
    async logout(actor: AuthUser | undefined, everywhere: boolean, meta: RequestMeta = {}): Promise<void> {
      if (!actor) return;
      if (everywhere) {
        await repo.updateUser(actor.id, { bumpTokenVersion: true });
        await repo.revokeUserSessions(actor.id, clock.now());
        await cache.changed({ userId: actor.id });
      } else if (actor.sessionId) {
        await repo.revokeSession(actor.sessionId, clock.now());
        await cache.changed({ sessionId: actor.sessionId });
      }
      await audit.record({ action: AUDIT.logout, actor, ip: meta.ip, requestId: meta.requestId, details: { everywhere } });
    },

    // ---------------------------------------------------------------- API keys

    async createApiKey(actor: AuthUser, input: CreateApiKeyInput, meta: RequestMeta = {}): Promise<PublicApiKey & { key: string }> {
      const now = clock.now();
      if ((await repo.countActiveApiKeys(actor.id, now)) >= MAX_API_KEYS_PER_USER) {
        throw new ConflictError(`You already have ${MAX_API_KEYS_PER_USER} API keys: revoke one first`, 'key_limit');
      }
      const expiresAt = input.expires_in_days ? new Date(now.getTime() + input.expires_in_days * 86_400_000) : null;
      for (let attempt = 0; ; attempt++) {
        const k = generateApiKey();
        try {
          const row = await repo.createApiKey({ userId: actor.id, name: input.name, prefix: k.prefix, hash: k.hash, scope: input.scope, expiresAt });
          await audit.record({ action: AUDIT.apiKeyCreated, actor, target: row.id, ip: meta.ip, requestId: meta.requestId, details: { prefix: row.prefix, scope: row.scope, name: row.name } });
          return { ...toPublicKey(row), key: k.key };
        } catch (err) {
          // 62^8 prefixes: a collision is rare, a second one in a row rarer still.
          if (!isUniqueViolation(err) || attempt >= 2) throw err;
        }
      }
    },

    async listApiKeys(actor: AuthUser): Promise<PublicApiKey[]> {
      return (await repo.listActiveApiKeys(actor.id, clock.now())).map(toPublicKey);
    },

    /** The owner (or an admin) revokes a key; it stops working at once. */
    async revokeApiKey(actor: AuthUser, id: string, meta: RequestMeta = {}): Promise<PublicApiKey> {
      const notFound = () => new NotFoundError('No such API key', 'api_key_not_found');
      if (!UUID_RE.test(id)) throw notFound();
      const row = await repo.findApiKeyById(id);
      if (!row || row.revokedAt) throw notFound();
      assertOwnerOrAdmin(actor, row.userId, 'API key');
      await repo.revokeApiKey(row.id, clock.now());
      await cache.changed({ apiKeyId: row.id });
      await audit.record({ action: AUDIT.apiKeyRevoked, actor, target: row.id, ip: meta.ip, requestId: meta.requestId, details: { prefix: row.prefix, ownerId: row.userId } });
      return toPublicKey(row);
    },

    // ---------------------------------------------------------------- audit

    listAudit(filter: AuditFilter) {
      return audit.list(filter);
    },

    /** Audits a refused private-route request (rate-limited inside). */
    recordBlockedPrivateAccess(a: { ip: string; method: string; path: string; reason: string; requestId?: string }): Promise<void> {
      return recordBlocked(a);
    },

    // ---------------------------------------------------------------- the first admin

    /**
     * `npm run cli -- create-admin`: creates an administrator, or with `update` sets an existing
     * user's password and makes them an administrator (ending their sessions).
     */
    async createAdmin(input: { username: string; email?: string; password: string; update?: boolean }, meta: RequestMeta = {}): Promise<{ user: PublicUser; created: boolean }> {
      const u = usernameSchema.safeParse(input.username);
      if (!u.success) throw new ValidationError(`The username ${u.error.issues[0]?.message ?? 'is not valid'}`);
      const username = u.data;
      const existing = await repo.findUserByUsername(username);
      if (existing) {
        if (!input.update) throw new ConflictError(`A user named ${username} already exists (use --update to make them an administrator with this password)`, 'duplicate');
        const problem = passwordProblem(input.password, existing);
        if (problem) throw policyError(problem);
        const updated = await repo.setPasswordAndRole(existing.id, await hasher.hash(input.password), 'admin');
        await cache.changed({ userId: existing.id });
        await audit.record({ action: AUDIT.adminBootstrap, actorUsername: 'cli', target: username, ip: meta.ip, details: { source: 'cli', updated: true, from: existing.role } });
        return { user: toPublicUser(updated), created: false };
      }
      const e = emailSchema.safeParse(input.email ?? `${username}@candlecast.invalid`);
      if (!e.success) throw new ValidationError(`The e-mail address ${e.error.issues[0]?.message ?? 'is not valid'}`);
      const email = e.data;
      const user = await insertUser({ username, email, password: input.password, role: 'admin' }, false);
      await audit.record({ action: AUDIT.adminBootstrap, actorUsername: 'cli', target: username, ip: meta.ip, details: { source: 'cli' } });
      return { user: toPublicUser(user), created: true };
    },

    /**
     * On boot: when no administrator exists, create one from ADMIN_USERNAME/ADMIN_PASSWORD;
     * failing that, on a database with no users at all (and outside tests), create "admin"
     * with a generated password printed once to stderr as a plain line.
     */
    async ensureFirstAdmin(): Promise<void> {
      if ((await repo.countAdmins()) > 0) return;
      if (config.ADMIN_USERNAME && config.ADMIN_PASSWORD) {
        const u = usernameSchema.safeParse(config.ADMIN_USERNAME);
        if (!u.success) throw new ConfigError([{ variable: 'ADMIN_USERNAME', message: u.error.issues[0]?.message ?? 'is not a valid username' }]);
        const e = emailSchema.safeParse(config.ADMIN_EMAIL ?? `${u.data}@candlecast.invalid`);
        if (!e.success) throw new ConfigError([{ variable: 'ADMIN_EMAIL', message: e.error.issues[0]?.message ?? 'is not a valid e-mail address' }]);
        const problem = passwordProblem(config.ADMIN_PASSWORD, { username: u.data, email: e.data });
        if (problem) throw new ConfigError([{ variable: 'ADMIN_PASSWORD', message: `is refused by the password policy: ${problem}` }]);
        if (await repo.findUserByUsername(u.data)) {
          log.warn({ username: u.data }, 'ADMIN_USERNAME names an existing user who is not an administrator; left unchanged (use: npm run cli -- create-admin --update)');
          return;
        }
        try {
          const user = await repo.createUser({ username: u.data, email: e.data, passwordHash: await hasher.hash(config.ADMIN_PASSWORD), role: 'admin' });
          await audit.record({ action: AUDIT.adminBootstrap, actorUsername: 'system', target: user.username, details: { source: 'env' } });
          log.info({ username: user.username }, 'created the first administrator from ADMIN_USERNAME/ADMIN_PASSWORD');
        } catch (err) {
          if (!isUniqueViolation(err)) throw err; // another instance created it first
        }
        return;
      }
      if (config.isTest) return;
      if ((await repo.countUsers()) > 0) {
        log.warn('no administrator exists; create one with: npm run cli -- create-admin');
        return;
      }
      let password = generatePassword();
      while (passwordProblem(password, { username: 'admin' })) password = generatePassword();
      let user: UserRow;
      try {
        user = await repo.createUser({ username: 'admin', email: 'admin@candlecast.invalid', passwordHash: await hasher.hash(password), role: 'admin' });
      } catch (err) {
        if (isUniqueViolation(err)) return; // another instance booting on the same fresh database won
        throw err;
      }
      await audit.record({ action: AUDIT.adminBootstrap, actorUsername: 'system', target: user.username, details: { source: 'generated' } });
      log.warn({ username: user.username }, 'created the first administrator with a generated password, printed once to stderr');
      stderr.write(`\ncandlecast: created the first administrator. Username: admin  Password: ${password}\n` + 'candlecast: this password is shown only once; log in and change it (PUT /api/auth/users/me).\n\n');
    },
  };
  return service;
}
