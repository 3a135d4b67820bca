/**
 * Delivers webhooks and e-mails from the `deliveries` table. Every delivery is a row (status,
 * attempts, nextAttemptAt, lastStatusCode, lastError), so a restart loses nothing: this small
 * in-process loop claims due rows (a lease, SKIP LOCKED, so several instances share the work),
 * attempts them, and records the outcome. A failed attempt is retried with exponential backoff
 * (base x 2^(attempt-1), capped) until `maxAttempts`; a webhook endpoint that fails
 * `disableAfter` attempts in a row is disabled and its waiting deliveries are given up.
 */
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import type { AlertsRepo, ClaimedDelivery } from './alerts.repo.js';
import type { SecretBox } from './crypto.js';
import type { MailService } from './email.js';
import { buildSignedRequest, describeFailure, safeUrlForLog, type WebhookPayload, type WebhookTransport } from './webhooks.js';

export interface DispatcherSettings {
  /** how often due deliveries are looked for when nothing nudges the loop */
  pollMs: number;
  /** delay before the first retry; doubles with each further attempt */
  retryBaseMs: number;
  /** the longest delay between two attempts */
  retryMaxMs: number;
  /** attempts per delivery before it is given up */
  maxAttempts: number;
  /** failed attempts in a row after which a webhook endpoint is disabled */
  disableAfter: number;
  /** per-request timeout */
  timeoutMs: number;
  /** deliveries attempted side by side */
  batch: number;
}

export interface DispatcherDeps {
  repo: AlertsRepo;
  box: SecretBox;
  transport: WebhookTransport;
  mail: MailService;
  clock: Clock;
  log: Logger;
  settings: DispatcherSettings;
  publicUrl?: string;
  onOutcome?: (channel: string, outcome: 'delivered' | 'retry' | 'gave_up') => void;
}

export function retryDelayMs(attempts: number, s: Pick<DispatcherSettings, 'retryBaseMs' | 'retryMaxMs'>): number {
  return Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** Math.max(0, attempts - 1));
}

export function notificationPayload(d: Pick<ClaimedDelivery, 'id' | 'notificationId' | 'ruleId' | 'eventKey' | 'title' | 'body' | 'notificationCreatedAt' | 'data'>, attempt: number, now: Date): WebhookPayload {
  return {
    id: String(d.id),
    type: 'notification',
    timestamp: Math.floor(now.getTime() / 1000),
    attempt,
    notification: {
      id: String(d.notificationId),
      rule_id: d.ruleId,
      event_key: d.eventKey,
      title: d.title,
      body: d.body,
      created_at: d.notificationCreatedAt.toISOString(),
      data: d.data ?? null,
    },
  };
}

