/**
 * The security review's browser findings (issue 15) in real Chromium: the login redirect must
 * not leave the site, and a page on another origin must not be able to sign the browser in
 * (login CSRF through POST /api/auth/login with cookie=true).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startApp, type TestApp } from '../support/app.js';
import { createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../support/auth.js';
import { browserAvailability, loginThroughForm, openSession, type BrowserSession } from './support/browser.js';

const availability = browserAvailability();

if (!availability.ok) {
  if (availability.skip) test('security review in a real browser', { skip: availability.message }, () => undefined);
  else test('browser tests need Chromium', () => assert.fail(availability.message));
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

describe('security review in a real browser', { skip: !availability.ok }, () => {
  let app: TestApp;
  let victim: TestAccount;
  let attacker: TestAccount;
  let evil: http.Server;
  let evilUrl: string;

  before(async () => {
    app = await startApp();
    victim = await createUserAndLogin(app);
    attacker = await createUserAndLogin(app);
    // The attacker's site: another origin (localhost vs 127.0.0.1, another port) whose page
    // auto-submits a login form for the attacker's account to our API.
    evil = http.createServer((_req, res) => {
      const action = new URL('/api/auth/login', app.url).toString();
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html><body>
        <form id="f" method="POST" action="${escapeHtml(action)}">
          <input name="username" value="${escapeHtml(attacker.user.username)}">
          <input name="password" value="${escapeHtml(TEST_PASSWORD)}">
          <input name="cookie" value="true">
        </form>
        <script>document.getElementById('f').submit()</script>
      </body></html>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
    assert.notEqual(new URL(evilUrl).origin, new URL(app.url).origin);
  });

  after(async () => {
    await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
    await app?.stop();
  });

  test('a page on another origin cannot sign the browser in through POST /api/auth/login', async () => {
    const s: BrowserSession = await openSession(app.url);
    try {
      const loginAnswer = s.page.waitForResponse((r) => r.url().endsWith('/api/auth/login'));
      await s.page.goto(evilUrl);
      const answer = await loginAnswer;
      assert.equal(answer.status(), 403, 'the cross-site login is refused');
      assert.equal(answer.request().headers()['origin'], new URL(evilUrl).origin, 'Chromium sent the other origin');
      const cookies = await s.context.cookies(app.url);
      assert.deepEqual(cookies.filter((c) => c.name === 'cc_session'), [], 'no session cookie was set');
      // and the site still shows the browser as signed out
      await s.open('/account');
      assert.equal(new URL(s.page.url()).pathname, '/login');
    } finally {
      await s.close();
    }
  });

  test('a signed-in user following /login?next=%2F.%2F%2Fevil.example stays on this site', async () => {
    const s = await openSession(app.url);
    try {
      await loginThroughForm(s, victim.user.username, TEST_PASSWORD);
      const hosts = new Set<string>();
      s.page.on('request', (r) => hosts.add(new URL(r.url()).host));
      for (const next of ['%2F.%2F%2Fevil.example', '%2F%2E%2F%2Fevil.example%2Fx', '%2Fa%2F..%2F%2Fevil.example', '%2F%5Cevil.example', '%2F.%2F%5Cevil.example']) {
        await s.page.goto(new URL(`/login?next=${next}`, app.url).toString()).catch(() => undefined);
        await s.page.waitForLoadState('load').catch(() => undefined);
        assert.equal(new URL(s.page.url()).origin, new URL(app.url).origin, `next=${next} -> ${s.page.url()}`);
      }
      assert.deepEqual([...hosts].filter((h) => h !== new URL(app.url).host), [], 'no request left the site');
      // a genuine next still works in the browser
      await s.page.goto(new URL(`/login?next=${encodeURIComponent('/account')}`, app.url).toString());
      assert.equal(new URL(s.page.url()).pathname, '/account');
    } finally {
      await s.close();
    }
  });
});
