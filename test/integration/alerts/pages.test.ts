/**
 * The alerts pages over HTTP with a browser-like cookie client: the rules page (create, refuse
 * with field messages, edit, pause, delete), webhooks (secret shown once), the inbox with its
 * badge and mark-read, the watchlist page; CSRF is required and another user's ids are 404.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/platform/clock.js';
import type { TestApp } from '../../support/app.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { PageClient } from '../pages/support.js';
import { ensurePair, HOUR, lastClosedOpen, startAlertsApp, storeCloses } from './helpers.js';

async function postForm(c: PageClient, pathname: string, entries: [string, string][], headers: Record<string, string> = {}, withToken = true) {
  const body = new URLSearchParams(entries);
  if (withToken) body.set('_csrf', c.csrf);
  const r = await c.app.fetch(pathname, {
    method: 'POST',
    headers: { cookie: c.cookieHeader(), origin: new URL(c.app.url).origin, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: body.toString(),
  });
  return { r, html: await r.text() };
}

describe('alerts pages', () => {
  let app: TestApp;
  const clock = new FakeClock(Date.UTC(2025, 9, 1, 8, 20, 0));
  let pair: { id: number; altname: string; key: string };
  let alice: TestAccount;
  let bob: TestAccount;
  let a: PageClient;
  let b: PageClient;

  before(async () => {
    app = await startAlertsApp({ clock });
    pair = await ensurePair(app, 'XBTUSD');
    [alice, bob] = await Promise.all([createUserAndLogin(app), createUserAndLogin(app)]);
    a = new PageClient(app);
    b = new PageClient(app);
    await a.login(alice.user.username, alice.password);
    await b.login(bob.user.username, bob.password);
    await storeCloses(app, pair, 60, [{ time: lastClosedOpen(clock.now().getTime()), close: 10 }]);
  });
  after(async () => {
    await app?.stop();
  });

  test('the rules page: navigation link, inbox badge, create, refusal with field messages, CSRF', async () => {
    const { r, html } = await a.get('/alerts');
    assert.equal(r.status, 200);
    assert.match(html, /<a href="\/alerts" aria-current="page">Alerts<\/a>/);
    assert.match(html, /id="nav-inbox"[^>]*hx-get="\/notifications\/badge"[^>]*hx-trigger="every 30s"/);
    assert.match(html, /No alert rules yet/);
    assert.ok(!/Price anomaly flagged/.test(html), 'admin kinds are not offered to users');

    const created = await postForm(a, '/alerts/rules', [['kind', 'price_above'], ['pair', 'XBTUSD'], ['interval', '60'], ['threshold', '20'], ['cooldown_minutes', '0'], ['channels', 'inbox'], ['channels', 'webhook'], ['note', '<script>alert(1)</script>']]);
    assert.equal(created.r.status, 303);
    const page = (await a.get('/alerts')).html;
    assert.match(page, /XBTUSD 1h close above 20/);
    assert.match(page, /Inbox, Webhooks/);
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && !page.includes('<script>alert(1)</script>'), 'user text is escaped');

    const refused = await postForm(a, '/alerts/rules', [['kind', 'move_pct'], ['pair', 'XBTUSD'], ['threshold', '5'], ['channels', 'inbox']], { 'hx-request': 'true', 'hx-target': 'alert-rules' });
    assert.equal(refused.r.status, 200);
    assert.match(refused.html, /^<section class="card" id="alert-rules">/);
    assert.match(refused.html, /Window \(minutes\) is required for move_pct/);
    const noChannel = await postForm(a, '/alerts/rules', [['kind', 'price_below'], ['pair', 'XBTUSD'], ['threshold', '5']]);
    assert.equal(noChannel.r.status, 422);
    assert.match(noChannel.html, /Channels: choose at least one/);

    const forged = await postForm(a, '/alerts/rules', [['kind', 'price_above'], ['pair', 'XBTUSD'], ['threshold', '1'], ['channels', 'inbox']], {}, false);
    assert.equal(forged.r.status, 403);
  });

  test('edit, pause and delete; another user gets 404 for each', async () => {
    const rules = (await app.fetch('/api/alerts/rules', { token: alice.token }).then((r) => r.json())) as any[];
    const rule = rules[0];
    const edit = await a.get(`/alerts/rules/${rule.id}/edit`);
    assert.equal(edit.r.status, 200);
    assert.match(edit.html, /value="20"/);
    for (const [method, path] of [['GET', `/alerts/rules/${rule.id}/edit`], ['POST', `/alerts/rules/${rule.id}`], ['POST', `/alerts/rules/${rule.id}/toggle`], ['POST', `/alerts/rules/${rule.id}/delete`]] as const) {
      const res = method === 'GET' ? (await b.get(path)).r : (await postForm(b, path, [['threshold', '1'], ['channels', 'inbox']])).r;
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const saved = await postForm(a, `/alerts/rules/${rule.id}`, [['pair', 'XBTUSD'], ['interval', '60'], ['threshold', '30'], ['cooldown_minutes', '0'], ['channels', 'inbox']]);
    assert.equal(saved.r.status, 303);
    const paused = await postForm(a, `/alerts/rules/${rule.id}/toggle`, [], { 'hx-request': 'true', 'hx-target': 'alert-rules' });
    assert.match(paused.html, /XBTUSD 1h close above 30/);
    assert.match(paused.html, /<span class="badge">paused<\/span>/);
    assert.match(paused.html, /Paused: XBTUSD 1h close above 30/, 'the notice comes with the fragment');
    await postForm(a, `/alerts/rules/${rule.id}/toggle`, []);
    const after = (await app.fetch(`/api/alerts/rules/${rule.id}`, { token: alice.token }).then((r) => r.json())) as any;
    assert.deepEqual([after.threshold, after.enabled, after.channels], [30, true, ['inbox']]);
  });

  test('webhooks: the signing secret is shown once', async () => {
    const created = await postForm(a, '/alerts/webhooks', [['url', 'https://hooks.example.com/alice']], { 'hx-request': 'true', 'hx-target': 'alert-webhooks' });
    assert.equal(created.r.status, 200);
    const m = /<code id="new-webhook-secret">(whsec_[A-Za-z0-9_-]+)<\/code>/.exec(created.html);
    assert.ok(m, 'the secret is in the answer');
    assert.equal(created.r.headers.get('cache-control'), 'no-store');
    const again = (await a.get('/alerts')).html;
    assert.match(again, /hooks\.example\.com\/alice/);
    assert.ok(!again.includes(m![1]!), 'and never again');
    const bad = await postForm(a, '/alerts/webhooks', [['url', 'ftp://x']], { 'hx-request': 'true', 'hx-target': 'alert-webhooks' });
    assert.match(bad.html, /URL must be an absolute http\(s\) URL/);
  });

  test('the inbox: a notification appears with the badge; marking read clears the badge', async () => {
    clock.advance(HOUR * 1000);
    await storeCloses(app, pair, 60, [{ time: lastClosedOpen(clock.now().getTime()), close: 35 }]);
    const { html } = await a.get('/notifications');
    assert.match(html, /XBTUSD crossed above 30/);
    assert.match(html, /id="nav-inbox"[^>]*>Inbox <span class="badge badge-warn" aria-label="1 unread">1<\/span>/);
    const badge = await a.get('/notifications/badge', { 'hx-request': 'true' });
    assert.match(badge.html, /aria-label="1 unread"/);
    const id = /id="notification-(\d+)"/.exec(html)![1];
    assert.equal((await postForm(b, `/notifications/${id}/read`, [])).r.status, 404, "bob cannot mark alice's notification");
    const read = await postForm(a, `/notifications/${id}/read`, [], { 'hx-request': 'true', 'hx-target': 'inbox' });
    assert.equal(read.r.status, 200);
    assert.match(read.html, /^<section class="card" id="inbox">/);
    assert.match(read.html, /<a href="\/notifications" id="nav-inbox"[^>]*hx-swap-oob="true"[^>]*>Inbox<\/a>/, 'the badge is refreshed out of band, without a count');
    const unread = (await a.get('/notifications?unread=1')).html;
    assert.match(unread, /Nothing unread/);
    const bobs = (await b.get('/notifications')).html;
    assert.ok(!bobs.includes('crossed above 30'));
  });

  test('the watchlist page saves through the preferences service', async () => {
    const { r, html } = await a.get('/preferences');
    assert.equal(r.status, 200);
    assert.match(html, /value="XBTUSD"/);
    const saved = await postForm(a, '/preferences', [['watchlist', 'XBTUSD'], ['default_pair', 'XBTUSD'], ['default_interval', '1440']]);
    assert.equal(saved.r.status, 303);
    const p = (await app.fetch('/api/me/preferences', { token: alice.token }).then((x) => x.json())) as any;
    assert.deepEqual([p.watchlist, p.default_pair, p.default_interval], [['XBTUSD'], 'XBTUSD', 1440]);
    const bad = await postForm(a, '/preferences', [['watchlist', 'NOPE']]);
    assert.equal(bad.r.status, 422);
    assert.match(bad.html, /Watchlist: is not a stored pair/);
  });

  test('signed-out visitors are sent to the login page', async () => {
    const r = await app.fetch('/alerts');
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/login?next=%2Falerts');
  });
});
