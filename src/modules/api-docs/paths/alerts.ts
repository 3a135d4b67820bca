/** /api/alerts (rules, inbox, webhooks, e-mail settings) and /api/me/preferences. */
import { z } from 'zod';
import { alertsSchemas as s, RULE_KINDS } from '../../alerts/index.js';
import type { DocRoute } from '../openapi.js';

const iso = z.string().openapi({ format: 'date-time' });
const ruleId = z.object({ id: z.string().openapi({ description: 'rule id', example: '3' }) });
const webhookId = z.object({ id: z.string().openapi({ description: 'webhook endpoint id', example: '2' }) });

const ruleExample = {
  id: 3,
  kind: 'price_above',
  pair: 'XBTUSD',
  pair_id: 1,
  interval: 60,
  threshold: 100000,
  window_minutes: null,
  cooldown_seconds: 3600,
  channels: ['inbox', 'webhook'],
  enabled: true,
  note: 'six figures',
  active: false,
  last_fired_at: null,
  last_evaluated_at: '2026-11-29T18:00:02.000Z',
  created_at: '2026-11-20T10:00:00.000Z',
  updated_at: '2026-11-20T10:00:00.000Z',
};
const rule = z
  .object({
    id: z.number().int(),
    kind: z.enum(RULE_KINDS),
    pair: z.string().nullable(),
    pair_id: z.number().int().nullable(),
    interval: z.number().int().nullable().openapi({ description: 'minutes: 60 or 1440' }),
    threshold: z.number().nullable(),
    window_minutes: z.number().int().nullable(),
    cooldown_seconds: z.number().int(),
    channels: z.array(z.enum(s.CHANNELS)),
    enabled: z.boolean(),
    note: z.string().nullable(),
    active: z.boolean().openapi({ description: 'whether the condition held at the last evaluation' }),
    last_fired_at: iso.nullable(),
    last_evaluated_at: iso.nullable(),
    created_at: iso,
    updated_at: iso,
  })
  .openapi('AlertRule');

const notificationExample = {
  id: '1042',
  rule_id: 3,
  event_key: 'price_above:3:1795896000',
  title: 'XBTUSD closed above 100,000 USD',
  body: 'XBT/USD 1h closed at 100,412.3 USD (threshold 100,000).',
  data: { pair: 'XBTUSD', close: 100412.3 },
  created_at: '2026-11-29T18:00:02.000Z',
  read_at: null,
  read: false,
};
const notification = z
  .object({ id: z.string(), rule_id: z.number().int().nullable(), event_key: z.string(), title: z.string(), body: z.string(), data: z.unknown(), created_at: iso, read_at: iso.nullable(), read: z.boolean() })
  .openapi('Notification');

const deliveryExample = { id: '77', notification_id: '1042', channel: 'webhook', endpoint_id: 2, status: 'delivered', attempts: 1, last_status_code: 200, last_error: null, next_attempt_at: null, created_at: '2026-11-29T18:00:02.000Z', delivered_at: '2026-11-29T18:00:02.300Z' };
const delivery = z
  .object({
    id: z.string(),
    notification_id: z.string(),
    channel: z.string(),
    endpoint_id: z.number().int().nullable(),
    status: z.string(),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    next_attempt_at: iso.nullable(),
    created_at: iso,
    delivered_at: iso.nullable(),
  })
  .openapi('Delivery');

const endpointExample = { id: 2, url: 'https://hooks.example.com/candlecast', enabled: true, consecutive_failures: 0, disabled_at: null, created_at: '2026-11-20T10:05:00.000Z' };
const endpoint = z.object({ id: z.number().int(), url: z.string(), enabled: z.boolean(), consecutive_failures: z.number().int(), disabled_at: iso.nullable(), created_at: iso }).openapi('WebhookEndpoint');
const withSecret = endpoint.extend({ secret: z.string().openapi({ description: 'HMAC-SHA256 signing secret; shown only here' }) });
const secretExample = { ...endpointExample, secret: 'whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0' };

const mailStatus = z.object({ configured: z.boolean(), source: z.enum(['settings', 'environment', 'none']), server: z.string().nullable(), from: z.string().nullable(), error: z.string().optional() });
const mailExample = { configured: true, source: 'settings', server: 'smtp://mail.example.com:587', from: 'candlecast <alerts@example.com>' };

const prefs = z.object({ watchlist: z.array(z.string()), default_pair: z.string().nullable(), default_interval: z.number().int().nullable(), time_zone: z.string(), updated_at: iso.nullable() }).openapi('Preferences');
const prefsExample = { watchlist: ['XBTUSD', 'ETHUSD'], default_pair: 'XBTUSD', default_interval: 1440, time_zone: 'Europe/Paris', updated_at: '2026-11-28T09:00:00.000Z' };

