/**
 * The alerts module: per-user rules evaluated when market data or predictions change, an
 * in-app inbox, signed webhooks and e-mail with persisted retries, and the user's preferences.
 * What other code may use:
 *
 *   createAlertsModule(deps) -> {
 *     wiring,        // ModuleWiring: /api/alerts/*, /api/me/preferences; start() subscribes to
 *                    // the event bus and starts the delivery dispatcher, stop() undoes both
 *     service,       // AlertsService: rules CRUD and the inbox, scoped to the caller
 *     webhooks,      // WebhooksService: endpoints, secrets, test sends, delivery log
 *     preferences,   // PreferencesService: watchlist, default pair/interval, time zone
 *     mail,          // MailService: SMTP status/settings (admins), sending
 *     evaluation,    // EvaluationService: the event handlers (also callable directly)
 *     dispatcher,    // runOnce()/nudge() for the CLI and tests
 *     rotateKeys(),  // re-seals stored secrets with the newest ENCRYPTION_KEY (CLI rotate-keys)
 *   }
 *
 * Events consumed: candles.stored, candles.anomaly, prediction.made, predictions.scored.
 * Event emitted: notification.created. Job defined: alerts-stale-check (CRON_ALERTS_STALE).
 */
import client from 'prom-client';
import type { ModuleWiring } from '../../app.js';
import type { ModuleDeps } from '../../modules.js';
import type { Jobs } from '../../platform/jobs.js';
import { createAlertsRepo } from './alerts.repo.js';
import { createAlertsRoutes } from './alerts.routes.js';
import { createAlertsService, type AlertsService } from './alerts.service.js';
import { createSecretBox } from './crypto.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { createMailService, type MailService, type MailTransportFactory } from './email.js';
import { createEvaluationService, type EvaluationService } from './evaluation.service.js';
import { createNotifier } from './notify.service.js';
import { createPreferencesService, type PreferencesService } from './preferences.service.js';
import { createWebhooksService, type WebhooksService } from './webhooks.service.js';
import { createHttpTransport, type WebhookTransport } from './webhooks.js';

export type { AlertsService, PublicRule, PublicNotification, PublicDelivery } from './alerts.service.js';
export type { WebhooksService, PublicEndpoint } from './webhooks.service.js';
export type { PreferencesService, PublicPreferences } from './preferences.service.js';
export type { MailService, MailStatus, MailTransport, MailTransportFactory } from './email.js';
export type { EvaluationService, EvaluationOutcome } from './evaluation.service.js';
export type { WebhookTransport } from './webhooks.js';
export type { RuleKind } from './evaluate.js';
export { RULE_KINDS, ADMIN_RULE_KINDS, intervalLabel } from './evaluate.js';
export { CHANNELS } from './alerts.schemas.js';
/** input schemas, for the OpenAPI document (src/modules/api-docs) */
export * as alertsSchemas from './alerts.schemas.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, EVENT_HEADER, verifyWebhookSignature, signWebhookBody } from './webhooks.js';
export { canonicalTimeZone } from './preferences.service.js';

export type AlertsModuleDeps = Pick<ModuleDeps, 'config' | 'log' | 'db' | 'secrets' | 'clock' | 'events' | 'metrics'> & {
  /** the scheduler's Jobs port, for the stale-data check; absent: the check runs only after ingests */
  jobs?: Jobs;
  /** tests and special deployments may replace the outside world */
  webhookTransport?: WebhookTransport;
  mailTransport?: MailTransportFactory;
};

export interface RotateKeysReport {
  keyId: string;
  webhookSecrets: { total: number; resealed: number; current: number; unreadable: number[] };
  smtp: 'resealed' | 'current' | 'none' | 'unreadable';
}

export interface AlertsModule {
  wiring: ModuleWiring;
  service: AlertsService;
  webhooks: WebhooksService;
  preferences: PreferencesService;
  mail: MailService;
  evaluation: EvaluationService;
  dispatcher: Pick<Dispatcher, 'runOnce' | 'nudge'>;
  rotateKeys(): Promise<RotateKeysReport>;
}

export const STALE_CHECK_JOB = 'alerts-stale-check';

