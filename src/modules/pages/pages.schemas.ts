/**
 * zod schemas of the pages' form posts and query strings. Forms arrive url-encoded, so every
 * field is a string (or missing); empty strings mean "not given". The username and e-mail rules
 * mirror the auth module's (src/modules/auth/auth.schemas.ts); the password policy itself is
 * checked by the auth service, which names the rule a password breaks.
 */
import { z } from 'zod';
import { JOB_STATUSES } from '../../platform/jobs.js';

const text = (max: number) => z.string({ message: 'is required' }).trim().max(max, { message: `must be at most ${max} characters` });
const required = (max: number) => text(max).min(1, { message: 'is required' });

export const usernameField = z
  .string({ message: 'is required' })
  .trim()
  .min(3, { message: 'must be at least 3 characters' })
  .max(32, { message: 'must be at most 32 characters' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'may contain only letters, digits, ".", "_" and "-", and must start with a letter or digit' })
  .transform((s) => s.toLowerCase());

export const emailField = z
  .string({ message: 'is required' })
  .trim()
  .max(254, { message: 'must be at most 254 characters' })
  .toLowerCase()
  .pipe(z.email({ message: 'must be an e-mail address' }));

// Passwords are not trimmed: a space may be part of one.
const passwordField = z.string({ message: 'is required' }).min(1, { message: 'is required' }).max(1024, { message: 'is too long' });

export const loginForm = z.object({
  username: required(256).transform((s) => s.toLowerCase()),
  password: passwordField,
  next: z.string().optional(),
});

function confirmMatches<T extends { password: string; password_confirm: string }>(v: T, ctx: z.RefinementCtx): void {
  if (v.password !== v.password_confirm) ctx.addIssue({ code: 'custom', path: ['password_confirm'], message: 'does not match the password' });
}

export const signupForm = z
  .object({ username: usernameField, email: emailField, password: passwordField, password_confirm: z.string({ message: 'is required' }) })
  .superRefine(confirmMatches);

export const roleField = z.enum(['user', 'admin'], { message: 'must be user or admin' });

export const createUserForm = z
  .object({ username: usernameField, email: emailField, password: passwordField, password_confirm: z.string({ message: 'is required' }), role: roleField })
  .superRefine(confirmMatches);

export const profileForm = z.object({ username: usernameField, email: emailField });

export const passwordForm = z
  .object({ current_password: passwordField, password: passwordField, password_confirm: z.string({ message: 'is required' }) })
  .superRefine(confirmMatches);

export const preferencesForm = z.object({ time_zone: required(64) });

export const apiKeyForm = z.object({
  name: required(100),
  scope: z.enum(['read', 'write'], { message: 'must be read or write' }).default('read'),
  expires_in_days: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 3650) {
        ctx.addIssue({ code: 'custom', message: 'must be a whole number of days from 1 to 3650, or empty for no expiry' });
        return z.NEVER;
      }
      return n;
    }),
});

export const roleForm = z.object({ role: roleField });
export const usernameParam = z.object({ username: z.string().min(1).max(256).transform((s) => s.trim().toLowerCase()) });
export const idParam = z.object({ id: z.string().min(1).max(64) });

const queryInt = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => {
      if (v === undefined || v.trim() === '') return def;
      const n = Number(v);
      return Number.isInteger(n) ? Math.min(max, Math.max(min, n)) : def;
    });

/** Audit filters: lenient, a bad value is ignored rather than refused (it comes from a URL). */
export const auditQuery = z.object({
  action: z.string().max(64).optional().transform((v) => (v ? v : undefined)),
  user: z.string().max(128).optional().transform((v) => (v?.trim() ? v.trim().toLowerCase() : undefined)),
  success: z.enum(['', 'true', 'false']).optional().catch(undefined).transform((v) => (v === 'true' ? true : v === 'false' ? false : undefined)),
  offset: queryInt(0, 0, 1_000_000),
});

export const jobsQuery = z.object({
  job: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/).optional().catch(undefined),
  status: z.enum(JOB_STATUSES).optional().catch(undefined),
  before: z.coerce.number().int().positive().max(2 ** 31 - 1).optional().catch(undefined),
});

export const jobNameParam = z.object({ name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, { message: 'is not a job name' }) });
export const runIdParam = z.object({ id: z.coerce.number({ message: 'is not a run id' }).int().positive().max(2 ** 31 - 1) });

/** zod issues -> { field: message } for showing next to form fields. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const key = i.path.map(String).join('.') || '_form';
    out[key] ??= i.message;
  }
  return out;
}

export const RANGE_PRESETS = { '1m': 30, '3m': 91, '6m': 182, '1y': 365, '3y': 1095, all: null } as const;
export type RangePreset = keyof typeof RANGE_PRESETS;

const dateInput = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .optional()
  .catch(undefined);

/** The data analysis page's query: lenient (a bad value from a URL falls back to the default). */
export const dataQuery = z.object({
  pair: z.string().max(40).optional().catch(undefined),
  interval: z.enum(['1h', '1d']).optional().catch(undefined),
  range: z.enum(Object.keys(RANGE_PRESETS) as [RangePreset, ...RangePreset[]]).optional().catch(undefined),
  from: dateInput,
  to: dateInput,
});

export const catalogueQuery = z.object({ q: z.string().trim().max(40).optional().catch(undefined) });

export const addPairForm = z.object({
  pair: z.string().trim().min(1, { message: 'is required' }).max(40),
  from: z
    .string()
    .optional()
    .transform((v) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : undefined)),
  confirm: z
    .string()
    .optional()
    .transform((v) => v === '1' || v === 'true'),
  q: z.string().max(40).optional(),
});

export const removePairForm = z.object({ purge: z.string().optional().transform((v) => v === '1' || v === 'true' || v === 'on') });
export const confirmForm = z.object({ confirm: z.string().optional().transform((v) => v === '1' || v === 'true') });
export const pairIdParam = z.object({ id: z.coerce.number({ message: 'is not a pair id' }).int().positive().max(2 ** 31 - 1) });