const ruleBodyExample = { kind: 'price_above', pair: 'XBTUSD', interval: '1h', threshold: 100000, cooldown_seconds: 3600, channels: ['inbox', 'webhook'], note: 'six figures' };

const ruleRoute = (method: 'patch' | 'put'): DocRoute => ({
  method,
  path: '/alerts/rules/:id',
  tag: 'alerts',
  summary: method === 'patch' ? 'Change some fields of one of your rules' : 'Change one of your rules (same as PATCH: only the fields given change)',
  access: 'user',
  params: ruleId,
  body: s.updateRuleSchema,
  bodyExample: { threshold: 105000, enabled: true },
  responses: { 200: { description: 'The rule', schema: rule, example: { ...ruleExample, threshold: 105000 } } },
  errors: [404],
});

const prefsRoute = (method: 'put' | 'patch'): DocRoute => ({
  method,
  path: '/me/preferences',
  tag: 'preferences',
  summary: method === 'put' ? 'Change your preferences (only the fields given change)' : 'Change some of your preferences',
  access: 'user',
  body: s.preferencesSchema,
  bodyExample: { watchlist: ['XBTUSD', 'ETHUSD'], time_zone: 'Europe/Paris' },
  responses: { 200: { description: 'Your preferences', schema: prefs, example: prefsExample } },
});

