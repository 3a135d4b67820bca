/**
 * The alerts pages, over the alerts module's services (src/modules/alerts/index.ts):
 *
 *   /alerts          rules (create, edit, enable/disable, delete) and webhook endpoints
 *                    (create with the secret shown once, test, rotate, enable, delete)
 *   /notifications   the inbox: unread filter, mark one or all read
 *   /notifications/badge   the unread badge in the top bar, polled by htmx every 30 s
 *   /preferences     watchlist, default pair and interval (the time zone stays on /account)
 *
 * Mounted right after the CSRF check and before the other page routers: its first middleware
 * adds "Alerts" to the navigation and the unread count to every signed-in page.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { parse } from '../../http/validate.js';
import { AppError } from '../../platform/errors.js';
import { ADMIN_RULE_KINDS, CHANNELS, RULE_KINDS, intervalLabel, type AlertsModule, type PublicRule, type RuleKind } from '../alerts/index.js';
import type { PageRouteDeps } from './deps.js';
import { keepValues, parseForm, serviceFormErrors } from './forms.js';
import { hxTarget, isHtmx, notify, requirePageUser, type NavItem } from './page-context.js';

export type PagesAlerts = Pick<AlertsModule, 'service' | 'webhooks' | 'preferences' | 'mail'>;

export const KIND_LABELS: Record<RuleKind, string> = {
  price_above: 'Price crosses above a level',
  price_below: 'Price crosses below a level',
  move_pct: 'Moves X % within a window',
  predicted_move_pct: 'Predicted move of X % or more',
  skill_below_naive: 'Live model worse than the naive forecast',
  stale_data: 'No new candles for N intervals',
  anomaly: 'Price anomaly flagged',
};

const CHANNEL_LABELS: Record<string, string> = { inbox: 'Inbox', webhook: 'Webhooks', email: 'E-mail' };

/** One line saying what a rule watches, e.g. "XBTUSD 1h close above 100000". */
export function describeRule(r: PublicRule): string {
  const pair = r.pair ?? 'any pair';
  const iv = r.interval === null ? '' : ` ${intervalLabel(r.interval)}`;
  switch (r.kind) {
    case 'price_above':
      return `${pair}${iv} close above ${r.threshold}`;
    case 'price_below':
      return `${pair}${iv} close below ${r.threshold}`;
    case 'move_pct':
      return `${pair}${iv} moves ${r.threshold} % or more within ${intervalLabel(r.window_minutes)}`;
    case 'predicted_move_pct':
      return `${pair}${iv || ' (any interval)'} predicted to move ${r.threshold} % or more`;
    case 'skill_below_naive':
      return `${pair}${iv || ' (any interval)'} live skill below ${r.threshold ?? 0} %`;
    case 'stale_data':
      return `${pair}${iv} without a new candle for ${r.threshold} intervals`;
    case 'anomaly':
      return `anomalies flagged on ${pair}${iv}`;
    default:
      return r.kind;
  }
}

const optionalNumber = (message: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return n;
    });

const checkboxList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));

const ruleForm = z.object({
  kind: z.enum(RULE_KINDS, { message: 'choose what to watch' }),
  pair: z
    .string()
    .trim()
    .max(40)
    .optional()
    .transform((v) => v || null),
  interval: z
    .enum(['', '60', '1440'], { message: 'must be 1 hour or 1 day' })
    .optional()
    .transform((v) => (v ? Number(v) : undefined)),
  threshold: optionalNumber('must be a number'),
  window_minutes: optionalNumber('must be a whole number of minutes'),
  cooldown_minutes: optionalNumber('must be a whole number of minutes').refine((v) => v === undefined || (Number.isInteger(v) && v >= 0 && v <= 43200), { message: 'must be 0 to 43200 minutes' }),
  channels: checkboxList.pipe(z.array(z.enum(CHANNELS, { message: 'is not a channel' })).min(1, { message: 'choose at least one' })),
  note: z
    .string()
    .trim()
    .max(200, { message: 'must be at most 200 characters' })
    .optional()
    .transform((v) => v || null),
});

const webhookForm = z.object({ url: z.string({ message: 'is required' }).trim().min(1, { message: 'is required' }).max(2000) });

const preferencesForm = z.object({
  watchlist: checkboxList,
  default_pair: z
    .string()
    .trim()
    .max(40)
    .optional()
    .transform((v) => v || null),
  default_interval: z
    .enum(['', '60', '1440'], { message: 'must be 1 hour or 1 day' })
    .optional()
    .transform((v) => (v ? Number(v) : null)),
});

const intId = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const bigId = z.object({ id: z.string().regex(/^[1-9][0-9]{0,18}$/).transform((s) => BigInt(s)) });
const inboxQuery = z.object({
  unread: z.enum(['1', 'true', '0', 'false', '']).optional().transform((v) => v === '1' || v === 'true'),
  before: z.string().regex(/^[1-9][0-9]{0,18}$/).optional().transform((s) => (s ? BigInt(s) : undefined)),
});

