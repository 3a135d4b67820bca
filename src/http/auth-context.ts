/**
 * Who is calling. Set on `req.user` by the auth module's authenticate middleware (JWT bearer,
 * session cookie or API key); read by the guards below and by services for ownership checks.
 */
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../platform/errors.js';

export type Role = 'user' | 'admin';

export interface AuthUser {
  id: number;
  username: string;
  email: string;
  role: Role;
  /** how the identity was proven */
  via: 'bearer' | 'cookie' | 'apikey';
  /** API keys can be read-only; tokens and cookies can do whatever the role allows */
  scope: 'read' | 'write';
  apiKeyId?: string;
  /** the token's session (its jti) when the identity came from a token or the cookie */
  sessionId?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges AuthUser into Express.User
    interface User extends AuthUser {}
    interface Request {
      user?: User;
      /** set by authenticate when a credential was presented but refused (expired, revoked...) */
      authFailure?: { code: string; message: string };
    }
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** 401 unless the request carries a valid identity; a read-only API key may not write. */
export function requireUser(req: Request, _res: Response, next: NextFunction): void {
  if (!req.user) return next(req.authFailure ? new UnauthorizedError(req.authFailure.message, req.authFailure.code) : new UnauthorizedError());
  if (req.user.scope === 'read' && WRITE_METHODS.has(req.method)) {
    return next(new ForbiddenError('This API key is read-only', 'read_only_key'));
  }
  next();
}

export function requireRole(role: Role) {
  return function requireRoleMiddleware(req: Request, res: Response, next: NextFunction): void {
    requireUser(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (req.user!.role !== role) return next(new ForbiddenError(role === 'admin' ? 'Administrators only' : `Role ${role} required`));
      next();
    });
  };
}

/** For services: the caller must be the owner of a record or an admin. */
export function assertOwnerOrAdmin(user: AuthUser, ownerId: number, what = 'record'): void {
  if (user.role !== 'admin' && user.id !== ownerId) throw new ForbiddenError(`You cannot access another user's ${what}`);
}
