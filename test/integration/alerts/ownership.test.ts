/**
 * One user can neither see nor change another's rules, notifications or webhooks: every id of
 * someone else's answers 404 (administrators included: the API is "one's own only"), lists hold
 * only one's own, and bulk operations touch only one's own. Also: rule validation per kind and
 * the preferences API.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TestApp } from '../../support/app.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { FakeClock } from '../../../src/platform/clock.js';
import { ensurePair, HOUR, lastClosedOpen, sql, startAlertsApp, storeCloses } from './helpers.js';

describe('alerts ownership, validation and preferences', () => {
  let app: TestApp;
  const clock = new FakeClock(Date.UTC(2025, 8, 1, 10, 15, 0));
  let alice: TestAccount;
  let bob: TestAccount;
  let admin: TestAccount;
  let aliceRule: any;
  let aliceNote: any;
  let aliceHook: any;

  before(async () => {
    app = await startAlertsApp({ clock });
    const pair = await ensurePair(app, 'XBTUSD');
    await ensurePair(app, 'ETHUSD');
    [alice, bob, admin] = await Promise.all([createUserAndLogin(app), createUserAndLogin(app), createUserAndLogin(app, { role: 'admin' })]);
    const t = lastClosedOpen(clock.now().getTime());
    await storeCloses(app, pair, 60, [{ time: t - HOUR, close: 10 }]);
    aliceRule = await app.fetch('/api/alerts/rules', { method: 'POST', token: alice.token, json: { kind: 'price_above', pair: 'xbtusd', threshold: 20 } }).then((r) => r.json());
    clock.advance(HOUR * 1000);
    await storeCloses(app, pair, 60, [{ time: t, close: 25 }]);
    aliceNote = ((await app.fetch('/api/alerts/notifications', { token: alice.token }).then((r) => r.json())) as any).items[0];
    aliceHook = await app.fetch('/api/alerts/webhooks', { method: 'POST', token: alice.token, json: { url: 'https://hooks.example.com/alice' } }).then((r) => r.json());
  });
  after(async () => {
    await app?.stop();
  });

  test('setup: alice has a rule, a notification and a webhook', () => {
    assert.equal(aliceRule.pair, 'XBTUSD');
    assert.ok(aliceNote, 'the crossing notified alice');
    assert.equal(aliceNote.rule_id, aliceRule.id);
    assert.ok(aliceHook.id);
  });

  for (const who of ['bob', 'admin'] as const) {
    test(`${who} gets 404 for each of alice's rules, notifications and webhooks, and changes nothing`, async () => {
      const other = who === 'bob' ? bob : admin;
      const calls: [string, string, unknown?][] = [
        ['GET', `/api/alerts/rules/${aliceRule.id}`],
        ['PATCH', `/api/alerts/rules/${aliceRule.id}`, { threshold: 1 }],
        ['PUT', `/api/alerts/rules/${aliceRule.id}`, { enabled: false }],
        ['DELETE', `/api/alerts/rules/${aliceRule.id}`],
        ['GET', `/api/alerts/notifications/${aliceNote.id}`],
        ['POST', `/api/alerts/notifications/${aliceNote.id}/read`],
        ['POST', `/api/alerts/notifications/${aliceNote.id}/unread`],
        ['GET', `/api/alerts/webhooks/${aliceHook.id}`],
        ['PATCH', `/api/alerts/webhooks/${aliceHook.id}`, { enabled: false }],
        ['DELETE', `/api/alerts/webhooks/${aliceHook.id}`],
        ['POST', `/api/alerts/webhooks/${aliceHook.id}/rotate-secret`],
        ['POST', `/api/alerts/webhooks/${aliceHook.id}/test`],
        ['GET', `/api/alerts/webhooks/${aliceHook.id}/deliveries`],
      ];
      for (const [method, path, json] of calls) {
        const r = await app.fetch(path, { method, token: other.token, json });
        assert.equal(r.status, 404, `${method} ${path} -> ${r.status}`);
        const body = (await r.json()) as any;
        assert.ok(!JSON.stringify(body).includes(aliceNote.title));
      }
      // lists hold only one's own
      for (const path of ['/api/alerts/rules', '/api/alerts/webhooks']) {
        const list = (await app.fetch(path, { token: other.token }).then((r) => r.json())) as any[];
        assert.ok(!list.some((x) => x.id === aliceRule.id || x.id === aliceHook.id), path);
      }
      const inbox = (await app.fetch('/api/alerts/notifications', { token: other.token }).then((r) => r.json())) as any;
      assert.ok(!inbox.items.some((n: any) => n.id === aliceNote.id));
      // bulk "mark read" names alice's id, and marks nothing
      const bulk = await app.fetch('/api/alerts/notifications/read', { method: 'POST', token: other.token, json: { ids: [aliceNote.id] } });
      assert.equal(((await bulk.json()) as any).marked, 0);
      await app.fetch('/api/alerts/notifications/read', { method: 'POST', token: other.token, json: { all: true } });
      // alice's things are untouched
      const rows = await sql(app, 'SELECT threshold, enabled FROM alert_rules WHERE id = $1', [aliceRule.id]);
      assert.deepEqual(rows[0], { threshold: 20, enabled: true });
      const n = await sql(app, 'SELECT "readAt" FROM notifications WHERE id = $1', [aliceNote.id]);
      assert.equal(n[0].readAt, null);
      const h = await sql(app, 'SELECT enabled, "secretEnc" FROM webhook_endpoints WHERE id = $1', [aliceHook.id]);
      assert.equal(h[0].enabled, true);
      assert.equal((await app.fetch(`/api/alerts/rules/${aliceRule.id}`, { token: alice.token })).status, 200);
    });
  }

  test('without a login: 401; a read-only API key may read but not write', async () => {
    assert.equal((await app.fetch('/api/alerts/rules')).status, 401);
    assert.equal((await app.fetch('/api/me/preferences')).status, 401);
    const key = (await app.fetch('/api/auth/api-keys', { method: 'POST', token: alice.token, json: { name: 'ro', scope: 'read' } }).then((r) => r.json())) as any;
    const read = await app.fetch('/api/alerts/rules', { headers: { 'x-api-key': key.key } });
    assert.equal(read.status, 200);
    const write = await app.fetch('/api/alerts/rules', { method: 'POST', headers: { 'x-api-key': key.key }, json: { kind: 'price_above', pair: 'XBTUSD', threshold: 1 } });
    assert.equal(write.status, 403);
  });

  test('rules are validated per kind with messages naming the field', async () => {
    const post = (json: unknown, acc = bob) => app.fetch('/api/alerts/rules', { method: 'POST', token: acc.token, json });
    const cases: [unknown, number, RegExp][] = [
      [{ kind: 'nope' }, 422, /kind: must be one of/],
      [{ kind: 'price_above', pair: 'XBTUSD' }, 422, /threshold: is required for price_above/],
      [{ kind: 'price_above', threshold: 5 }, 422, /pair: is required/],
      [{ kind: 'price_above', pair: 'NOPE', threshold: 5 }, 422, /no pair "NOPE" is stored/],
      [{ kind: 'price_above', pair: 'XBTUSD', threshold: -5 }, 422, /must be a price above 0/],
      [{ kind: 'price_above', pair: 'XBTUSD', threshold: 5, interval: '5m' }, 422, /interval/],
      [{ kind: 'move_pct', pair: 'XBTUSD', threshold: 5 }, 422, /window_minutes: is required/],
      [{ kind: 'move_pct', pair: 'XBTUSD', threshold: 5, window_minutes: 90 }, 422, /multiple of the interval/],
      [{ kind: 'price_above', pair: 'XBTUSD', threshold: 5, channels: ['sms'] }, 422, /channels/],
      [{ kind: 'price_above', pair: 'XBTUSD', threshold: 5, channels: [] }, 422, /at least one channel/],
      [{ kind: 'price_above', pair: 'XBTUSD', threshold: 5, cooldown_seconds: -1 }, 422, /cooldown_seconds/],
      [{ kind: 'stale_data', pair: 'XBTUSD' }, 403, /administrators/],
      [{ kind: 'skill_below_naive', pair: 'XBTUSD' }, 403, /administrators/],
    ];
    for (const [body, status, msg] of cases) {
      const r = await post(body);
      const b = (await r.json()) as any;
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(b.error.message, msg, JSON.stringify(body));
    }
    const ok = await post({ kind: 'move_pct', pair: 'XBTUSD', interval: '1h', threshold: 5, window_minutes: 240, channels: ['inbox', 'webhook', 'inbox'], note: 'watch' });
    assert.equal(ok.status, 201);
    const rule = (await ok.json()) as any;
    assert.deepEqual(rule.channels, ['inbox', 'webhook']);
    assert.equal(rule.cooldown_seconds, 3600);
    const patched = await app.fetch(`/api/alerts/rules/${rule.id}`, { method: 'PATCH', token: bob.token, json: { window_minutes: 30 } });
    assert.equal(patched.status, 422);
    const fine = (await app.fetch(`/api/alerts/rules/${rule.id}`, { method: 'PATCH', token: bob.token, json: { threshold: 7.5, enabled: false } }).then((r) => r.json())) as any;
    assert.deepEqual([fine.threshold, fine.enabled, fine.window_minutes], [7.5, false, 240]);
    const unknown = await app.fetch(`/api/alerts/rules/${rule.id}`, { method: 'PATCH', token: bob.token, json: { kind: 'price_below' } });
    assert.equal(unknown.status, 422, 'the kind of a rule is fixed');
    assert.equal((await app.fetch('/api/alerts/rules/abc', { token: bob.token })).status, 400);
    assert.equal((await app.fetch(`/api/alerts/rules/${rule.id}`, { method: 'DELETE', token: bob.token })).status, 204);
    assert.equal((await app.fetch(`/api/alerts/rules/${rule.id}`, { token: bob.token })).status, 404);
  });

  test('preferences: defaults, validation against stored pairs and known time zones, canonical names', async () => {
    const empty = (await app.fetch('/api/me/preferences', { token: bob.token }).then((r) => r.json())) as any;
    assert.deepEqual(empty, { watchlist: [], default_pair: null, default_interval: null, time_zone: 'UTC', updated_at: null });
    const put = await app.fetch('/api/me/preferences', { method: 'PUT', token: bob.token, json: { watchlist: ['xbtusd', 'ETHUSD', 'XBTUSD'], default_pair: 'ethusd', default_interval: '1d', time_zone: 'europe/paris' } });
    assert.equal(put.status, 200);
    const p = (await put.json()) as any;
    assert.deepEqual([p.watchlist, p.default_pair, p.default_interval, p.time_zone], [['XBTUSD', 'ETHUSD'], 'ETHUSD', 1440, 'Europe/Paris']);
    const badZone = await app.fetch('/api/me/preferences', { method: 'PUT', token: bob.token, json: { time_zone: 'Mars/Olympus' } });
    assert.equal(badZone.status, 422);
    assert.match(((await badZone.json()) as any).error.message, /time_zone: "Mars\/Olympus" is not a time zone/);
    const badPair = await app.fetch('/api/me/preferences', { method: 'PUT', token: bob.token, json: { watchlist: ['XBTUSD', 'DOGEMOON'] } });
    assert.equal(badPair.status, 422);
    assert.match(((await badPair.json()) as any).error.message, /watchlist.1: no pair "DOGEMOON"/);
    const extra = await app.fetch('/api/me/preferences', { method: 'PUT', token: bob.token, json: { theme: 'dark' } });
    assert.equal(extra.status, 422);
    // a partial update keeps the rest; one user's preferences are theirs alone
    const partial = (await app.fetch('/api/me/preferences', { method: 'PATCH', token: bob.token, json: { default_pair: null } }).then((r) => r.json())) as any;
    assert.deepEqual([partial.watchlist, partial.default_pair, partial.time_zone], [['XBTUSD', 'ETHUSD'], null, 'Europe/Paris']);
    const alices = (await app.fetch('/api/me/preferences', { token: alice.token }).then((r) => r.json())) as any;
    assert.equal(alices.time_zone, 'UTC');
  });
});