export const INBOX_PAGE_SIZE = 30;

interface RulesView {
  values?: Record<string, string | string[]>;
  errors?: Record<string, string>;
}
interface WebhooksView {
  values?: Record<string, string>;
  errors?: Record<string, string>;
  secret?: { id: number; secret: string; rotated: boolean };
  tested?: { id: number; ok: boolean; text: string };
}

function refusal(err: unknown): string {
  if (err instanceof AppError && err.expose && err.status < 500) return err.message;
  throw err;
}

export function createAlertsPagesRouter(deps: PageRouteDeps & { alerts: PagesAlerts }): Router {
  const { alerts } = deps;
  const r = Router();

  // Every signed-in page: the Alerts link and the unread badge in the top bar. Fragments (htmx
  // swaps, polls) carry no top bar, so they skip the count.
  r.use(async (req: Request, res: Response, next: NextFunction) => {
    if (!req.user || isHtmx(req)) return next();
    const nav = (res.locals.nav as NavItem[] | undefined) ?? [];
    const at = nav.findIndex((i) => i.href === '/') + 1;
    res.locals.nav = [...nav.slice(0, at), { href: '/alerts', label: 'Alerts', match: '/alerts' }, ...nav.slice(at)];
    res.locals.notificationsBadge = true;
    res.locals.unreadNotifications = await alerts.service.unreadCount(req.user);
    next();
  });

  r.use(['/alerts', '/notifications', '/preferences'], requirePageUser);

  // ---------------------------------------------------------------- /alerts
  async function alertsData(req: Request, rules: RulesView = {}, hooks: WebhooksView = {}) {
    const user = req.user!;
    const [list, endpoints, pairs, mail] = await Promise.all([alerts.service.listRules(user), alerts.webhooks.list(user), alerts.preferences.trackedPairs(), alerts.mail.isConfigured()]);
    const kinds = RULE_KINDS.filter((k) => user.role === 'admin' || !ADMIN_RULE_KINDS.has(k)).map((k) => ({ value: k, label: KIND_LABELS[k], admin: ADMIN_RULE_KINDS.has(k) }));
    return {
      title: 'Alerts',
      rules: list.map((x) => ({ ...x, summary: describeRule(x) })),
      endpoints,
      pairs,
      kinds,
      kindLabels: KIND_LABELS,
      channels: CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c] ?? c })),
      channelLabels: CHANNEL_LABELS,
      mailConfigured: mail,
      ruleForm: { values: rules.values ?? { kind: 'price_above', pair: pairs[0]?.altname ?? '', interval: '60', threshold: '', window_minutes: '', cooldown_minutes: '60', channels: ['inbox'], note: '' }, errors: rules.errors ?? {} },
      hookForm: { values: hooks.values ?? { url: '' }, errors: hooks.errors ?? {}, secret: hooks.secret, tested: hooks.tested },
    };
  }

  async function showAlerts(req: Request, res: Response, rules?: RulesView, hooks?: WebhooksView, status = 200) {
    res.vary('HX-Target');
    const d = await alertsData(req, rules, hooks);
    res.status(status);
    const target = hxTarget(req);
    if (target === 'alert-rules') return res.render('pages/alerts/_rules', { ...d, fragment: true });
    if (target === 'alert-webhooks') return res.render('pages/alerts/_webhooks', { ...d, fragment: true });
    res.render('pages/alerts/index', d);
  }

  /** After a change: the card again for htmx, or back to the page with the notice. */
  async function afterRules(req: Request, res: Response) {
    if (!isHtmx(req)) return res.redirect(303, '/alerts');
    await showAlerts(req, res);
  }
  async function afterHooks(req: Request, res: Response, view?: WebhooksView) {
    if (!isHtmx(req) && !view?.secret) return res.redirect(303, '/alerts#alert-webhooks');
    // A new secret is shown in this answer only (a plain post renders the page, no redirect).
    if (view?.secret) res.setHeader('Cache-Control', 'no-store');
    await showAlerts(req, res, undefined, view);
  }

  /** `editing`: an empty interval means "any interval" rather than "the kind's default". */
  function toRuleInput(d: z.infer<typeof ruleForm>, editing = false) {
    return {
      pair: d.pair,
      interval: d.interval === undefined && editing ? null : d.interval,
      threshold: d.threshold ?? null,
      window_minutes: d.window_minutes ?? null,
      cooldown_seconds: d.cooldown_minutes === undefined ? undefined : d.cooldown_minutes * 60,
      channels: d.channels,
      note: d.note,
    };
  }

  function ruleValues(body: unknown): Record<string, string | string[]> {
    const v: Record<string, string | string[]> = keepValues(body, ['kind', 'pair', 'interval', 'threshold', 'window_minutes', 'cooldown_minutes', 'note']);
    const ch = (body as Record<string, unknown> | undefined)?.channels;
    v.channels = Array.isArray(ch) ? ch.map(String) : typeof ch === 'string' ? [ch] : [];
    return v;
  }

  r.get('/alerts', (req, res) => showAlerts(req, res));

  r.post('/alerts/rules', async (req, res) => {
    const values = ruleValues(req.body);
    const form = parseForm(ruleForm, req.body);
    if (!form.ok) return showAlerts(req, res, { values, errors: form.errors }, undefined, isHtmx(req) ? 200 : 422);
    try {
      const rule = await alerts.service.createRule(req.user!, { kind: form.data.kind, ...toRuleInput(form.data) });
      notify(deps, req, res, 'success', `Alert created: ${describeRule(rule)}.`);
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return showAlerts(req, res, { values, errors }, undefined, isHtmx(req) ? 200 : status);
    }
    await afterRules(req, res);
  });

  async function showEdit(req: Request, res: Response, rule: PublicRule, view: RulesView = {}, status = 200) {
    const pairs = await alerts.preferences.trackedPairs();
    res.status(status).render('pages/alerts/edit', {
      title: 'Edit alert',
      rule: { ...rule, summary: describeRule(rule) },
      pairs,
      kindLabel: KIND_LABELS[rule.kind as RuleKind] ?? rule.kind,
      channels: CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c] ?? c })),
      form: {
        values: view.values ?? {
          pair: rule.pair ?? '',
          interval: rule.interval === null ? '' : String(rule.interval),
          threshold: rule.threshold === null ? '' : String(rule.threshold),
          window_minutes: rule.window_minutes === null ? '' : String(rule.window_minutes),
          cooldown_minutes: String(Math.round(rule.cooldown_seconds / 60)),
          channels: rule.channels,
          note: rule.note ?? '',
        },
        errors: view.errors ?? {},
      },
    });
  }

  r.get('/alerts/rules/:id/edit', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    await showEdit(req, res, await alerts.service.getRule(req.user!, id));
  });

  r.post('/alerts/rules/:id', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    const rule = await alerts.service.getRule(req.user!, id);
    const values = ruleValues(req.body);
    const form = parseForm(ruleForm, { ...(req.body as object), kind: rule.kind });
    if (!form.ok) return showEdit(req, res, rule, { values, errors: form.errors }, 422);
    try {
      const saved = await alerts.service.updateRule(req.user!, id, toRuleInput(form.data, true));
      notify(deps, req, res, 'success', `Alert saved: ${describeRule(saved)}.`);
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return showEdit(req, res, rule, { values, errors }, status);
    }
    if (isHtmx(req)) {
      res.setHeader('HX-Redirect', '/alerts');
      return res.status(204).end();
    }
    res.redirect(303, '/alerts');
  });

  r.post('/alerts/rules/:id/toggle', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    const rule = await alerts.service.getRule(req.user!, id);
    try {
      const saved = await alerts.service.updateRule(req.user!, id, { enabled: !rule.enabled });
      notify(deps, req, res, 'success', `${saved.enabled ? 'Enabled' : 'Paused'}: ${describeRule(saved)}.`);
    } catch (err) {
      notify(deps, req, res, 'error', refusal(err));
    }
    await afterRules(req, res);
  });

  r.post('/alerts/rules/:id/delete', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    const rule = await alerts.service.getRule(req.user!, id);
    await alerts.service.deleteRule(req.user!, id);
    notify(deps, req, res, 'success', `Alert deleted: ${describeRule(rule)}.`);
    await afterRules(req, res);
  });

  r.post('/alerts/webhooks', async (req, res) => {
    const values = keepValues(req.body, ['url']);
    const form = parseForm(webhookForm, req.body);
    const refused = (errors: Record<string, string>, status: number) => showAlerts(req, res, undefined, { values, errors }, isHtmx(req) ? 200 : status);
    if (!form.ok) return refused(form.errors, 422);
    let url: string;
    try {
      url = new URL(form.data.url).toString();
      if (!/^https?:$/.test(new URL(url).protocol)) throw new Error('scheme');
    } catch {
      return refused({ url: 'must be an absolute http(s) URL' }, 422);
    }
    try {
      const created = await alerts.webhooks.create(req.user!, { url });
      await afterHooks(req, res, { secret: { id: created.id, secret: created.secret, rotated: false } });
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return refused(errors, status);
    }
  });

  r.post('/alerts/webhooks/:id/toggle', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    const ep = await alerts.webhooks.get(req.user!, id);
    const saved = await alerts.webhooks.update(req.user!, id, { enabled: !ep.enabled });
    notify(deps, req, res, 'success', saved.enabled ? 'The webhook is enabled again.' : 'The webhook is disabled.');
    await afterHooks(req, res);
  });

  r.post('/alerts/webhooks/:id/delete', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    await alerts.webhooks.remove(req.user!, id);
    notify(deps, req, res, 'success', 'The webhook was deleted.');
    await afterHooks(req, res);
  });

  r.post('/alerts/webhooks/:id/rotate', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    const rotated = await alerts.webhooks.rotateSecret(req.user!, id);
    await afterHooks(req, res, { secret: { id, secret: rotated.secret, rotated: true } });
  });

  r.post('/alerts/webhooks/:id/test', async (req, res) => {
    const { id } = parse(intId, req.params, 400);
    const t = await alerts.webhooks.sendTest(req.user!, id);
    const text = t.ok ? `The test request was answered with HTTP ${t.status} in ${t.duration_ms} ms.` : `The test request failed: ${t.error}.`;
    notify(deps, req, res, t.ok ? 'success' : 'error', text);
    if (!isHtmx(req)) return res.redirect(303, '/alerts#alert-webhooks');
    await showAlerts(req, res, undefined, { tested: { id, ok: t.ok, text } });
  });

  // ---------------------------------------------------------------- /notifications
  async function showInbox(req: Request, res: Response, q = parse(inboxQuery, req.query, 400)) {
    res.vary('HX-Target');
    const page = await alerts.service.listNotifications(req.user!, { unread: q.unread, limit: INBOX_PAGE_SIZE, before: q.before });
    res.locals.unreadNotifications = page.unread;
    const selfUrl = q.unread ? '/notifications?unread=1' : '/notifications';
    const d = {
      title: 'Notifications',
      items: page.items,
      unread: page.unread,
      onlyUnread: q.unread,
      selfUrl,
      olderUrl: page.next_before ? `${selfUrl}${q.unread ? '&' : '?'}before=${page.next_before}` : null,
      newestUrl: q.before ? selfUrl : null,
    };
    if (hxTarget(req) === 'inbox') return res.render('pages/notifications/_list', { ...d, fragment: true });
    res.render('pages/notifications/index', d);
  }

  async function afterInbox(req: Request, res: Response) {
    if (!isHtmx(req)) return res.redirect(303, '/notifications');
    let q = parse(inboxQuery, {}, 400);
    try {
      const current = req.get('HX-Current-URL');
      if (current) q = parse(inboxQuery, Object.fromEntries(new URL(current).searchParams), 400);
    } catch {
      // keep the defaults
    }
    await showInbox(req, res, q);
  }

  r.get('/notifications', (req, res) => showInbox(req, res));

  r.get('/notifications/badge', async (req, res) => {
    res.render('partials/_notifications-badge', { unreadNotifications: await alerts.service.unreadCount(req.user!) });
  });

  r.post('/notifications/read-all', async (req, res) => {
    const { marked } = await alerts.service.markManyRead(req.user!, 'all');
    notify(deps, req, res, 'success', marked === 1 ? 'One notification marked read.' : `${marked} notifications marked read.`);
    await afterInbox(req, res);
  });

  r.post('/notifications/:id/read', async (req, res) => {
    const { id } = parse(bigId, req.params, 400);
    await alerts.service.markRead(req.user!, id);
    await afterInbox(req, res);
  });

  r.post('/notifications/:id/unread', async (req, res) => {
    const { id } = parse(bigId, req.params, 400);
    await alerts.service.markUnread(req.user!, id);
    await afterInbox(req, res);
  });

  // ---------------------------------------------------------------- /preferences
  async function showPreferences(req: Request, res: Response, view: { errors?: Record<string, string> } = {}, status = 200) {
    const [prefs, pairs] = await Promise.all([alerts.preferences.get(req.user!.id), alerts.preferences.trackedPairs()]);
    res.status(status).render('pages/alerts/preferences', { title: 'Preferences', saved: prefs, pairs, errors: view.errors ?? {} });
  }

  r.get('/preferences', (req, res) => showPreferences(req, res));

  r.post('/preferences', async (req, res) => {
    const form = parseForm(preferencesForm, req.body);
    if (!form.ok) return showPreferences(req, res, { errors: form.errors }, 422);
    try {
      await alerts.preferences.update(req.user!.id, { watchlist: form.data.watchlist, default_pair: form.data.default_pair, default_interval: form.data.default_interval });
    } catch (err) {
      const { status, errors } = serviceFormErrors(err);
      return showPreferences(req, res, { errors }, status);
    }
    notify(deps, req, res, 'success', 'Your watchlist and defaults were saved.');
    if (isHtmx(req)) {
      res.setHeader('HX-Redirect', '/preferences');
      return res.status(204).end();
    }
    res.redirect(303, '/preferences');
  });

  return r;
}
