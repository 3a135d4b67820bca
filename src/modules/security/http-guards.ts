/**
 * Request hardening shared by the routers: content-type checks and the API rate limits. The
 * block check and the access observation live in security.service.ts (they need its state).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError, TooManyRequestsError } from '../../platform/errors.js';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

export interface ContentTypeRule {
  /** media types every route of the router accepts */
  types: string[];
  /** extra types for some paths (e.g. CSV uploads to .../import) */
  extra?: { path: RegExp; types: string[] }[];
}

/**
 * A request that sends a body must say what it is, and it must be a type the router reads;
 * otherwise 415 before any parser or handler runs. Bodiless requests pass whatever they say.
 */
export function contentTypeGuard(rule: ContentTypeRule): RequestHandler {
  return function contentTypeCheck(req: Request, _res: Response, next: NextFunction): void {
    if (!WITH_BODY.has(req.method) || !hasBody(req)) return next();
    const types = [...rule.types];
    for (const e of rule.extra ?? []) if (e.path.test(req.path)) types.push(...e.types);
    if (!req.get('content-type')) {
      return next(new AppError(415, 'unsupported_media_type', `The request has a body but no Content-Type; send ${types[0]}`, { details: { accepted: types } }));
    }
    if (req.is(types) === false) {
      return next(new AppError(415, 'unsupported_media_type', `Content-Type ${String(req.get('content-type')).slice(0, 80)} is not accepted here; send ${types.join(' or ')}`, { details: { accepted: types } }));
    }
    next();
  };
}

export const API_BODY_TYPES: ContentTypeRule = {
  types: ['application/json', 'application/x-www-form-urlencoded'],
  extra: [{ path: /\/import$/, types: ['text/csv', 'text/plain', 'application/csv', 'application/octet-stream'] }],
};

export const PAGE_BODY_TYPES: ContentTypeRule = {
  types: ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'],
};

function retryAfter(req: Request, windowMs: number): number {
  const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
  return reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : Math.ceil(windowMs / 1000);
}

export interface ApiRateLimits {
  /** before authentication: per client address (IPv6 by /56, as express-rate-limit advises) */
  perIp: RequestHandler;
  /** after authentication: per API key, else per user; anonymous requests are left to perIp */
  perIdentity: RequestHandler;
}

/**
 * The API's rate limits: a fixed one-minute window, counted in this instance's memory (with N
 * instances behind a balancer a client gets up to N x the limit; docs/ops/several-instances.md).
 * Answers carry the draft-7 `RateLimit`/`RateLimit-Policy` headers; refusals are 429s in the
 * one error format with `Retry-After`.
 */
export function createApiRateLimits(opts: { perIdentityPerMinute: number; perIpPerMinute: number }): ApiRateLimits {
  const windowMs = 60_000;
  const common = {
    windowMs,
    standardHeaders: 'draft-7' as const,
    legacyHeaders: false,
    // The app decides what to trust (TRUST_PROXY); req.ip already reflects it.
    validate: { trustProxy: false, xForwardedForHeader: false },
  };
  return {
    perIp: rateLimit({
      ...common,
      limit: opts.perIpPerMinute,
      identifier: 'ip',
      keyGenerator: (req) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`,
      handler: (req, _res, next) => next(new TooManyRequestsError('Too many requests from this address; slow down', retryAfter(req, windowMs))),
    }),
    perIdentity: rateLimit({
      ...common,
      limit: opts.perIdentityPerMinute,
      identifier: 'identity',
      skip: (req) => !req.user,
      keyGenerator: (req) => (req.user?.apiKeyId ? `key:${req.user.apiKeyId}` : `user:${req.user?.id ?? 'anon'}`),
      handler: (req, _res, next) =>
        next(new TooManyRequestsError(req.user?.apiKeyId ? 'Too many requests with this API key; slow down' : 'Too many requests for this account; slow down', retryAfter(req, windowMs))),
    }),
  };
}
