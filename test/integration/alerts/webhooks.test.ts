/**
 * Webhooks end to end on the real server and the system clock: a local receiver gets signed
 * requests, failures are retried with backoff under one delivery id, every delivery is logged,
 * an endpoint that keeps failing is disabled, a restart loses nothing, and the signing secret
 * is neither stored nor logged in plain text.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestApp } from '../../support/app.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { ensurePair, HOUR, lastClosedOpen, sql, startAlertsApp, startReceiver, storeCloses, waitFor } from './helpers.js';

describe('webhooks', () => {
  let db: TestDatabase;
  let app: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let pair: { id: number; altname: string; key: string };
  let price = 50;
  // A fixed key, as in production: the restarted process must open what the first one sealed.
  const env = { ALERTS_MAX_ATTEMPTS: '6', ALERTS_DISABLE_AFTER_FAILURES: '4', ENCRYPTION_KEY: randomBytes(32).toString('hex') };

  before(async () => {
    db = await startTestDatabase();
    app = await startAlertsApp({ db, env });
    receiver = await startReceiver();
    pair = await ensurePair(app, 'XBTUSD');
    const t = lastClosedOpen(Date.now());
    await storeCloses(app, pair, 60, Array.from({ length: 6 }, (_, i) => ({ time: t - (5 - i) * HOUR, close: price })));
  });
  after(async () => {
    await app?.stop();
    await receiver?.close();
    await db?.stop();
  });

  async function endpoint(acc: TestAccount, path: string): Promise<any> {
    const r = await app.fetch('/api/alerts/webhooks', { method: 'POST', token: acc.token, json: { url: receiver.url(path) } });
    assert.equal(r.status, 201, await r.clone().text());
    return r.json();
  }
  /** Replaces the newest candle with a higher close so an above-rule fires. */
  async function crossUp(acc: TestAccount): Promise<any> {
    const level = price + 1;
    const rule = await app.fetch('/api/alerts/rules', { method: 'POST', token: acc.token, json: { kind: 'price_above', pair: 'XBTUSD', threshold: level, channels: ['inbox', 'webhook'], cooldown_seconds: 0 } }).then((r) => r.json());
    // A new candle after the newest stored one, still closed "now": the live edge moves on.
    const rows = await sql(app, 'SELECT extract(epoch FROM max(time))::int AS t FROM candles WHERE "pairId" = $1 AND "interval" = 60', [pair.id]);
    const next = rows[0].t + HOUR <= lastClosedOpen(Date.now()) ? rows[0].t + HOUR : rows[0].t;
    if (next === rows[0].t) await sql(app, 'DELETE FROM candles WHERE "pairId" = $1 AND "interval" = 60 AND time = to_timestamp($2)', [pair.id, next]);
    price += 5;
    await storeCloses(app, pair, 60, [{ time: next, close: price }]);
    return rule;
  }

  test('a notification arrives signed; a failing receiver gets retries under the same delivery id; the delivery is logged', async () => {
    const alice = await createUserAndLogin(app);
    const ep = await endpoint(alice, '/alice?token=do-not-log-me');
    assert.match(ep.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.equal(ep.enabled, true);
    receiver.setSecret(ep.secret);
    receiver.failNext(2);
    const start = receiver.received.length;
    const rule = await crossUp(alice);

    const got = await waitFor('three attempts', () => (receiver.received.length - start >= 3 ? receiver.received.slice(start) : undefined));
    assert.deepEqual(got.map((g) => g.answered), [500, 500, 200]);
    for (const g of got) {
      assert.equal(g.validSignature, true, 'X-Candlecast-Signature is HMAC-SHA256 of the raw body with the secret');
      assert.match(String(g.headers['x-candlecast-signature']), /^sha256=[0-9a-f]{64}$/);
      assert.equal(g.headers['content-type'], 'application/json');
      assert.equal(g.headers['x-candlecast-event'], 'notification');
      assert.equal(g.headers['x-candlecast-timestamp'], String(g.body.timestamp));
      assert.ok(Math.abs(Number(g.headers['x-candlecast-timestamp']) - Date.now() / 1000) < 60);
      assert.equal(g.path, '/alice?token=do-not-log-me');
    }
    const ids = new Set(got.map((g) => g.headers['x-candlecast-delivery']));
    assert.equal(ids.size, 1, 'one delivery id across retries (the receiver can deduplicate)');
    assert.deepEqual(got.map((g) => g.body.attempt), [1, 2, 3]);
    const n = got[2]!.body.notification;
    assert.equal(n.rule_id, rule.id);
    assert.equal(n.title, `XBTUSD crossed above ${price - 4}`);
    assert.equal(got[2]!.body.id, got[2]!.headers['x-candlecast-delivery']);

    // the delivery log
    const log = await waitFor('the log to say delivered', async () => {
      const r = (await app.fetch(`/api/alerts/webhooks/${ep.id}/deliveries`, { token: alice.token }).then((x) => x.json())) as any[];
      return r[0]?.status === 'delivered' ? r : undefined;
    });
    assert.equal(log.length, 1);
    assert.equal(log[0].attempts, 3);
    assert.equal(log[0].last_status_code, 200);
    assert.equal(log[0].last_error, null);
    assert.ok(log[0].delivered_at);
    assert.equal(log[0].id, got[2]!.headers['x-candlecast-delivery']);
    // the notification shows its deliveries too, and the endpoint is healthy again
    const detail = (await app.fetch(`/api/alerts/notifications/${n.id}`, { token: alice.token }).then((x) => x.json())) as any;
    assert.equal(detail.deliveries.length, 1);
    assert.equal(detail.deliveries[0].status, 'delivered');
    const after = (await app.fetch(`/api/alerts/webhooks/${ep.id}`, { token: alice.token }).then((x) => x.json())) as any;
    assert.equal(after.consecutive_failures, 0);

    // neither the secret nor the URL's token reached the logs
    const logs = app.logs.join('\n');
    assert.ok(!logs.includes(ep.secret));
    assert.ok(!logs.includes('do-not-log-me'));
    assert.ok(logs.includes('delivery failed; will retry'));
  });

  test('the signing secret is stored encrypted, never as plain text', async () => {
    const u = await createUserAndLogin(app);
    const ep = await endpoint(u, '/enc');
    const rows = await sql(app, 'SELECT * FROM webhook_endpoints WHERE id = $1', [ep.id]);
    const stored = rows[0].secretEnc as string;
    assert.match(stored, /^v1:[0-9a-f]{8}:/);
    const secretPart = ep.secret.slice('whsec_'.length);
    assert.ok(!stored.includes(ep.secret) && !stored.includes(secretPart));
    assert.ok(!JSON.stringify(rows).includes(secretPart));
    // the whole database dump does not contain it either
    const dump = await sql(app, `SELECT string_agg(t::text, ' ') AS all FROM webhook_endpoints t`);
    assert.ok(!String(dump[0].all).includes(secretPart));
    // shown once: the list and the single read never carry it
    const list = await app.fetch('/api/alerts/webhooks', { token: u.token }).then((r) => r.text());
    assert.ok(!list.includes(secretPart));
  });

  test('send test: a signed test request, answered at once; a rotated secret takes effect', async () => {
    const u = await createUserAndLogin(app);
    const ep = await endpoint(u, '/test');
    receiver.setSecret(ep.secret);
    const start = receiver.received.length;
    const r = (await app.fetch(`/api/alerts/webhooks/${ep.id}/test`, { method: 'POST', token: u.token }).then((x) => x.json())) as any;
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    const got = receiver.received[start]!;
    assert.equal(got.headers['x-candlecast-event'], 'test');
    assert.equal(got.validSignature, true);
    const rotated = (await app.fetch(`/api/alerts/webhooks/${ep.id}/rotate-secret`, { method: 'POST', token: u.token }).then((x) => x.json())) as any;
    assert.notEqual(rotated.secret, ep.secret);
    await app.fetch(`/api/alerts/webhooks/${ep.id}/test`, { method: 'POST', token: u.token });
    assert.equal(receiver.received[start + 1]!.validSignature, false, 'the old secret no longer verifies');
    receiver.setSecret(rotated.secret);
    await app.fetch(`/api/alerts/webhooks/${ep.id}/test`, { method: 'POST', token: u.token });
    assert.equal(receiver.received[start + 2]!.validSignature, true);
  });

  test('an endpoint failing attempt after attempt is disabled and its deliveries given up', async () => {
    const u = await createUserAndLogin(app);
    const ep = await endpoint(u, '/down');
    receiver.always(503);
    try {
      await crossUp(u);
      const row = await waitFor('the endpoint to be disabled', async () => {
        const e = (await app.fetch(`/api/alerts/webhooks/${ep.id}`, { token: u.token }).then((x) => x.json())) as any;
        return e.enabled === false ? e : undefined;
      });
      assert.ok(row.disabled_at);
      assert.equal(row.consecutive_failures, 4);
      const log = (await app.fetch(`/api/alerts/webhooks/${ep.id}/deliveries`, { token: u.token }).then((x) => x.json())) as any[];
      assert.equal(log[0].status, 'gave_up');
      assert.equal(log[0].attempts, 4);
      assert.equal(log[0].last_status_code, 503);
      assert.match(log[0].last_error, /disabled after 4 failed attempts/);
      // a disabled endpoint gets nothing new
      const before = receiver.received.filter((g) => g.path === '/down').length;
      await crossUp(u);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(receiver.received.filter((g) => g.path === '/down').length, before);
      // its owner turns it back on with a clean slate
      const on = (await app.fetch(`/api/alerts/webhooks/${ep.id}`, { method: 'PATCH', token: u.token, json: { enabled: true } }).then((x) => x.json())) as any;
      assert.deepEqual([on.enabled, on.consecutive_failures, on.disabled_at], [true, 0, null]);
    } finally {
      receiver.always(null);
    }
  });

  test('a delivery waiting for its retry survives a restart', async () => {
    // Slow retries for this run, so the process can be stopped while the retry waits.
    await app.stop();
    app = await startAlertsApp({ db, env: { ...env, ALERTS_RETRY_BASE_MS: '1500', ALERTS_RETRY_MAX_MS: '1500' } });
    const u = await createUserAndLogin(app);
    const ep = await endpoint(u, '/restart');
    receiver.setSecret(ep.secret);
    receiver.always(500);
    await crossUp(u);
    await waitFor('a first failed attempt', () => receiver.received.some((g) => g.path === '/restart'));
    const waiting = await waitFor('the failure to be recorded', async () => {
      const rows = await sql(app, `SELECT status, attempts, "nextAttemptAt" FROM deliveries WHERE "endpointId" = $1`, [ep.id]);
      return rows[0]?.status === 'failed' ? rows[0] : undefined;
    });
    assert.equal(waiting.attempts, 1);
    assert.ok(new Date(waiting.nextAttemptAt).getTime() > Date.now());
    await app.stop();
    receiver.always(null);
    app = await startAlertsApp({ db, env });
    const delivered = await waitFor('delivery after the restart', () => receiver.received.find((g) => g.path === '/restart' && g.answered === 200));
    assert.equal(delivered.validSignature, true);
    assert.equal(delivered.body.attempt, 2);
    const rows = await sql(app, `SELECT status, attempts FROM deliveries WHERE "endpointId" = $1`, [ep.id]);
    assert.deepEqual([rows[0].status, rows[0].attempts], ['delivered', 2]);
  });

  test('webhook URLs must be absolute http(s) URLs', async () => {
    const u = await createUserAndLogin(app);
    const bad = await app.fetch('/api/alerts/webhooks', { method: 'POST', token: u.token, json: { url: 'ftp://example.com/x' } });
    assert.equal(bad.status, 422);
    const missing = await app.fetch('/api/alerts/webhooks', { method: 'POST', token: u.token, json: {} });
    assert.equal(missing.status, 422);
  });
});
