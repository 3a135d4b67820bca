/**
 * The auth module: users, tokens, API keys, roles, the audit log. What other code may use:
 *
 *   createAuthModule(deps) -> {
 *     wiring,               // ModuleWiring: the /api/auth routes; start() ensures a first admin
 *     service,              // AuthService: login, users, keys, audit (also services.auth)
 *     authenticate,         // middleware setting req.user; app.ts runs it on api/internal/pages
 *     issueSessionCookie,   // (req, res, {token, expiresIn}) after a login on a page
 *     clearSessionCookie,   // (req, res) for a page's logout
 *     onPrivateBlocked,     // audits a refused /internal or /metrics request (rate-limited)
 *     audit,                // AuditLog: other modules record their own dotted actions (e.g. anomaly.*)
 *   }
 *
 * Pages: `const s = await auth.service.login({ username, password }, requestMeta(req));
 * auth.issueSessionCookie(req, res, s)`. Guards stay in src/http/auth-context.ts.
 */
import type { RequestHandler } from 'express';
import type { ModuleWiring } from '../../app.js';
import type { ModuleDeps } from '../../modules.js';
import type { BlockedPrivateAttempt } from '../../http/private-boundary.js';
import { createHostCheck } from '../../http/host-check.js';
import type { NotifyBus } from '../../platform/notify-bus.js';
import { createAuthCache, noAuthCache } from './auth-cache.js';
import { createAuthRepo } from './auth.repo.js';
import { createAuthRoutes, requestMeta } from './auth.routes.js';
import { createAuthService, type AuthService } from './auth.service.js';
import { createAuditLog, type AuditLog } from './audit.js';
import { createAuthenticate } from './authenticate.js';
import { createPasswordHasher } from './passwords.js';
import { createLoginThrottle, DEFAULT_THROTTLE_POLICY, type LoginThrottlePolicy } from './throttle.js';
import { clearSessionCookie, createTokenService, issueSessionCookie } from './tokens.js';

export type { AuthService, PublicUser, PublicApiKey, RequestMeta, AuthFailure } from './auth.service.js';
export type { AuditEntry, AuditItem, AuditLog } from './audit.js';
export type { IssuedToken } from './tokens.js';
export type { LoginThrottlePolicy } from './throttle.js';
export { AUDIT } from './audit.js';
export { SESSION_COOKIE, TOKEN_ALGORITHMS, TOKEN_ISSUER } from './tokens.js';
export { passwordProblem, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH } from './passwords.js';
export { DEFAULT_THROTTLE_POLICY } from './throttle.js';
/** input schemas, for the OpenAPI document (src/modules/api-docs) */
export * as authSchemas from './auth.schemas.js';
export { sameOriginWrite } from './authenticate.js';
export { requestMeta, issueSessionCookie, clearSessionCookie };

export interface AuthModule {
  wiring: ModuleWiring;
  service: AuthService;
  authenticate: RequestHandler;
  issueSessionCookie: typeof issueSessionCookie;
  clearSessionCookie: typeof clearSessionCookie;
  onPrivateBlocked(attempt: BlockedPrivateAttempt & { requestId?: string }): Promise<void>;
  audit: AuditLog;
}

export type AuthModuleDeps = Pick<ModuleDeps, 'config' | 'db' | 'secrets' | 'clock' | 'log'> & {
  /** tests may tighten or loosen the lockout policy */
  throttlePolicy?: LoginThrottlePolicy;
  stderr?: { write(s: string): unknown };
  /** the process's LISTEN/NOTIFY bus; without it the credential check reads the database every time */
  notify?: NotifyBus;
};

export function createAuthModule(deps: AuthModuleDeps): AuthModule {
  const { config, db, secrets, clock } = deps;
  const log = deps.log.child({ module: 'auth' });
  if (config.TRUST_PROXY === true) {
    // Express then takes the left-most X-Forwarded-For entry, which the client writes: anyone
    // could claim 127.0.0.1 (private routes) or a new address per guess (login lockouts).
    log.warn('TRUST_PROXY=true believes every X-Forwarded-For entry, so a client can claim any address, loopback included; set the number of proxy hops (e.g. 1) or the proxy addresses instead');
  }
  const repo = createAuthRepo(db.prisma);
  const tokens = createTokenService(secrets.jwtKey, config.JWT_EXPIRES_IN);
  const audit = createAuditLog({ repo, clock, log });
  const cache = deps.notify ? createAuthCache({ bus: deps.notify, log }) : noAuthCache;
  const service = createAuthService({
    repo,
    hasher: createPasswordHasher(),
    tokens,
    throttle: createLoginThrottle(repo, deps.throttlePolicy ?? DEFAULT_THROTTLE_POLICY),
    audit,
    clock,
    log,
    config,
    stderr: deps.stderr,
    cache,
  });
  const publicOrigin = config.PUBLIC_URL ? new URL(config.PUBLIC_URL).origin : undefined;
  const authenticate = createAuthenticate({ service, tokens, publicOrigin, hostAllowed: createHostCheck(config) });
  return {
    wiring: {
      name: 'auth',
      api: createAuthRoutes({ service, publicOrigin }),
      start: () => service.ensureFirstAdmin(),
      stop: () => cache.stop(),
    },
    service,
    authenticate,
    issueSessionCookie,
    clearSessionCookie,
    onPrivateBlocked: (a) => service.recordBlockedPrivateAccess(a),
    audit,
  };
}
