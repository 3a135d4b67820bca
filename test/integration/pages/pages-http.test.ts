/**
 * The pages over plain HTTP: headers (CSP, cache, compression, Vary), the login redirect and its
 * `next`, CSRF refusals, htmx fragments from the same routes, escaping of user data, sign-up modes.
 * The same flows in a real browser are in test/e2e/pages.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startApp, type TestApp } from '../../support/app.js';
import { createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../../support/auth.js';
import { PageClient } from './support.js';
import { rawGet } from '../../support/raw-get.js';

const require = createRequire(import.meta.url);
const htmxVersion = (require('htmx.org/package.json') as { version: string }).version;
const plotlyVersion = (require('plotly.js-finance-dist-min/package.json') as { version: string }).version;

/** Raw GET, so the transfer encoding and compression headers are seen as sent. */
describe('pages over HTTP', () => {
  let app: TestApp;
  let admin: TestAccount;
  let user: TestAccount;

  before(async () => {
    app = await startApp();
    admin = await createUserAndLogin(app, { role: 'admin' });
    user = await createUserAndLogin(app, { role: 'user' });
  });
  after(async () => {
    await app?.stop();
  });

  test('htmx and Plotly come from node_modules with a versioned URL, a year of immutable cache and compression', async () => {
    const c = new PageClient(app);
    const { html } = await c.get('/login');
    assert.ok(html.includes(`/static/vendor/htmx.min.js?v=${htmxVersion}`), 'the page links the versioned htmx');
    for (const [path, version, minBytes] of [['/static/vendor/htmx.min.js', htmxVersion, 40_000], ['/static/vendor/plotly.min.js', plotlyVersion, 1_000_000]] as const) {
      const plain = await rawGet(`${app.url}${path}?v=${version}`, {});
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.match(String(plain.headers['content-type']), /javascript/);
      assert.ok(plain.bytes > minBytes, `${path} is the real file (${plain.bytes} bytes)`);
      const gz = await rawGet(`${app.url}${path}?v=${version}`, { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(gz.bytes < plain.bytes / 2, `${path} compresses (${gz.bytes} of ${plain.bytes})`);
      // a stale version in the URL still works but is not cached for a year
      const stale = await rawGet(`${app.url}${path}?v=0.0.1`, {});
      assert.equal(stale.status, 200);
      assert.doesNotMatch(String(stale.headers['cache-control']), /immutable/);
    }
  });

  test('pages send a CSP that allows scripts from this origin only, and contain no inline script', async () => {
    const anon = new PageClient(app);
    const c = new PageClient(app);
    await c.login(admin.user.username, TEST_PASSWORD);
    const visits: [PageClient, string][] = [[anon, '/login'], ...['/', '/account', '/admin/users', '/admin/users/new', '/admin/audit', '/jobs'].map((p): [PageClient, string] => [c, p])];
    for (const [client, path] of visits) {
      const { r, html } = await client.get(path);
      assert.equal(r.status, 200, path);
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, `${path}: ${csp}`);
      assert.match(csp, /default-src 'self'/);
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) {
        assert.ok(/\ssrc="\/static\//.test(tag) || /type="application\/json"/.test(tag), `${path}: inline or foreign script ${tag}`);
      }
      assert.doesNotMatch(html, /\son[a-z]+=/i, `${path}: no inline event handlers`);
      assert.match(r.headers.get('vary') ?? '', /HX-Request/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
  });

  test('a signed-out visitor is redirected to log in and back, never to another site', async () => {
    const anon = new PageClient(app);
    const r = await anon.get('/admin/audit?action=auth.login');
    assert.equal(r.r.status, 303);
    assert.equal(r.r.headers.get('location'), '/login?next=%2Fadmin%2Faudit%3Faction%3Dauth.login');
    // an htmx request whose session ended sends the whole window to the login page
    const hx = await anon.get('/account', { 'HX-Request': 'true', 'HX-Current-URL': `${app.url}/account?tab=keys` });
    assert.equal(hx.r.status, 401);
    assert.equal(hx.r.headers.get('hx-redirect'), '/login?next=%2Faccount%3Ftab%3Dkeys');

    const c = new PageClient(app);
    await c.get('/login?next=%2Fadmin%2Faudit');
    const ok = await c.post('/login', { username: admin.user.username, password: TEST_PASSWORD, next: '/admin/audit' });
    assert.equal(ok.r.status, 303);
    assert.equal(ok.r.headers.get('location'), '/admin/audit');
    assert.match(ok.r.headers.getSetCookie().join('\n'), /cc_session=[^;]+;.*HttpOnly/i);

    for (const evil of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const e = new PageClient(app);
      await e.get('/login');
      const out = await e.post('/login', { username: admin.user.username, password: TEST_PASSWORD, next: evil });
      assert.equal(out.r.headers.get('location'), '/', `refuses next=${evil}`);
    }
  });

  test('a wrong password re-renders the form with a message (401), keeping the username', async () => {
    const c = new PageClient(app);
    await c.get('/login');
    const { r, html } = await c.post('/login', { username: user.user.username, password: 'wrong wrong wrong' });
    assert.equal(r.status, 401);
    assert.match(html, /Incorrect username or password/);
    assert.ok(html.includes(`value="${user.user.username}"`));
    assert.ok(!html.includes('wrong wrong wrong'), 'the password is not echoed');
  });

  test('state-changing requests without the CSRF token are refused with 403 (page and htmx fragment)', async () => {
    const c = new PageClient(app);
    await c.login(user.user.username, TEST_PASSWORD);
    const page = await c.post('/account/preferences', { time_zone: 'Europe/Paris' }, { token: false });
    assert.equal(page.r.status, 403);
    assert.match(page.html, /<html/);
    assert.match(page.html, /expired or was not sent from this site/);
    const frag = await c.post('/account/api-keys', { name: 'x' }, { token: false, headers: { 'HX-Request': 'true' } });
    assert.equal(frag.r.status, 403);
    assert.doesNotMatch(frag.html, /<html/);
    assert.equal(frag.r.headers.get('hx-retarget'), '#flash');
    // a wrong token, and a token from another session, are refused as well
    assert.equal((await c.post('/account/preferences', { time_zone: 'UTC' }, { token: 'abc.def' })).r.status, 403);
    const other = new PageClient(app);
    await other.get('/login');
    assert.equal((await c.post('/account/preferences', { time_zone: 'UTC' }, { token: other.csrf })).r.status, 403);
    // the header works like the field (htmx sends the header)
    const viaHeader = await c.post('/account/preferences', { time_zone: 'UTC' }, { token: false, headers: { 'x-csrf-token': c.csrf } });
    assert.equal(viaHeader.r.status, 303);
    // the login form is protected too (login CSRF)
    const anon = new PageClient(app);
    await anon.get('/login');
    assert.equal((await anon.post('/login', { username: user.user.username, password: TEST_PASSWORD }, { token: false })).r.status, 403);
    // nothing changed
    const prefs = await c.get('/account');
    assert.match(prefs.html, /Times are shown in <strong>UTC<\/strong>/);
  });

  test('a user gets the 403 page on admin pages, and admin posts are refused too', async () => {
    const c = new PageClient(app);
    await c.login(user.user.username, TEST_PASSWORD);
    for (const path of ['/admin/users', '/admin/users/new', '/admin/audit', '/jobs']) {
      const { r, html } = await c.get(path);
      assert.equal(r.status, 403, path);
      assert.match(html, /administrators only/);
    }
    const post = await c.post(`/admin/users/${encodeURIComponent(admin.user.username)}/role`, { role: 'user' });
    assert.equal(post.r.status, 403);
    const users = await app.running.app.services.auth.listUsers();
    assert.equal(users.find((u) => u.username === admin.user.username)?.role, 'admin');
  });

  test('full page and htmx fragment come from the same route', async () => {
    const c = new PageClient(app);
    await c.login(admin.user.username, TEST_PASSWORD);
    const full = await c.get('/admin/audit?action=auth.login');
    assert.match(full.html, /<!doctype html>/);
    const frag = await c.get('/admin/audit?action=auth.login', { 'HX-Request': 'true', 'HX-Target': 'audit-results' });
    assert.equal(frag.r.status, 200);
    assert.doesNotMatch(frag.html, /<html|<nav/);
    assert.match(frag.html, /^<section id="audit-results"/);
    assert.match(frag.r.headers.get('vary') ?? '', /HX-Request/);
    assert.match(frag.r.headers.get('vary') ?? '', /HX-Target/);
    const live = await c.get('/jobs', { 'HX-Request': 'true', 'HX-Target': 'jobs-live' });
    assert.match(live.html, /^<div id="jobs-live"/);
    // a history restore asks with HX-Request too, and gets the whole page
    const restore = await c.get('/admin/audit', { 'HX-Request': 'true', 'HX-History-Restore-Request': 'true', 'HX-Target': 'audit-results' });
    assert.match(restore.html, /<!doctype html>/);
  });

  test('user data is HTML-escaped everywhere it is shown', async () => {
    const c = new PageClient(app);
    await c.login(user.user.username, TEST_PASSWORD);
    await c.get('/account');
    const evil = '<img src=x onerror=alert(1)>"\'';
    const created = await c.post('/account/api-keys', { name: evil, scope: 'read' }, { headers: { 'HX-Request': 'true', 'HX-Target': 'api-keys' } });
    assert.equal(created.r.status, 200);
    assert.ok(!created.html.includes('<img src=x'), 'escaped in the fragment');
    assert.ok(created.html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    const page = await c.get('/account');
    assert.ok(!page.html.includes('<img src=x'));
    const adminClient = new PageClient(app);
    await adminClient.login(admin.user.username, TEST_PASSWORD);
    const audit = await adminClient.get('/admin/audit');
    assert.ok(!audit.html.includes('<img src=x'), 'escaped in the audit details');
  });

  test('the API key is shown once, then only its prefix', async () => {
    const c = new PageClient(app);
    await c.login(user.user.username, TEST_PASSWORD);
    await c.get('/account');
    const created = await c.post('/account/api-keys', { name: 'once', scope: 'write', expires_in_days: '30' });
    assert.equal(created.r.status, 201);
    const key = /<code id="new-api-key">([^<]+)<\/code>/.exec(created.html)?.[1];
    assert.ok(key, 'the key is in the answer');
    const later = await c.get('/account');
    assert.ok(!later.html.includes(key), 'never shown again');
    assert.ok(later.html.includes(key.slice(0, 11)), 'its prefix is listed');
    const bad = await c.post('/account/api-keys', { name: '', expires_in_days: '0' });
    assert.equal(bad.r.status, 422);
    assert.match(bad.html, /Name is required/);
    assert.match(bad.html, /whole number of days/);
  });

  test('changing the password keeps this session and ends the others', async () => {
    const victim = await createUserAndLogin(app, { role: 'user' });
    const c = new PageClient(app);
    await c.login(victim.user.username, TEST_PASSWORD);
    await c.get('/account');
    const wrong = await c.post('/account/password', { current_password: 'not it at all', password: 'An0ther good password', password_confirm: 'An0ther good password' });
    assert.equal(wrong.r.status, 403);
    assert.match(wrong.html, /Current password is not correct|current password is not correct/i);
    const mismatch = await c.post('/account/password', { current_password: TEST_PASSWORD, password: 'An0ther good password', password_confirm: 'different' });
    assert.equal(mismatch.r.status, 422);
    assert.match(mismatch.html, /does not match/);
    const ok = await c.post('/account/password', { current_password: TEST_PASSWORD, password: 'An0ther good password', password_confirm: 'An0ther good password' });
    assert.equal(ok.r.status, 303);
    const after = await c.get('/account');
    assert.equal(after.r.status, 200, 'this browser stays signed in');
    assert.match(after.html, /Your password was changed/);
    const old = await app.fetch('/account', { headers: { cookie: victim.cookie } });
    assert.equal(old.status, 303, 'the older session cookie no longer works');
  });
});

describe('sign-up pages', () => {
  test('closed: /signup is a 404 and the login page does not offer it', async () => {
    const app = await startApp({ env: { SIGNUP_MODE: 'closed' } });
    try {
      const c = new PageClient(app);
      assert.equal((await c.get('/signup')).r.status, 404);
      assert.doesNotMatch((await c.get('/login')).html, /href="\/signup"/);
    } finally {
      await app.stop();
    }
  });

  test('open: a visitor signs up and is signed in; mistakes are shown beside the fields', async () => {
    const app = await startApp({ env: { SIGNUP_MODE: 'open' } });
    try {
      const c = new PageClient(app);
      const page = await c.get('/signup');
      assert.equal(page.r.status, 200);
      const bad = await c.post('/signup', { username: 'x', email: 'nope', password: 'short', password_confirm: 'other' });
      assert.equal(bad.r.status, 422);
      assert.match(bad.html, /Username must be at least 3 characters/);
      assert.match(bad.html, /E-mail must be an e-mail address/);
      const weak = await c.post('/signup', { username: 'newbie', email: 'newbie@example.test', password: 'short', password_confirm: 'short' });
      assert.equal(weak.r.status, 422);
      assert.match(weak.html, /field-error/);
      const ok = await c.post('/signup', { username: 'Newbie', email: 'newbie@example.test', password: TEST_PASSWORD, password_confirm: TEST_PASSWORD });
      assert.equal(ok.r.status, 303);
      const home = await c.get('/');
      assert.equal(home.r.status, 200);
      assert.match(home.html, /Welcome, newbie/);
      const taken = new PageClient(app);
      await taken.get('/signup');
      const dup = await taken.post('/signup', { username: 'newbie', email: 'other@example.test', password: TEST_PASSWORD, password_confirm: TEST_PASSWORD });
      assert.equal(dup.r.status, 400);
      assert.match(dup.html, /already taken/);
    } finally {
      await app.stop();
    }
  });
});
