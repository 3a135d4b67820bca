/**
 * One error hierarchy for the whole process. Everything thrown on purpose is an AppError;
 * anything else is converted by toAppError() and shown as a plain 500.
 */
export interface AppErrorOptions {
  details?: unknown;
  expose?: boolean;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;
  readonly details?: unknown;
  readonly headers?: Record<string, string>;

  constructor(status: number, code: string, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.expose = opts.expose ?? status < 500;
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, details?: unknown, code = 'bad_request') {
    super(400, code, message, { details });
  }
}
export class ValidationError extends AppError {
  constructor(message: string, details?: unknown, status: 400 | 422 = 422) {
    super(status, 'validation_failed', message, { details });
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'unauthorized') {
    super(401, code, message, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'You do not have permission to do this', code = 'forbidden') {
    super(403, code, message);
  }
}
export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'not_found') {
    super(404, code, message);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict', details?: unknown) {
    super(409, code, message, { details });
  }
}
export class TooManyRequestsError extends AppError {
  constructor(message: string, retryAfterSeconds: number) {
    super(429, 'too_many_requests', message, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      details: { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) },
    });
  }
}
export class UpstreamError extends AppError {
  constructor(message: string, opts: AppErrorOptions & { retryable?: boolean } = {}) {
    super(502, 'upstream_error', message, { ...opts, expose: true });
    this.retryable = opts.retryable ?? false;
  }
  readonly retryable: boolean;
}
export class ServiceUnavailableError extends AppError {
  constructor(message: string, code = 'unavailable') {
    super(503, code, message, { expose: true });
  }
}

interface PrismaLikeError {
  code?: unknown;
  meta?: { target?: unknown; modelName?: unknown; field_name?: unknown; cause?: unknown };
  name?: unknown;
}

/** The SQLSTATE of a Postgres error, raw from pg or wrapped by Prisma's driver adapter. */
function postgresCode(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const wrapped = (e as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } } }).meta?.driverAdapterError?.cause;
  const code = wrapped?.originalCode ?? wrapped?.code ?? ((e as { severity?: unknown }).severity !== undefined ? (e as { code?: unknown }).code : undefined);
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Converts anything thrown into an AppError; maps Prisma's known request errors. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as PrismaLikeError | null;
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    switch (e.code) {
      case 'P2002': {
        const target = e.meta?.target;
        const fields = Array.isArray(target) ? target.join(', ') : typeof target === 'string' ? target : undefined;
        return new ConflictError(fields ? `A record with this ${fields} already exists` : 'A record with these values already exists', 'duplicate', fields ? { fields } : undefined);
      }
      case 'P2025':
        return new NotFoundError('The record does not exist (it may have been deleted)');
      case 'P2003':
        return new BadRequestError('The request refers to a record that does not exist', undefined, 'foreign_key');
    }
  }
  // Postgres class 22 ("data exception": a NUL character in text, a number or date out of
  // range, ...) raised by a value that came with the request: the caller's input, not our bug.
  const pgCode = postgresCode(e);
  if (pgCode && pgCode.startsWith('22')) {
    return new BadRequestError('A value in the request cannot be stored or searched for (for example a NUL character, or a number or date out of range)', { sqlstate: pgCode }, 'invalid_value');
  }
  if (e && typeof e === 'object' && (e as { type?: unknown }).type === 'entity.too.large') {
    return new AppError(413, 'payload_too_large', 'The request body is too large');
  }
  if (e && typeof e === 'object' && (e as { type?: unknown }).type === 'entity.parse.failed') {
    return new BadRequestError('The request body is not valid JSON', undefined, 'invalid_json');
  }
  const status = (e as { status?: unknown; statusCode?: unknown } | null)?.status ?? (e as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const msg = err instanceof Error ? err.message : 'Bad request';
    return new AppError(status, 'bad_request', msg);
  }
  return new AppError(500, 'internal_error', 'Internal server error', { expose: false, cause: err });
}
