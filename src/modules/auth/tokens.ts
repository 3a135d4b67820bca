/**
 * Access tokens (HS256 JWTs) and the session cookie that carries the same token for pages.
 *
 * Claims: sub = user id, ver = the user's tokenVersion, role, iat, exp, iss, jti. The version is
 * compared with the database on every request, so a password change, role change or deletion
 * ends every older token at once; jti names the token's row in `sessions`, so one token can be
 * revoked alone (page "Log out"). A token without exp or jti is refused. Expiry is checked by jsonwebtoken against the wall clock
 * (tokens leave the process, so they follow real time even when the app runs on a test clock).
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { CookieOptions, Request, Response } from 'express';
import type { Role } from '../../http/auth-context.js';

export const TOKEN_ISSUER = 'candlecast';
/** The one algorithm accepted: never whatever the token's header asks for. */
export const TOKEN_ALGORITHMS: jwt.Algorithm[] = ['HS256'];
export const SESSION_COOKIE = 'cc_session';

export interface AccessTokenClaims {
  sub: string;
  ver: number;
  role: Role;
  iat: number;
  exp: number;
  iss: string;
  jti: string;
}

export interface IssuedToken {
  token: string;
  /** seconds */
  expiresIn: number;
  /** the token's jti = its session's id */
  jti: string;
  /** when the token expires (its exp) */
  expiresAt: Date;
}

export interface TokenService {
  issue(user: { id: number; role: Role; tokenVersion: number }): IssuedToken;
  /** options for jsonwebtoken.verify, shared with the passport strategies */
  readonly verifyOptions: jwt.VerifyOptions & { algorithms: jwt.Algorithm[] };
  readonly key: KeyObject;
  readonly expiresIn: number;
}

export function createTokenService(key: KeyObject, expiresIn: number): TokenService {
  const verifyOptions = { algorithms: TOKEN_ALGORITHMS, issuer: TOKEN_ISSUER, clockTolerance: 0 };
  return {
    key,
    expiresIn,
    verifyOptions,
    issue(user) {
      // wall clock on purpose: the token leaves the process (see the header comment)
      const iat = Math.floor(Date.now() / 1000);
      const jti = randomUUID();
      const token = jwt.sign({ ver: user.tokenVersion, role: user.role, iat }, key, {
        algorithm: 'HS256',
        expiresIn,
        subject: String(user.id),
        issuer: TOKEN_ISSUER,
        jwtid: jti,
      });
      return { token, expiresIn, jti, expiresAt: new Date((iat + expiresIn) * 1000) };
    },
  };
}

/** Checks the shape of a verified payload; anything odd is treated as an invalid token. */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks the shape of a verified payload; anything odd is treated as an invalid token.
 * jsonwebtoken checks exp only when it is present, so a token without one (it would never
 * expire) is refused here.
 */
export function readClaims(payload: unknown): { userId: number; ver: number; jti: string } | null {
  if (!payload || typeof payload !== 'object') return null;
  const p = payload as Partial<AccessTokenClaims>;
  const userId = Number(p.sub);
  if (typeof p.sub !== 'string' || !Number.isSafeInteger(userId) || userId <= 0) return null;
  if (typeof p.ver !== 'number' || !Number.isSafeInteger(p.ver)) return null;
  if (typeof p.exp !== 'number' || !Number.isFinite(p.exp)) return null;
  if (typeof p.jti !== 'string' || !UUID_RE.test(p.jti)) return null;
  return { userId, ver: p.ver, jti: p.jti };
}

function cookieOptions(req: Request): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' };
}

/** Puts the token into the HttpOnly session cookie that pages use. */
export function issueSessionCookie(req: Request, res: Response, session: IssuedToken): void {
  res.cookie(SESSION_COOKIE, session.token, { ...cookieOptions(req), maxAge: session.expiresIn * 1000 });
}

/** Removes the session cookie (logout, or a cookie that no longer authenticates). */
export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
}
