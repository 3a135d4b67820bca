/**
 * The two error renderers: JSON for /api and /internal, an EJS page (or an htmx fragment) for
 * pages. Both go through toAppError(); unknown errors are logged with the request id and
 * shown as a plain 500.
 */
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { AppError, NotFoundError, toAppError } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId: string };
  /** FastAPI-style message, so clients of the original project still find one */
  detail: string;
}

export function errorBody(err: AppError, requestId: string): ErrorBody {
  const message = err.expose ? err.message : 'Internal server error';
  const body: ErrorBody = { error: { code: err.expose ? err.code : 'internal_error', message, requestId }, detail: message };
  if (err.expose && err.details !== undefined) body.error.details = err.details;
  return body;
}

function report(err: AppError, original: unknown, req: Request, log: Logger, onServerError?: (where: string) => void): void {
  if (err.status >= 500) {
    log.error({ err: original, requestId: req.id, method: req.method, url: req.originalUrl }, 'request failed');
    onServerError?.('http');
  } else {
    log.debug({ code: err.code, status: err.status, requestId: req.id }, err.message);
  }
}

export function jsonErrorHandler(log: Logger, onServerError?: (where: string) => void): ErrorRequestHandler {
  return (original: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(original);
    const err = toAppError(original);
    report(err, original, req, log, onServerError);
    if (err.headers) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    res.status(err.status).json(errorBody(err, String(req.id)));
  };
}

export function pageErrorHandler(log: Logger, onServerError?: (where: string) => void): ErrorRequestHandler {
  return (original: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(original);
    const err = toAppError(original);
    report(err, original, req, log, onServerError);
    if (err.headers) for (const [k, v] of Object.entries(err.headers)) if (k !== 'WWW-Authenticate') res.setHeader(k, v);
    const isHtmx = req.get('HX-Request') === 'true';
    res.vary('HX-Request');
    // A signed-out visitor on any page is sent to log in and back, whichever module owns the page.
    if (err.status === 401 && (req.method === 'GET' || req.method === 'HEAD')) {
      const login = `/login?next=${encodeURIComponent(req.originalUrl)}`;
      if (isHtmx) {
        res.setHeader('HX-Redirect', login);
        return res.status(204).end();
      }
      return res.redirect(303, login);
    }
    const locals = {
      status: err.status,
      title: err.status === 404 ? 'Not found' : err.status === 403 ? 'Forbidden' : err.status >= 500 ? 'Something went wrong' : 'Request refused',
      message: err.expose ? err.message : 'An unexpected error occurred. It has been logged.',
      code: err.expose ? err.code : 'internal_error',
      requestId: String(req.id),
    };
    res.status(err.status);
    if (isHtmx) {
      // htmx does not swap 4xx/5xx by default; retarget to the page's error slot.
      res.setHeader('HX-Retarget', '#flash');
      res.setHeader('HX-Reswap', 'innerHTML');
      return res.render('partials/_error-fragment', locals);
    }
    res.render('error', locals, (renderErr, html) => {
      if (renderErr) {
        log.error({ err: renderErr }, 'error page failed to render');
        res.type('text/plain').send(`${locals.status} ${locals.title}: ${locals.message} (request ${req.id})`);
        return;
      }
      res.send(html);
    });
  };
}

export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new NotFoundError(`No route for ${req.method} ${req.path}`));
}
