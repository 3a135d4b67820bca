/**
 * /api/auth/*: the original gateway's /auth routes (same shapes and status codes, see
 * /work/shared/ORIGINAL_API.md) plus user management, personal API keys and the audit log.
 * Routes parse input, declare the role and hand typed values to the service.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { requireRole, requireUser } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import { ForbiddenError, TooManyRequestsError, UnauthorizedError } from '../../platform/errors.js';
import {
  apiKeyIdParamSchema,
  auditQuerySchema,
  createApiKeySchema,
  listUsersQuerySchema,
  loginSchema,
  logoutSchema,
  setRoleSchema,
  signupSchema,
  updateMeSchema,
  usernameParamSchema,
} from './auth.schemas.js';
import type { AuthService, RequestMeta } from './auth.service.js';
import { sameOriginWrite } from './authenticate.js';
import { clearSessionCookie, issueSessionCookie, type IssuedToken } from './tokens.js';

export function requestMeta(req: Request): RequestMeta {
  const ua = req.get('user-agent');
  return { ip: req.ip, requestId: req.id === undefined ? undefined : String(req.id), ...(ua ? { userAgent: ua.slice(0, 256) } : {}) };
}

/**
 * Account and key management needs a password-backed session (token or cookie): a leaked API
 * key must not be able to mint more keys, change the password or delete the account.
 */
function sessionOnly(req: Request, _res: Response, next: NextFunction): void {
  if (req.user?.via === 'apikey') return next(new ForbiddenError('API keys cannot manage accounts or keys; log in with your password', 'session_required'));
  next();
}

function tokenBody(s: IssuedToken, role: string) {
  return { access_token: s.token, token_type: 'bearer' as const, role, expires_in: s.expiresIn };
}

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

export interface AuthRoutesDeps {
  service: AuthService;
  /** self-service sign-ups per address per hour (admins creating users are not counted) */
  signupsPerHour?: number;
  /** PUBLIC_URL's origin, accepted as our own for setting the session cookie */
  publicOrigin?: string;
}

