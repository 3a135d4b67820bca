/**
 * CSRF protection for the pages (double-submit cookie, csrf-csrf). The token is bound to the
 * session: to the session cookie when signed in, else to a random anonymous id cookie, so a
 * token taken from one session is useless in another. Pages put the token in
 * <meta name="csrf-token"> (public/js/app.js copies it into htmx's X-CSRF-Token header) and in
 * a hidden `_csrf` input of every form. Every POST/PUT/PATCH/DELETE reaching the pages router
 * must carry it, or it is refused with a 403 page (or fragment for htmx).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { doubleCsrf } from 'csrf-csrf';
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError } from '../../platform/errors.js';

export const CSRF_COOKIE = 'cc_csrf';
export const ANON_COOKIE = 'cc_anon';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** the auth module's session cookie; read here only as an opaque session identifier */
const SESSION_COOKIE = 'cc_session';

const cookies = (req: Request) => (req.cookies ?? {}) as Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
/** The session cookie counts only when it authenticated this request (a stale one is cleared). */
const sessionId = (req: Request) => (req.user?.via === 'cookie' ? str(cookies(req)[SESSION_COOKIE]) : undefined);

export interface Csrf {
  /** issues (or reuses) the token for this request's session and sets its cookie */
  token(req: Request, res: Response): string;
  /** middleware: refuses state-changing requests without a valid token */
  protect(req: Request, res: Response, next: NextFunction): void;
}

export function createCsrf(opts: { secret: Buffer }): Csrf {
  const secret = opts.secret.toString('base64url');
  const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, secure: req.secure, path: '/' });

  const { generateCsrfToken, validateRequest } = doubleCsrf({
    getSecret: () => secret,
    // The session cookie is a JWT; hash it so the identifier has a fixed, small size.
    getSessionIdentifier: (req) => {
      const id = sessionId(req) ?? str(cookies(req)[ANON_COOKIE]) ?? '';
      return createHmac('sha256', secret).update(id).digest('base64url');
    },
    cookieName: CSRF_COOKIE,
    cookieOptions: { httpOnly: true, sameSite: 'strict', secure: false, path: '/' },
    size: 32,
    getCsrfTokenFromRequest: (req) => {
      const header = req.get(CSRF_HEADER);
      if (header) return header;
      const body = req.body as Record<string, unknown> | undefined;
      return typeof body?.[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : undefined;
    },
  });

  return {
    token(req, res) {
      if (!sessionId(req) && !str(cookies(req)[ANON_COOKIE])) {
        // A visitor without a session gets a random id to bind the token to (the login form).
        const anon = randomBytes(18).toString('base64url');
        res.cookie(ANON_COOKIE, anon, { ...cookieOptions(req), sameSite: 'lax' });
        (req.cookies as Record<string, unknown>)[ANON_COOKIE] = anon;
      }
      // Reuses the cookie's token while it is valid for this session; otherwise issues a new one
      // (e.g. right after login, when the session identifier changed).
      return generateCsrfToken(req, res, { cookieOptions: cookieOptions(req) });
    },
    protect(req, _res, next) {
      if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
      if (validateRequest(req)) return next();
      next(new ForbiddenError('This form has expired or was not sent from this site. Reload the page and try again.', 'csrf_invalid'));
    },
  };
}
