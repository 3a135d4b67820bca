/**
 * Turns a fired rule into a notification and its deliveries, inside the evaluation's
 * transaction: the inbox row (unique per user and event key, so an event re-delivered to the
 * bus notifies nobody twice) and one delivery row per chosen channel (each enabled webhook
 * endpoint of the owner; e-mail when it is configured). After the commit, the dispatcher is
 * nudged and `notification.created` is emitted.
 */
import type { EventBus } from '../../platform/events.js';
import type { AlertsRepo, LockedRuleRow, Tx } from './alerts.repo.js';
import type { Evaluation } from './evaluate.js';
import type { MailService } from './email.js';

export interface CreatedNotification {
  userId: number;
  notificationId: bigint;
  ruleId: number;
  kind: string;
  eventKey: string;
  deliveries: number;
}

export interface NotifierDeps {
  repo: AlertsRepo;
  mail: MailService;
  events: EventBus;
  /** called after commit when deliveries were queued */
  nudge: () => void;
}

export function createNotifier(deps: NotifierDeps) {
  const { repo, mail } = deps;
  return {
    /** Records a fired rule; null when this (user, eventKey) was already notified. */
    async record(tx: Tx, rule: LockedRuleRow, ev: Required<Pick<Evaluation, 'eventKey' | 'title' | 'body'>> & Pick<Evaluation, 'data'>, now: Date): Promise<CreatedNotification | null> {
      const channels = new Set(rule.channels);
      const id = await repo.insertNotification(tx, {
        userId: rule.userId,
        ruleId: rule.id,
        eventKey: ev.eventKey,
        title: ev.title,
        body: ev.body,
        data: { ...(ev.data ?? {}), rule_id: rule.id, channels: [...channels] },
        createdAt: now,
        // Without the inbox channel the notification is still kept (history, delivery log) but
        // does not count as unread.
        readAt: channels.has('inbox') ? null : now,
      });
      if (id === null) return null;
      const rows: { notificationId: bigint; channel: 'webhook' | 'email'; endpointId: number | null; nextAttemptAt: Date }[] = [];
      if (channels.has('webhook')) {
        for (const e of await repo.enabledEndpoints(tx, [rule.userId])) rows.push({ notificationId: id, channel: 'webhook', endpointId: e.id, nextAttemptAt: now });
      }
      if (channels.has('email') && (await mail.isConfigured())) rows.push({ notificationId: id, channel: 'email', endpointId: null, nextAttemptAt: now });
      await repo.insertDeliveries(tx, rows);
      return { userId: rule.userId, notificationId: id, ruleId: rule.id, kind: rule.kind, eventKey: ev.eventKey, deliveries: rows.length };
    },

    /**
     * An access anomaly (failed-login burst, key spread, request-rate spike) goes to every
     * admin's inbox once: the event key is the anomaly's own id, so a re-delivery adds nothing.
     */
    async notifyAdmins(ev: { eventKey: string; title: string; body: string; data?: unknown }, now: Date): Promise<number> {
      const ids = await repo.transaction(async (tx) => {
        const created: { userId: number; id: bigint }[] = [];
        for (const userId of await repo.adminIds(tx)) {
          const id = await repo.insertNotification(tx, { userId, ruleId: null, eventKey: ev.eventKey, title: ev.title, body: ev.body, data: ev.data ?? null, createdAt: now, readAt: null });
          if (id !== null) created.push({ userId, id });
        }
        return created;
      });
      for (const c of ids) deps.events.emit('notification.created', { userId: c.userId, notificationId: String(c.id), ruleId: null, kind: 'access_anomaly', eventKey: ev.eventKey });
      return ids.length;
    },

    /** After the transaction committed. */
    committed(created: readonly CreatedNotification[]): void {
      if (created.some((c) => c.deliveries > 0)) deps.nudge();
      for (const c of created) {
        deps.events.emit('notification.created', { userId: c.userId, notificationId: String(c.notificationId), ruleId: c.ruleId, kind: c.kind, eventKey: c.eventKey });
      }
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
