/** Form handling shared by the pages: parse a post, or collect messages to show beside fields. */
import type { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import { fieldErrors } from './pages.schemas.js';

export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: Record<string, string> };

export function parseForm<S extends z.ZodType>(schema: S, body: unknown): FormResult<z.infer<S>> {
  const r = schema.safeParse(body ?? {});
  return r.success ? { ok: true, data: r.data } : { ok: false, errors: fieldErrors(r.error.issues) };
}

/**
 * A refusal from a service (bad input, taken name, wrong password, lockout) as form messages;
 * anything else (a bug, the database down) is rethrown for the error page.
 */
export function serviceFormErrors(err: unknown): { status: number; errors: Record<string, string> } {
  if (!(err instanceof AppError) || !err.expose || err.status >= 500) throw err;
  const errors: Record<string, string> = {};
  const d = err.details as unknown;
  if (Array.isArray(d)) {
    for (const item of d as { path?: unknown; message?: unknown }[]) {
      if (typeof item?.path === 'string' && typeof item.message === 'string' && item.path !== '(body)') errors[item.path] ??= `${item.message}`;
    }
  } else if (d && typeof d === 'object' && typeof (d as { field?: unknown }).field === 'string') {
    errors[(d as { field: string }).field] = err.message;
  }
  if (Object.keys(errors).length === 0) errors._form = err.message;
  return { status: err.status, errors };
}

/** Values to put back into a form after a refusal: never a password. */
export function keepValues(body: unknown, fields: string[]): Record<string, string> {
  const b = (body ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const f of fields) out[f] = typeof b[f] === 'string' ? (b[f] as string).slice(0, 300) : '';
  return out;
}
