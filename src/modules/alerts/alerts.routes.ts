/**
 * The alerts JSON API: /api/alerts/rules, /api/alerts/notifications, /api/alerts/webhooks,
 * /api/alerts/admin/smtp and /api/me/preferences. Routes parse input with zod, declare who may
 * call them and hand typed values to the services, which scope everything to the caller.
 */
import express, { type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { requireRole, requireUser } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import { TooManyRequestsError } from '../../platform/errors.js';
import {
  bigIdParam,
  createRuleSchema,
  createWebhookSchema,
  deliveriesQuery,
  intIdParam,
  listNotificationsQuery,
  markReadSchema,
  preferencesSchema,
  smtpSettingsSchema,
  smtpTestSchema,
  updateRuleSchema,
  updateWebhookSchema,
} from './alerts.schemas.js';
import type { AlertsService } from './alerts.service.js';
import type { MailService } from './email.js';
import type { PreferencesService } from './preferences.service.js';
import type { WebhooksService } from './webhooks.service.js';

export interface AlertsRoutesDeps {
  alerts: AlertsService;
  webhooks: WebhooksService;
  preferences: PreferencesService;
  mail: MailService;
}

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
}

/** Requests that make this server call out (test sends) are limited per user. */
function outboundLimiter() {
  return rateLimit({
    windowMs: 60_000,
    limit: 10,
    keyGenerator: (req) => `user:${req.user?.id ?? 'anonymous'}`,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    validate: { trustProxy: false, xForwardedForHeader: false, keyGeneratorIpFallback: false },
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      next(new TooManyRequestsError('Too many test sends; wait a minute', reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60));
    },
  });
}

export function createAlertsRoutes(deps: AlertsRoutesDeps): Router {
  const { alerts, webhooks, preferences, mail } = deps;
  const r = express.Router();
  const limitOutbound = outboundLimiter();

  // ---------------------------------------------------------------- rules
  r.get('/alerts/rules', requireUser, async (req, res) => {
    res.json(await alerts.listRules(req.user!));
  });
  r.post('/alerts/rules', requireUser, async (req, res) => {
    const input = parse(createRuleSchema, req.body ?? {});
    res.status(201).json(await alerts.createRule(req.user!, input));
  });
  r.get('/alerts/rules/:id', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    res.json(await alerts.getRule(req.user!, id));
  });
  const updateRule = async (req: Request, res: Response) => {
    const { id } = parse(intIdParam, req.params, 400);
    const patch = parse(updateRuleSchema, req.body ?? {});
    res.json(await alerts.updateRule(req.user!, id, patch));
  };
  r.patch('/alerts/rules/:id', requireUser, updateRule);
  r.put('/alerts/rules/:id', requireUser, updateRule);
  r.delete('/alerts/rules/:id', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    await alerts.deleteRule(req.user!, id);
    res.status(204).end();
  });

  // ---------------------------------------------------------------- inbox
  r.get('/alerts/notifications', requireUser, async (req, res) => {
    const q = parse(listNotificationsQuery, req.query, 400);
    noStore(res);
    res.json(await alerts.listNotifications(req.user!, q));
  });
  r.get('/alerts/notifications/unread-count', requireUser, async (req, res) => {
    noStore(res);
    res.json({ unread: await alerts.unreadCount(req.user!) });
  });
  r.post('/alerts/notifications/read', requireUser, async (req, res) => {
    const body = parse(markReadSchema, req.body ?? {});
    res.json(await alerts.markManyRead(req.user!, 'all' in body ? 'all' : body.ids.map((i) => BigInt(i))));
  });
  r.get('/alerts/notifications/:id', requireUser, async (req, res) => {
    const { id } = parse(bigIdParam, req.params, 400);
    noStore(res);
    res.json(await alerts.getNotification(req.user!, id));
  });
  r.post('/alerts/notifications/:id/read', requireUser, async (req, res) => {
    const { id } = parse(bigIdParam, req.params, 400);
    res.json(await alerts.markRead(req.user!, id));
  });
  r.post('/alerts/notifications/:id/unread', requireUser, async (req, res) => {
    const { id } = parse(bigIdParam, req.params, 400);
    res.json(await alerts.markUnread(req.user!, id));
  });

  // ---------------------------------------------------------------- webhooks
  r.get('/alerts/webhooks', requireUser, async (req, res) => {
    res.json(await webhooks.list(req.user!));
  });
  r.post('/alerts/webhooks', requireUser, async (req, res) => {
    const input = parse(createWebhookSchema, req.body ?? {});
    noStore(res);
    res.status(201).json(await webhooks.create(req.user!, input));
  });
  r.get('/alerts/webhooks/:id', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    res.json(await webhooks.get(req.user!, id));
  });
  r.patch('/alerts/webhooks/:id', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    res.json(await webhooks.update(req.user!, id, parse(updateWebhookSchema, req.body ?? {})));
  });
  r.delete('/alerts/webhooks/:id', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    await webhooks.remove(req.user!, id);
    res.status(204).end();
  });
  r.post('/alerts/webhooks/:id/rotate-secret', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    noStore(res);
    res.json(await webhooks.rotateSecret(req.user!, id));
  });
  r.post('/alerts/webhooks/:id/test', requireUser, limitOutbound, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    res.json(await webhooks.sendTest(req.user!, id));
  });
  r.get('/alerts/webhooks/:id/deliveries', requireUser, async (req, res) => {
    const { id } = parse(intIdParam, req.params, 400);
    const { limit } = parse(deliveriesQuery, req.query, 400);
    res.json(await webhooks.deliveries(req.user!, id, limit));
  });

  // ---------------------------------------------------------------- e-mail settings (admins)
  r.get('/alerts/admin/smtp', requireRole('admin'), async (_req, res) => {
    res.json(await mail.status());
  });
  r.put('/alerts/admin/smtp', requireRole('admin'), async (req, res) => {
    res.json(await mail.saveSettings(parse(smtpSettingsSchema, req.body ?? {})));
  });
  r.delete('/alerts/admin/smtp', requireRole('admin'), async (_req, res) => {
    res.json(await mail.clearSettings());
  });
  r.post('/alerts/admin/smtp/test', requireRole('admin'), limitOutbound, async (req, res) => {
    const { to } = parse(smtpTestSchema, req.body ?? {});
    const recipient = to ?? req.user!.email;
    try {
      await mail.send({ to: recipient, subject: '[candlecast] test e-mail', text: 'This is a test e-mail from candlecast. Alerts can reach you by e-mail.' });
      res.json({ ok: true, to: recipient, error: null });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      res.json({ ok: false, to: recipient, error: `${e.code ? `${e.code}: ` : ''}${String(e.message ?? err).slice(0, 300)}` });
    }
  });

  // ---------------------------------------------------------------- preferences
  r.get('/me/preferences', requireUser, async (req, res) => {
    res.json(await preferences.get(req.user!.id));
  });
  const putPrefs = async (req: Request, res: Response) => {
    res.json(await preferences.update(req.user!.id, parse(preferencesSchema, req.body ?? {})));
  };
  r.put('/me/preferences', requireUser, putPrefs);
  r.patch('/me/preferences', requireUser, putPrefs);

  return r;
}
