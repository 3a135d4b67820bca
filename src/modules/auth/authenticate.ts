/**
 * The authenticate middleware, run on the /api, /internal and pages routers before any module
 * router. It sets `req.user` from, in this order:
 *   1. an API key in `X-API-Key` or `Authorization: Bearer cc_...`;
 *   2. a JWT in `Authorization: Bearer ...` (passport-jwt, HS256 only, expiry enforced);
 *   3. the same JWT in the `cc_session` cookie (pages).
 * A missing credential leaves the request anonymous. A bad one also leaves it anonymous but
 * records why on `req.authFailure`, which `requireUser` turns into the 401's message; so public
 * routes still answer and POST /auth/validate can say {valid: false}.
 *
 * The user is looked up once per request (token version and role come from the user's current
 * state, never from the token alone), from the auth state cache while it is trusted and from
 * the database otherwise (auth-cache.ts).
 */
import passport from 'passport';
import { Strategy as JwtStrategy, type VerifiedCallback } from 'passport-jwt';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { logContext } from '../../platform/log.js';
import { looksLikeApiKey } from './api-keys.js';
import type { AuthFailure, AuthService } from './auth.service.js';
import { clearSessionCookie, readClaims, SESSION_COOKIE, type TokenService } from './tokens.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function bearer(req: Request): string | undefined {
  const h = req.get('authorization');
  if (!h) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

function cookieToken(req: Request): string | undefined {
  const v = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * A cookie travels with any request the browser makes, so a cookie-authenticated change must
 * prove it comes from our own pages: an Origin (or Referer) of this site, Sec-Fetch-Site:
 * same-origin, or a header a cross-site form cannot set without CORS (HX-Request,
 * X-Requested-With). SameSite=Lax already stops most cross-site POSTs; this covers the rest
 * (sibling subdomains count as same-site).
 */
export function sameOriginWrite(req: Request, publicOrigin?: string): boolean {
  if (!UNSAFE.has(req.method)) return true;
  if (req.get('hx-request') || req.get('x-requested-with')) return true;
  const own = `${req.protocol}://${req.get('host') ?? ''}`;
  const origin = req.get('origin') ?? (() => {
    const ref = req.get('referer');
    if (!ref) return undefined;
    try {
      return new URL(ref).origin;
    } catch {
      return 'invalid';
    }
  })();
  if (origin !== undefined && origin !== 'null') return origin === own || (!!publicOrigin && origin === publicOrigin);
  return req.get('sec-fetch-site') === 'same-origin';
}

type Outcome = { user: Express.User } | { failure: AuthFailure } | { none: true };

function failureFromJwtError(info: unknown): AuthFailure {
  const name = info instanceof Error ? info.name : '';
  if (name === 'TokenExpiredError') return { code: 'token_expired', message: 'The token has expired; log in again' };
  if (info && typeof info === 'object' && 'code' in info && 'message' in info) return info as AuthFailure;
  return { code: 'invalid_token', message: 'The token is not valid' };
}

export interface AuthenticateDeps {
  service: AuthService;
  tokens: TokenService;
  /** PUBLIC_URL's origin, accepted as our own for cookie-authenticated writes */
  publicOrigin?: string;
  /** whether the Host header names this server; the cookie counts only then (DNS rebinding) */
  hostAllowed?: (req: Request) => boolean;
}

export function createAuthenticate(deps: AuthenticateDeps): RequestHandler {
  const { service, tokens } = deps;
  // Our own Passport instance: no process-wide singleton.
  const pp = new passport.Passport();
  const verify = (via: 'bearer' | 'cookie') => (payload: unknown, done: VerifiedCallback) => {
    const claims = readClaims(payload);
    if (!claims) return done(null, false, { code: 'invalid_token', message: 'The token is not valid' });
    service.resolveToken(claims, via).then(
      (r) => ('user' in r ? done(null, r.user) : done(null, false, r.failure)),
      (err: unknown) => done(err),
    );
  };
  const strategyOptions = {
    // the KeyObject, not a string: jsonwebtoken verifies ~40x faster (STACK.md)
    secretOrKey: tokens.key as unknown as Buffer,
    algorithms: tokens.verifyOptions.algorithms,
    issuer: tokens.verifyOptions.issuer as string,
    jsonWebTokenOptions: { clockTolerance: 0 },
  };
  pp.use('jwt-bearer', new JwtStrategy({ ...strategyOptions, jwtFromRequest: (req: Request) => bearer(req) ?? null }, verify('bearer')));
  pp.use('jwt-cookie', new JwtStrategy({ ...strategyOptions, jwtFromRequest: (req: Request) => cookieToken(req) ?? null }, verify('cookie')));

  const runJwt = (name: 'jwt-bearer' | 'jwt-cookie', req: Request, res: Response) =>
    new Promise<Outcome>((resolve, reject) => {
      const mw = pp.authenticate(name, { session: false, failWithError: false }, (err: unknown, user: Express.User | false, info: unknown) => {
        if (err) return reject(err);
        if (user) return resolve({ user });
        resolve({ failure: failureFromJwtError(info) });
      }) as RequestHandler;
      mw(req, res, (err?: unknown) => (err ? reject(err) : resolve({ none: true })));
    });

  const seen = new WeakSet<Request>();

  return async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
    // Once per request, even if the request passes through more than one router.
    if (seen.has(req)) return next();
    seen.add(req);
    const meta = { ip: req.ip, requestId: String(req.id) };

    let outcome: Outcome = { none: true };
    const headerKey = req.get('x-api-key');
    const bearerValue = bearer(req);
    const cookie = cookieToken(req);
    if (headerKey !== undefined) {
      outcome = await service.resolveApiKey(headerKey.trim(), meta);
    } else if (bearerValue !== undefined && looksLikeApiKey(bearerValue)) {
      outcome = await service.resolveApiKey(bearerValue, meta);
    } else if (bearerValue !== undefined) {
      outcome = await runJwt('jwt-bearer', req, res);
    } else if (req.get('authorization') !== undefined) {
      outcome = { failure: { code: 'invalid_authorization', message: 'Use "Authorization: Bearer <token or API key>"' } };
    } else if (cookie !== undefined && deps.hostAllowed && !deps.hostAllowed(req)) {
      // Not cleared: the cookie is fine, it was just sent to a name this server does not answer to.
      outcome = { failure: { code: 'host_not_allowed', message: 'The session cookie is accepted only under this server\'s own host names (ALLOWED_HOSTS)' } };
    } else if (cookie !== undefined) {
      outcome = await runJwt('jwt-cookie', req, res);
      if ('failure' in outcome) clearSessionCookie(req, res);
      else if ('user' in outcome && !sameOriginWrite(req, deps.publicOrigin)) {
        outcome = { failure: { code: 'cross_site', message: 'A change made with the session cookie must come from this site; use a bearer token for API calls' } };
      }
    }

    if ('user' in outcome) {
      req.user = outcome.user;
      const ctx = logContext.getStore();
      if (ctx) ctx.userId = outcome.user.id;
    } else if ('failure' in outcome) {
      req.authFailure = outcome.failure;
    }
    next();
  };
}