export function createAuthRoutes(deps: AuthRoutesDeps): Router {
  const { service } = deps;
  const r = express.Router();

  const signupLimiter = rateLimit({
    windowMs: 60 * 60_000,
    limit: deps.signupsPerHour ?? 20,
    skip: (req) => !!req.user,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // the app decides what to trust (TRUST_PROXY); req.ip already reflects it
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 3600;
      next(new TooManyRequestsError('Too many sign-ups from this address; try again later', seconds));
    },
  });

  // ---------------------------------------------------------------- the original's /auth

  r.post('/auth/login', async (req, res) => {
    const input = parse(loginSchema, req.body ?? {});
    // Setting the cookie is a cookie write: without proof that the form is ours, any site could
    // sign a visitor in as the attacker (login CSRF). Checked before the password, so such a
    // request changes nothing (no login, no lockout count). The plain token answer is unchanged.
    if (input.cookie && !sameOriginWrite(req, deps.publicOrigin)) {
      throw new ForbiddenError('cookie=true must come from this site (an Origin of this site); scripts should use the access_token instead', 'cross_site');
    }
    const s = await service.login(input, requestMeta(req));
    if (input.cookie) issueSessionCookie(req, res, s);
    noStore(res);
    res.json({ ...tokenBody(s, s.user.role), username: s.user.username });
  });

  // Logging out is an account action: an API key may not end its owner's sessions (sessionOnly).
  r.post('/auth/logout', sessionOnly, async (req, res) => {
    const { everywhere } = parse(logoutSchema, req.body ?? {});
    if (everywhere && !req.user) throw new UnauthorizedError('Log in to end your sessions everywhere');
    await service.logout(req.user, everywhere, requestMeta(req));
    clearSessionCookie(req, res);
    res.json({ message: everywhere ? 'Logged out everywhere' : 'Logged out' });
  });

  r.post('/auth/validate', (req, res) => {
    if (req.user) return void res.json({ valid: true, username: req.user.username, role: req.user.role });
    res.json({ valid: false, ...(req.authFailure ? { reason: req.authFailure.code } : {}) });
  });

  r.get('/auth/protected', requireUser, (req, res) => {
    const u = req.user!;
    res.json({ message: `Hello ${u.username}, you are authenticated`, user: u.username, role: u.role });
  });

  r.post('/auth/signup', signupLimiter, sessionOnly, async (req, res) => {
    // A stale admin token must not quietly turn into an anonymous sign-up.
    if (!req.user && req.authFailure) throw new UnauthorizedError(req.authFailure.message, req.authFailure.code);
    const input = parse(signupSchema, req.body ?? {});
    const user = await service.signup(req.user, input, requestMeta(req));
    res.status(201).json({ message: `User ${user.username} created`, user });
  });

  r.get('/auth/users/me', requireUser, async (req, res) => {
    res.json(await service.me(req.user!));
  });

  r.put('/auth/users/me', requireUser, sessionOnly, async (req, res) => {
    const input = parse(updateMeSchema, req.body ?? {});
    const { user, session } = await service.updateMe(req.user!, input, requestMeta(req));
    if (session) {
      // The old token stopped working: hand over a new one (and a new cookie for pages).
      if (req.user!.via === 'cookie') issueSessionCookie(req, res, session);
      noStore(res);
      return void res.json({ ...user, ...tokenBody(session, user.role) });
    }
    res.json(user);
  });

  r.delete('/auth/users/:username', requireUser, sessionOnly, async (req, res) => {
    const raw = parse(usernameParamSchema, req.params, 400).username;
    const username = raw === 'me' ? req.user!.username : raw;
    const { self } = await service.deleteUser(req.user!, username, requestMeta(req));
    if (self) clearSessionCookie(req, res);
    res.json({ message: self ? 'Your account has been deleted' : `User ${username} deleted` });
  });

  // ---------------------------------------------------------------- admin

  r.get('/auth/users', requireRole('admin'), async (req, res) => {
    const q = parse(listUsersQuerySchema, req.query, 400);
    res.json(await service.listUsers(q));
  });

  r.post('/auth/users', requireRole('admin'), sessionOnly, async (req, res) => {
    const input = parse(signupSchema, req.body ?? {});
    const user = await service.createUser(req.user!, input, requestMeta(req));
    res.status(201).json({ message: `User ${user.username} created`, user });
  });

  r.put('/auth/users/:username/role', requireRole('admin'), sessionOnly, async (req, res) => {
    const { username } = parse(usernameParamSchema, req.params, 400);
    const { role } = parse(setRoleSchema, req.body ?? {});
    res.json(await service.setRole(req.user!, username, role, requestMeta(req)));
  });

  r.get('/auth/audit', requireRole('admin'), async (req, res) => {
    const q = parse(auditQuerySchema, req.query, 400);
    res.json(await service.listAudit({ action: q.action, user: q.user?.toLowerCase(), actorId: q.actor_id, success: q.success, limit: q.limit, offset: q.offset }));
  });

  // ---------------------------------------------------------------- personal API keys

  r.post('/auth/api-keys', requireUser, sessionOnly, async (req, res) => {
    const input = parse(createApiKeySchema, req.body ?? {});
    const key = await service.createApiKey(req.user!, input, requestMeta(req));
    noStore(res);
    res.status(201).json({ ...key, message: 'Store this key now: it is shown only once' });
  });

  r.get('/auth/api-keys', requireUser, async (req, res) => {
    res.json(await service.listApiKeys(req.user!));
  });

  r.delete('/auth/api-keys/:id', requireUser, sessionOnly, async (req, res) => {
    const { id } = parse(apiKeyIdParamSchema, req.params, 400);
    const key = await service.revokeApiKey(req.user!, id, requestMeta(req));
    res.json({ message: `API key ${key.prefix} revoked`, id: key.id });
  });

  return r;
}
