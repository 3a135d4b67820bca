/** zod at the edge: routes parse their inputs here and hand typed values to services. */
import type { z } from 'zod';
import { ValidationError } from '../platform/errors.js';

function describe(issues: z.core.$ZodIssue[]): { message: string; details: { path: string; message: string }[] } {
  const details = issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
  const message = details.map((d) => (d.path === '(body)' ? d.message : `${d.path}: ${d.message}`)).join('; ');
  return { message, details };
}

/** Parses `value` or throws a 422 (or 400) naming each bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, status: 400 | 422 = 422): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const { message, details } = describe(r.error.issues);
    throw new ValidationError(message || 'Invalid input', details, status);
  }
  return r.data;
}
