/** zod schemas for the alerts module's inputs (rules, inbox, webhooks, preferences, SMTP). */
import { z } from 'zod';
import { parseInterval } from '../../platform/candle.js';
import { RULE_KINDS } from './evaluate.js';

export const CHANNELS = ['inbox', 'webhook', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

export const MAX_COOLDOWN_SECONDS = 30 * 86400;

const intervalSchema = z
  .union([z.number(), z.string()], { message: 'must be 60, 1440, "1h" or "1d"' })
  .transform((v, ctx) => {
    const m = parseInterval(v);
    if (m === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be 60, 1440, "1h" or "1d"' });
      return z.NEVER;
    }
    return m as number;
  });

const pairRefSchema = z.union([
  z.number({ message: 'must be a pair id or name' }).int().positive(),
  z.string({ message: 'must be a pair id or name' }).trim().min(1, { message: 'is required' }).max(40, { message: 'is too long' }),
]);

const finite = (msg: string) => z.number({ message: msg }).refine(Number.isFinite, { message: msg });

/** Fields shared by create and update; the service checks which ones each kind needs. */
const ruleFields = {
  pair: pairRefSchema.nullable().optional(),
  interval: intervalSchema.nullable().optional(),
  threshold: finite('must be a number').nullable().optional(),
  window_minutes: z.number({ message: 'must be a whole number of minutes' }).int().positive().max(60 * 24 * 90, { message: 'must be at most 90 days' }).nullable().optional(),
  cooldown_seconds: z.number({ message: 'must be a whole number of seconds' }).int().min(0).max(MAX_COOLDOWN_SECONDS, { message: 'must be at most 30 days' }).optional(),
  channels: z
    .array(z.enum(CHANNELS, { message: `must be one of ${CHANNELS.join(', ')}` }), { message: 'must be a list of channels' })
    .min(1, { message: 'choose at least one channel' })
    .max(3)
    .transform((a) => [...new Set(a)])
    .optional(),
  enabled: z.boolean({ message: 'must be true or false' }).optional(),
  note: z.string({ message: 'must be text' }).trim().max(200, { message: 'must be at most 200 characters' }).nullable().optional(),
};

export const createRuleSchema = z.object({
  kind: z.enum(RULE_KINDS, { message: `must be one of ${RULE_KINDS.join(', ')}` }),
  ...ruleFields,
});
export type CreateRuleInput = z.infer<typeof createRuleSchema>;

export const updateRuleSchema = z
  .object(ruleFields)
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'Give at least one field to change' });
export type UpdateRuleInput = z.infer<typeof updateRuleSchema>;

export const intIdParam = z.object({ id: z.coerce.number({ message: 'must be a number' }).int().positive().max(2 ** 31 - 1) });
export const bigIdParam = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/, { message: 'must be a notification id' })
    .transform((s) => BigInt(s)),
});

export const listNotificationsQuery = z.object({
  unread: z
    .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true' || v === '1'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/, { message: 'must be a notification id' })
    .transform((s) => BigInt(s))
    .optional(),
});

export const markReadSchema = z.union([
  z.object({ all: z.literal(true) }).strict(),
  z.object({ ids: z.array(z.union([z.string().regex(/^[1-9][0-9]{0,18}$/), z.number().int().positive()]), { message: 'must be a list of notification ids' }).min(1).max(500) }).strict(),
]);

export const webhookUrlSchema = z
  .string({ message: 'is required' })
  .trim()
  .min(1, { message: 'is required' })
  .max(2000, { message: 'must be at most 2000 characters' })
  .transform((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
      return z.NEVER;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: 'must use http or https' });
      return z.NEVER;
    }
    u.hash = '';
    return u.toString();
  });

export const createWebhookSchema = z.object({ url: webhookUrlSchema });
export const updateWebhookSchema = z
  .object({ url: webhookUrlSchema.optional(), enabled: z.boolean({ message: 'must be true or false' }).optional() })
  .strict()
  .refine((v) => v.url !== undefined || v.enabled !== undefined, { message: 'Give url or enabled' });

export const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

export const preferencesSchema = z
  .object({
    watchlist: z.array(z.string().trim().min(1).max(40), { message: 'must be a list of pair names' }).max(50, { message: 'can hold at most 50 pairs' }).optional(),
    default_pair: z.string().trim().min(1).max(40).nullable().optional(),
    default_interval: intervalSchema.nullable().optional(),
    time_zone: z.string({ message: 'must be a time zone name' }).trim().min(1).max(64).optional(),
  })
  .strict();
export type PreferencesInput = z.infer<typeof preferencesSchema>;

export const smtpSettingsSchema = z.object({
  url: z
    .string({ message: 'is required' })
    .trim()
    .max(2000)
    .refine((v) => /^smtps?:\/\/[^/]/i.test(v), { message: 'must look like smtp://user:password@host:587 or smtps://...:465' }),
  from: z.string({ message: 'is required' }).trim().min(3).max(254),
});

export const smtpTestSchema = z.object({ to: z.email({ message: 'must be an e-mail address' }).optional() });