export function createDispatcher(deps: DispatcherDeps) {
  const { repo, box, transport, mail, clock, settings } = deps;
  const log = deps.log.child({ component: 'dispatcher' });
  // A claimed delivery is left alone for this long: enough for one attempt to time out.
  const leaseMs = settings.timeoutMs + 30_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;
  let aborter = new AbortController();

  async function attemptWebhook(d: ClaimedDelivery, attempt: number, now: Date): Promise<{ ok: boolean; status: number | null; error?: string }> {
    if (d.endpointUrl === null || d.endpointSecretEnc === null) return { ok: false, status: null, error: 'the endpoint was deleted' };
    let secret: string;
    try {
      secret = box.decrypt(d.endpointSecretEnc, 'webhook.secret');
    } catch (err) {
      throw new PermanentFailure(`cannot decrypt the endpoint's signing secret: ${(err as Error).message}`);
    }
    const req = buildSignedRequest(secret, notificationPayload(d, attempt, now));
    try {
      const res = await transport.post(d.endpointUrl, req, { timeoutMs: settings.timeoutMs, signal: aborter.signal });
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      return { ok: false, status: res.status, error: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, status: null, error: describeFailure(err) };
    }
  }

  async function attemptEmail(d: ClaimedDelivery): Promise<{ ok: boolean; status: number | null; error?: string }> {
    if (!(await mail.isConfigured())) throw new PermanentFailure('e-mail is not configured');
    const link = deps.publicUrl ? `\n\nYour notifications: ${new URL('/notifications', deps.publicUrl).toString()}` : '';
    try {
      await mail.send({ to: d.userEmail, subject: `[candlecast] ${d.title}`, text: `${d.body}${link}\n\n-- candlecast alerts (rule ${d.ruleId ?? 'deleted'})` });
      return { ok: true, status: null };
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; message?: string };
      return { ok: false, status: typeof e.responseCode === 'number' ? e.responseCode : null, error: (e.code ? `${e.code}: ` : '') + String(e.message ?? err).slice(0, 300) };
    }
  }

  async function process(d: ClaimedDelivery): Promise<void> {
    const now = clock.now();
    if (d.channel === 'webhook' && d.endpointEnabled === false) {
      await repo.giveUp(d.id, 'the endpoint is disabled');
      deps.onOutcome?.(d.channel, 'gave_up');
      return;
    }
    const attempt = d.attempts + 1;
    let r: { ok: boolean; status: number | null; error?: string };
    try {
      if (d.channel === 'webhook') r = await attemptWebhook(d, attempt, now);
      else if (d.channel === 'email') r = await attemptEmail(d);
      else throw new PermanentFailure(`unknown channel ${d.channel}`);
    } catch (err) {
      if (!(err instanceof PermanentFailure)) throw err;
      await repo.giveUp(d.id, err.message);
      log.warn({ deliveryId: String(d.id), channel: d.channel, reason: err.message }, 'delivery given up');
      deps.onOutcome?.(d.channel, 'gave_up');
      return;
    }
    // Shutting down mid-attempt: hand the row back (due now) for the next process or instance,
    // without counting an attempt the receiver may never have seen.
    if (aborter.signal.aborted && !r.ok) {
      await repo.release(d.id, clock.now());
      return;
    }
    const done = clock.now();
    if (r.ok) {
      await repo.markDelivered(d.id, attempt, r.status, done);
      if (d.endpointId !== null && d.channel === 'webhook') await repo.endpointSucceeded(d.endpointId);
      log.info({ deliveryId: String(d.id), channel: d.channel, attempt, status: r.status, target: d.channel === 'webhook' && d.endpointUrl ? safeUrlForLog(d.endpointUrl) : undefined }, 'delivered');
      deps.onOutcome?.(d.channel, 'delivered');
      return;
    }
    const giveUp = attempt >= settings.maxAttempts || (d.channel === 'webhook' && d.endpointUrl === null);
    const next = giveUp ? null : new Date(done.getTime() + retryDelayMs(attempt, settings));
    await repo.markAttemptFailed(d.id, attempt, r.status, r.error ?? 'failed', next);
    deps.onOutcome?.(d.channel, giveUp ? 'gave_up' : 'retry');
    log.warn(
      { deliveryId: String(d.id), channel: d.channel, attempt, status: r.status, error: r.error, nextAttemptAt: next?.toISOString() ?? null, target: d.endpointUrl ? safeUrlForLog(d.endpointUrl) : undefined },
      giveUp ? 'delivery failed; giving up' : 'delivery failed; will retry',
    );
    if (d.channel === 'webhook' && d.endpointId !== null) {
      const f = await repo.endpointFailed(d.endpointId, settings.disableAfter, done);
      if (f.disabled) log.warn({ endpointId: d.endpointId, failures: f.failures, target: d.endpointUrl ? safeUrlForLog(d.endpointUrl) : undefined }, 'webhook endpoint disabled after repeated failures');
    }
  }

  /** One pass: claims due deliveries and attempts them, until none is due. Returns how many were attempted. */
  async function runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const now = clock.now();
      const due = await repo.claimDue(now, new Date(now.getTime() + leaseMs), settings.batch);
      if (due.length === 0) return total;
      total += due.length;
      const results = await Promise.allSettled(due.map((d) => process(d)));
      for (const r of results) if (r.status === 'rejected') log.error({ err: r.reason }, 'delivery attempt crashed; it will be retried after its lease');
      if (stopped) return total;
    }
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref();
  }

  function tick(): void {
    timer = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        await runOnce();
      } catch (err) {
        log.error({ err }, 'delivery pass failed');
      }
    })().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        schedule(0);
      } else schedule(settings.pollMs);
    });
  }

  return {
    runOnce,
    start(): void {
      if (!stopped) return;
      stopped = false;
      aborter = new AbortController();
      schedule(0);
    },
    /** New deliveries were committed: look now rather than at the next poll. */
    nudge(): void {
      if (stopped) return;
      if (running) again = true;
      else schedule(0);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      aborter.abort();
      await running;
    },
  };
}

class PermanentFailure extends Error {}

export type Dispatcher = ReturnType<typeof createDispatcher>;