export function createAlertsModule(deps: AlertsModuleDeps): AlertsModule {
  const { config, db, clock, events } = deps;
  const log = deps.log.child({ module: 'alerts' });
  const repo = createAlertsRepo(db.prisma);
  const box = createSecretBox(deps.secrets.encryptionKeys);
  const transport = deps.webhookTransport ?? createHttpTransport({ allowPrivate: config.ALERTS_WEBHOOK_ALLOW_PRIVATE });
  const mail = createMailService({ repo, box, log, env: { SMTP_URL: config.SMTP_URL, SMTP_FROM: config.SMTP_FROM }, transport: deps.mailTransport });

  const fired = new client.Counter({ name: 'candlecast_alert_notifications_total', help: 'Notifications created by alert rules, by rule kind', labelNames: ['kind'] as const, registers: [deps.metrics.registry] });
  const delivered = new client.Counter({ name: 'candlecast_alert_deliveries_total', help: 'Webhook and e-mail delivery attempts by channel and outcome', labelNames: ['channel', 'outcome'] as const, registers: [deps.metrics.registry] });

  const dispatcher = createDispatcher({
    repo,
    box,
    transport,
    mail,
    clock,
    log,
    publicUrl: config.PUBLIC_URL,
    onOutcome: (channel, outcome) => delivered.inc({ channel, outcome }),
    settings: {
      pollMs: config.ALERTS_DISPATCH_INTERVAL_MS,
      retryBaseMs: config.ALERTS_RETRY_BASE_MS,
      retryMaxMs: config.ALERTS_RETRY_MAX_MS,
      maxAttempts: config.ALERTS_MAX_ATTEMPTS,
      disableAfter: config.ALERTS_DISABLE_AFTER_FAILURES,
      timeoutMs: config.ALERTS_WEBHOOK_TIMEOUT_MS,
      batch: 10,
    },
  });
  const notifier = createNotifier({ repo, mail, events, nudge: () => dispatcher.nudge() });
  const evaluation = createEvaluationService({ repo, notifier, clock, log, onFired: (kind) => fired.inc({ kind }) });
  const service = createAlertsService({ repo, clock });
  const webhooks = createWebhooksService({ repo, box, transport, clock, log, allowPrivate: config.ALERTS_WEBHOOK_ALLOW_PRIVATE, timeoutMs: config.ALERTS_WEBHOOK_TIMEOUT_MS });
  const preferences = createPreferencesService({ repo });

  deps.jobs?.define({
    name: STALE_CHECK_JOB,
    description: 'Judge stale-data alert rules: a pair that stops getting candles sends no event, so this looks on a schedule',
    schedule: config.CRON_ALERTS_STALE,
    run: () => evaluation.checkStaleness(),
  });

  const unsubscribe: (() => void)[] = [];
  const wiring: ModuleWiring = {
    name: 'alerts',
    api: createAlertsRoutes({ alerts: service, webhooks, preferences, mail }),
    start() {
      if (unsubscribe.length) return;
      unsubscribe.push(
        events.on('candles.stored', (e) => evaluation.onCandlesStored(e)),
        events.on('prediction.made', (e) => evaluation.onPredictionMade(e)),
        events.on('predictions.scored', (e) => evaluation.onPredictionsScored(e)),
        events.on('candles.anomaly', (e) => evaluation.onAnomaly(e)),
        events.on('access.anomaly', (e) =>
          notifier.notifyAdmins(
            {
              eventKey: `access-anomaly:${e.id ?? `${e.kind}:${e.subject}:${clock.now().toISOString().slice(0, 13)}`}`,
              title: `Access anomaly: ${e.kind.replace(/_/g, ' ')}`,
              body: e.detail,
              data: { kind: e.kind, subject: e.subject },
            },
            clock.now(),
          ),
        ),
      );
      dispatcher.start();
    },
    async stop() {
      for (const u of unsubscribe.splice(0)) u();
      await dispatcher.stop();
      mail.close();
    },
  };

  return {
    wiring,
    service,
    webhooks,
    preferences,
    mail,
    evaluation,
    dispatcher: { runOnce: () => dispatcher.runOnce(), nudge: () => dispatcher.nudge() },
    async rotateKeys() {
      return { keyId: box.currentKeyId, webhookSecrets: await webhooks.rotateKeys(), smtp: await mail.rotate() };
    },
  };
}
