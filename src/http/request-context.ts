import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { logContext } from '../platform/log.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/**
 * Gives every request an id (a caller's X-Request-Id if it looks sane, else a new UUID), echoes
 * it as X-Request-Id and runs the rest of the request inside that log context.
 */
export function requestContext(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.get('x-request-id');
  const id = incoming && SAFE_ID.test(incoming) ? incoming : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
  logContext.run({ requestId: id }, () => next());
}
