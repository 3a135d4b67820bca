/** zod schemas for the auth module's inputs. Outputs are built in auth.service.ts. */
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH } from './passwords.js';

/** Usernames are case-insensitive: stored and compared in lower case. */
export const usernameSchema = z
  .string({ message: 'must be a string' })
  .trim()
  .min(3, { message: 'must be at least 3 characters' })
  .max(32, { message: 'must be at most 32 characters' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'may contain only letters, digits, ".", "_" and "-", and must start with a letter or digit' })
  .transform((s) => s.toLowerCase());

export const emailSchema = z
  .string({ message: 'must be a string' })
  .trim()
  .max(254, { message: 'must be at most 254 characters' })
  .toLowerCase()
  .pipe(z.email({ message: 'must be an e-mail address' }));

/** Only the bounds here: the policy (passwordProblem) needs the username and runs in the service. */
export const passwordSchema = z
  .string({ message: 'must be a string' })
  .min(1, { message: 'is required' })
  .max(PASSWORD_MAX_LENGTH * 4, { message: `must be at most ${PASSWORD_MAX_LENGTH} characters` });

export const roleSchema = z.enum(['user', 'admin'], { message: 'must be "user" or "admin"' });

/** The OAuth2 password form of the original (form-encoded), or the same fields as JSON. */
export const loginSchema = z.object({
  // Not the username rules: a login must not tell which names could exist.
  username: z.string({ message: 'is required' }).trim().min(1, { message: 'is required' }).max(256, { message: 'is too long' }).transform((s) => s.toLowerCase()),
  password: z.string({ message: 'is required' }).min(1, { message: 'is required' }).max(PASSWORD_MAX_LENGTH * 4, { message: 'is too long' }),
  /** also set the HttpOnly session cookie (for a browser on the same site) */
  cookie: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .optional()
    .transform((v) => v === true || v === 'true' || v === '1'),
});

export const signupSchema = z.object({
  username: usernameSchema,
  email: emailSchema,
  password: passwordSchema,
  role: roleSchema.optional(),
});

export const updateMeSchema = z
  .object({
    username: usernameSchema.optional(),
    email: emailSchema.optional(),
    password: passwordSchema.optional(),
    current_password: z.string({ message: 'must be a string' }).max(PASSWORD_MAX_LENGTH * 4).optional(),
    currentPassword: z.string({ message: 'must be a string' }).max(PASSWORD_MAX_LENGTH * 4).optional(),
    role: z.unknown().optional(),
  })
  .refine((v) => v.username !== undefined || v.email !== undefined || v.password !== undefined || v.role !== undefined, {
    message: 'Give at least one of username, email or password',
  });

export const setRoleSchema = z.object({ role: roleSchema });

export const usernameParamSchema = z.object({
  username: z.string().min(1).max(256).transform((s) => s.trim().toLowerCase()),
});

const scopeInput = z
  .enum(['read', 'write', 'read-only', 'read-write'], { message: 'must be "read" (read-only) or "write" (read-write)' })
  .transform((s): 'read' | 'write' => (s === 'write' || s === 'read-write' ? 'write' : 'read'));

export const createApiKeySchema = z.object({
  name: z.string({ message: 'is required' }).trim().min(1, { message: 'is required' }).max(100, { message: 'must be at most 100 characters' }),
  scope: scopeInput.default('read'),
  expires_in_days: z.number({ message: 'must be a number of days' }).int({ message: 'must be a whole number of days' }).min(1).max(3650).optional(),
});

export const apiKeyIdParamSchema = z.object({ id: z.string().max(64) });

const queryInt = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

export const auditQuerySchema = z.object({
  action: z.string().max(64).optional(),
  user: z.string().max(128).optional(),
  actor_id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, { message: 'must be a user id' })
    .transform(Number)
    .optional(),
  success: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
  limit: queryInt(50, 1, 500),
  offset: queryInt(0, 0, 1_000_000),
});

export const listUsersQuerySchema = z.object({
  limit: queryInt(1000, 1, 1000),
  offset: queryInt(0, 0, 1_000_000),
});

export const logoutSchema = z.object({
  /** also end every other session of this user (bumps the token version) */
  everywhere: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .optional()
    .transform((v) => v === true || v === 'true' || v === '1'),
});

export type SignupInput = z.infer<typeof signupSchema>;
export type UpdateMeInput = z.infer<typeof updateMeSchema>;
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
