/**
 * A user's webhook endpoints: create (the signing secret is generated here, sealed with
 * AES-256-GCM, and shown once), list, change, delete, rotate the secret, look at the delivery
 * log, and send a test request right away. Scoped to the caller like rules: another user's
 * endpoint is "not found".
 */
import type { AuthUser } from '../../http/auth-context.js';
import type { Clock } from '../../platform/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import type { AlertsRepo, EndpointRow } from './alerts.repo.js';
import { toPublicDelivery, type PublicDelivery } from './alerts.service.js';
import type { SecretBox } from './crypto.js';
import { buildSignedRequest, describeFailure, displayUrl, generateWebhookSecret, safeUrlForLog, urlTargetProblem, type WebhookTransport } from './webhooks.js';

export const MAX_ENDPOINTS_PER_USER = 10;

export interface PublicEndpoint {
  id: number;
  url: string;
  enabled: boolean;
  consecutive_failures: number;
  disabled_at: string | null;
  created_at: string;
}

export interface WebhooksServiceDeps {
  repo: AlertsRepo;
  box: SecretBox;
  transport: WebhookTransport;
  clock: Clock;
  log: Logger;
  allowPrivate: boolean;
  timeoutMs: number;
}

function toPublic(e: EndpointRow): PublicEndpoint {
  return { id: e.id, url: displayUrl(e.url), enabled: e.enabled, consecutive_failures: e.consecutiveFailures, disabled_at: e.disabledAt?.toISOString() ?? null, created_at: e.createdAt.toISOString() };
}

export function createWebhooksService(deps: WebhooksServiceDeps) {
  const { repo, box, clock } = deps;
  const log = deps.log.child({ component: 'webhooks' });

  function checkTarget(url: string): void {
    const problem = urlTargetProblem(url, deps.allowPrivate);
    if (problem) throw new ValidationError(`url: ${problem}`, [{ path: 'url', message: problem }]);
  }

  async function own(user: AuthUser, id: number): Promise<EndpointRow> {
    const e = await repo.getEndpoint(user.id, id);
    if (!e) throw new NotFoundError(`No webhook endpoint ${id}`, 'webhook_not_found');
    return e;
  }

  return {
    async list(user: AuthUser): Promise<PublicEndpoint[]> {
      return (await repo.listEndpoints(user.id)).map(toPublic);
    },
    async get(user: AuthUser, id: number): Promise<PublicEndpoint> {
      return toPublic(await own(user, id));
    },
    /** Creates an endpoint; the answer carries the signing secret, which is never shown again. */
    async create(user: AuthUser, input: { url: string }): Promise<PublicEndpoint & { secret: string }> {
      checkTarget(input.url);
      if ((await repo.countEndpoints(user.id)) >= MAX_ENDPOINTS_PER_USER) throw new ConflictError(`You already have ${MAX_ENDPOINTS_PER_USER} webhook endpoints`, 'too_many_webhooks');
      const secret = generateWebhookSecret();
      const e = await repo.createEndpoint(user.id, input.url, box.encrypt(secret, 'webhook.secret'));
      log.info({ endpointId: e.id, userId: user.id, target: safeUrlForLog(e.url) }, 'webhook endpoint created');
      return { ...toPublic(e), secret };
    },
    async update(user: AuthUser, id: number, patch: { url?: string; enabled?: boolean }): Promise<PublicEndpoint> {
      if (patch.url !== undefined) checkTarget(patch.url);
      const e = await repo.updateEndpoint(user.id, id, patch);
      if (!e) throw new NotFoundError(`No webhook endpoint ${id}`, 'webhook_not_found');
      return toPublic(e);
    },
    async remove(user: AuthUser, id: number): Promise<void> {
      if (!(await repo.deleteEndpoint(user.id, id))) throw new NotFoundError(`No webhook endpoint ${id}`, 'webhook_not_found');
    },
    /** A new signing secret (shown once); the old one stops working at once. */
    async rotateSecret(user: AuthUser, id: number): Promise<PublicEndpoint & { secret: string }> {
      await own(user, id);
      const secret = generateWebhookSecret();
      const e = await repo.updateEndpoint(user.id, id, { secretEnc: box.encrypt(secret, 'webhook.secret') });
      if (!e) throw new NotFoundError(`No webhook endpoint ${id}`, 'webhook_not_found');
      return { ...toPublic(e), secret };
    },
    async deliveries(user: AuthUser, id: number, limit: number): Promise<(PublicDelivery & { title: string; event_key: string })[]> {
      await own(user, id);
      return (await repo.listDeliveriesOfEndpoint(user.id, id, limit)).map((d) => ({ ...toPublicDelivery(d), title: d.title, event_key: d.eventKey }));
    },
    /**
     * Sends a signed test request now and reports what the receiver answered. Not a delivery:
     * it is not retried and does not count towards disabling the endpoint.
     */
    async sendTest(user: AuthUser, id: number): Promise<{ ok: boolean; status: number | null; error: string | null; duration_ms: number; delivery_id: string }> {
      const e = await own(user, id);
      const secret = box.decrypt(e.secretEnc, 'webhook.secret');
      const now = clock.now();
      const deliveryId = `test-${e.id}-${now.getTime()}`;
      const req = buildSignedRequest(secret, {
        id: deliveryId,
        type: 'test',
        timestamp: Math.floor(now.getTime() / 1000),
        attempt: 1,
        notification: { id: '0', rule_id: null, event_key: deliveryId, title: 'Test from candlecast', body: 'This is a test delivery. If its signature checks out, your endpoint is ready.', created_at: now.toISOString(), data: null },
      });
      const t0 = performance.now();
      try {
        const r = await deps.transport.post(e.url, req, { timeoutMs: deps.timeoutMs });
        const ok = r.status >= 200 && r.status < 300;
        return { ok, status: r.status, error: ok ? null : `HTTP ${r.status}`, duration_ms: Math.round(performance.now() - t0), delivery_id: deliveryId };
      } catch (err) {
        return { ok: false, status: null, error: describeFailure(err), duration_ms: Math.round(performance.now() - t0), delivery_id: deliveryId };
      }
    },

    /** Re-seals every webhook secret that is not sealed with the newest key. */
    async rotateKeys(): Promise<{ total: number; resealed: number; current: number; unreadable: number[] }> {
      const rows = await repo.allEndpointSecrets();
      const out = { total: rows.length, resealed: 0, current: 0, unreadable: [] as number[] };
      for (const r of rows) {
        if (box.isCurrent(r.secretEnc)) {
          out.current += 1;
          continue;
        }
        let plain: string;
        try {
          plain = box.decrypt(r.secretEnc, 'webhook.secret');
        } catch {
          out.unreadable.push(r.id);
          continue;
        }
        if (await repo.replaceEndpointSecret(r.id, r.secretEnc, box.encrypt(plain, 'webhook.secret'))) out.resealed += 1;
        else out.current += 1;
      }
      return out;
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