export const alertsPaths: DocRoute[] = [
  { method: 'get', path: '/alerts/rules', tag: 'alerts', summary: 'Your alert rules', access: 'user', responses: { 200: { description: 'Rules', schema: z.array(rule), example: [ruleExample] } } },
  {
    method: 'post',
    path: '/alerts/rules',
    tag: 'alerts',
    summary: 'Create an alert rule',
    description: `Kinds: ${RULE_KINDS.join(', ')} (skill_below_naive and stale_data are for administrators). Rules are evaluated when candles or predictions land, edge-triggered with a cooldown.`,
    access: 'user',
    body: s.createRuleSchema,
    bodyExample: ruleBodyExample,
    responses: { 201: { description: 'Created', schema: rule, example: ruleExample } },
    errors: [404],
  },
  { method: 'get', path: '/alerts/rules/:id', tag: 'alerts', summary: 'One of your rules', access: 'user', params: ruleId, responses: { 200: { description: 'The rule', schema: rule, example: ruleExample } }, errors: [404] },
  ruleRoute('patch'),
  ruleRoute('put'),
  { method: 'delete', path: '/alerts/rules/:id', tag: 'alerts', summary: 'Delete one of your rules', access: 'user', params: ruleId, responses: { 204: { description: 'Deleted' } }, errors: [404] },
  {
    method: 'get',
    path: '/alerts/notifications',
    tag: 'alerts',
    summary: 'Your inbox, newest first (paged with before=<id>)',
    access: 'user',
    query: s.listNotificationsQuery,
    responses: { 200: { description: 'Notifications', schema: z.object({ items: z.array(notification), unread: z.number().int(), next_before: z.string().nullable() }), example: { items: [notificationExample], unread: 1, next_before: null } } },
  },
  { method: 'get', path: '/alerts/notifications/unread-count', tag: 'alerts', summary: 'How many notifications are unread', access: 'user', responses: { 200: { description: 'Count', schema: z.object({ unread: z.number().int() }), example: { unread: 3 } } } },
  {
    method: 'post',
    path: '/alerts/notifications/read',
    tag: 'alerts',
    summary: 'Mark notifications read: {"all": true} or {"ids": [...]}',
    access: 'user',
    body: s.markReadSchema,
    bodyExample: { ids: ['1042', '1043'] },
    responses: { 200: { description: 'How many were marked, and how many stay unread', schema: z.object({ marked: z.number().int(), unread: z.number().int() }), example: { marked: 2, unread: 1 } } },
  },
  {
    method: 'get',
    path: '/alerts/notifications/:id',
    tag: 'alerts',
    summary: 'One notification and its deliveries',
    access: 'user',
    params: s.bigIdParam,
    responses: { 200: { description: 'The notification', schema: notification.extend({ deliveries: z.array(delivery) }), example: { ...notificationExample, deliveries: [deliveryExample] } } },
    errors: [404],
  },
  ...(['read', 'unread'] as const).map(
    (state): DocRoute => ({
      method: 'post',
      path: `/alerts/notifications/:id/${state}`,
      tag: 'alerts',
      summary: `Mark one notification ${state}`,
      access: 'user',
      params: s.bigIdParam,
      responses: { 200: { description: 'The notification', schema: notification, example: { ...notificationExample, read: state === 'read', read_at: state === 'read' ? '2026-11-29T18:30:00.000Z' : null } } },
      errors: [404],
    }),
  ),
  { method: 'get', path: '/alerts/webhooks', tag: 'webhooks', summary: 'Your webhook endpoints', access: 'user', responses: { 200: { description: 'Endpoints', schema: z.array(endpoint), example: [endpointExample] } } },
  {
    method: 'post',
    path: '/alerts/webhooks',
    tag: 'webhooks',
    summary: 'Add a webhook endpoint; answers its signing secret once',
    description: 'Deliveries are POSTs signed with HMAC-SHA256 over the timestamp and body (see the X-Candlecast-Signature header), retried with backoff.',
    access: 'user',
    body: s.createWebhookSchema,
    bodyExample: { url: 'https://hooks.example.com/candlecast' },
    responses: { 201: { description: 'Created', schema: withSecret, example: secretExample } },
  },
  { method: 'get', path: '/alerts/webhooks/:id', tag: 'webhooks', summary: 'One of your endpoints', access: 'user', params: webhookId, responses: { 200: { description: 'The endpoint', schema: endpoint, example: endpointExample } }, errors: [404] },
  {
    method: 'patch',
    path: '/alerts/webhooks/:id',
    tag: 'webhooks',
    summary: 'Change the URL of an endpoint, or enable/disable it',
    access: 'user',
    params: webhookId,
    body: s.updateWebhookSchema,
    bodyExample: { enabled: true },
    responses: { 200: { description: 'The endpoint', schema: endpoint, example: endpointExample } },
    errors: [404],
  },
  { method: 'delete', path: '/alerts/webhooks/:id', tag: 'webhooks', summary: 'Delete an endpoint', access: 'user', params: webhookId, responses: { 204: { description: 'Deleted' } }, errors: [404] },
  { method: 'post', path: '/alerts/webhooks/:id/rotate-secret', tag: 'webhooks', summary: 'Replace the signing secret (the old one stops at once)', access: 'user', params: webhookId, responses: { 200: { description: 'The new secret, shown once', schema: withSecret, example: secretExample } }, errors: [404] },
  {
    method: 'post',
    path: '/alerts/webhooks/:id/test',
    tag: 'webhooks',
    summary: 'Send a signed test delivery now (10 a minute per user)',
    access: 'user',
    params: webhookId,
    responses: {
      200: {
        description: 'What the endpoint answered',
        schema: z.object({ ok: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable(), duration_ms: z.number(), delivery_id: z.string() }),
        example: { ok: true, status: 200, error: null, duration_ms: 184, delivery_id: '78' },
      },
    },
    errors: [404, 429],
  },
  {
    method: 'get',
    path: '/alerts/webhooks/:id/deliveries',
    tag: 'webhooks',
    summary: "An endpoint's recent deliveries",
    access: 'user',
    params: webhookId,
    query: s.deliveriesQuery,
    responses: { 200: { description: 'Deliveries, newest first', schema: z.array(delivery), example: [deliveryExample] } },
    errors: [404],
  },
  { method: 'get', path: '/alerts/admin/smtp', tag: 'alerts admin', summary: 'E-mail (SMTP) status', access: 'admin', responses: { 200: { description: 'Status', schema: mailStatus, example: mailExample } } },
  {
    method: 'put',
    path: '/alerts/admin/smtp',
    tag: 'alerts admin',
    summary: 'Store SMTP settings (encrypted with ENCRYPTION_KEY); they take precedence over SMTP_URL',
    access: 'admin',
    body: s.smtpSettingsSchema,
    bodyExample: { url: 'smtp://alerts:app-password@mail.example.com:587', from: 'candlecast <alerts@example.com>' },
    responses: { 200: { description: 'Status', schema: mailStatus, example: mailExample } },
  },
  { method: 'delete', path: '/alerts/admin/smtp', tag: 'alerts admin', summary: 'Forget the stored SMTP settings (SMTP_URL applies again, if set)', access: 'admin', responses: { 200: { description: 'Status', schema: mailStatus, example: { configured: false, source: 'none', server: null, from: null } } } },
  {
    method: 'post',
    path: '/alerts/admin/smtp/test',
    tag: 'alerts admin',
    summary: 'Send a test e-mail (to you, or to `to`)',
    access: 'admin',
    body: s.smtpTestSchema,
    bodyRequired: false,
    bodyExample: { to: 'ops@example.com' },
    responses: { 200: { description: 'Whether the server accepted it', schema: z.object({ ok: z.boolean(), to: z.string(), error: z.string().nullable() }), example: { ok: true, to: 'ops@example.com', error: null } } },
    errors: [429],
  },
  { method: 'get', path: '/me/preferences', tag: 'preferences', summary: 'Your preferences (watchlist, default pair and interval, time zone)', access: 'user', responses: { 200: { description: 'Preferences', schema: prefs, example: prefsExample } } },
  prefsRoute('put'),
  prefsRoute('patch'),
];
