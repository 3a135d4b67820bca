/**
 * The pages in a real browser (Chromium through playwright-core): log in as an admin and as a
 * user, open every page, no console errors, htmx interactions, admin pages refused to users,
 * CSRF refusals, the login round trip. Screenshots go to test-results/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../support/app.js';
import { createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../support/auth.js';
import type { SchedulerService } from '../../src/modules/scheduler/index.js';
import { browserAvailability, loginThroughForm, openSession, type BrowserSession } from './support/browser.js';

// The few browser globals the page.evaluate callbacks use (this file is compiled without the DOM lib).
declare const window: { htmx?: unknown };
declare const document: { querySelector(selector: string): { remove(): void } | null; documentElement: { scrollWidth: number; clientWidth: number } };

const availability = browserAvailability();

if (!availability.ok) {
  // Missing Chromium fails the run (CI must not pass without its browser tests) unless skipped on purpose.
  if (availability.skip) test('pages in a real browser', { skip: availability.message }, () => undefined);
  else test('browser tests need Chromium', () => assert.fail(availability.message));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pages in a real browser', { skip: !availability.ok }, () => {
  let app: TestApp;
  let admin: TestAccount;
  let user: TestAccount;
  let adminBrowser: BrowserSession;
  let userBrowser: BrowserSession;

  before(async () => {
    app = await startApp();
    const scheduler = app.running.app.services.scheduler as SchedulerService;
    // Two jobs to look at: one that takes a few seconds and reports progress, one on a schedule.
    scheduler.define({
      name: 'demo-progress',
      description: 'Counts to ten slowly, reporting progress (test job)',
      async run(ctx) {
        for (let i = 1; i <= 10; i++) {
          if (ctx.signal.aborted) throw new Error('aborted');
          await sleep(450);
          await ctx.progress(i / 10, `step ${i} of 10`);
        }
        return { steps: 10 };
      },
    });
    scheduler.define({ name: 'demo-nightly', description: 'Does nothing at 03:00 (test job)', schedule: '0 3 * * *', run: async () => ({ ok: true }) });
    admin = await createUserAndLogin(app, { role: 'admin' });
    user = await createUserAndLogin(app, { role: 'user' });
    adminBrowser = await openSession(app.url);
    userBrowser = await openSession(app.url);
  });

  after(async () => {
    await adminBrowser?.close();
    await userBrowser?.close();
    await app?.stop();
  });

  test('a signed-out visitor is sent to log in, and back to the page afterwards', async () => {
    const s = adminBrowser;
    const r = await s.open('/account');
    assert.equal(new URL(s.page.url()).pathname, '/login');
    assert.equal(new URL(s.page.url()).searchParams.get('next'), '/account');
    assert.equal(r?.status(), 200);
    await s.screenshot('login');
    await s.page.fill('#f-username', admin.user.username);
    await s.page.fill('#f-password', TEST_PASSWORD);
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/account'), s.page.click('main button[type=submit]')]);
    assert.match(await s.page.textContent('h1') ?? '', /Your account/);
    s.assertNoProblems('login round trip');
  });

  test('a wrong password shows a message on the login page', async () => {
    const s = userBrowser;
    await s.open('/login');
    await s.page.fill('#f-username', user.user.username);
    await s.page.fill('#f-password', 'not the password at all');
    await Promise.all([s.page.waitForLoadState('load'), s.page.click('main button[type=submit]')]);
    assert.match((await s.page.textContent('.flash-error')) ?? '', /Incorrect username or password/);
    await s.screenshot('login-refused');
    s.takeProblems(); // the 401 document itself is reported by Chromium as a failed resource
    await loginThroughForm(s, user.user.username, TEST_PASSWORD);
    assert.equal(new URL(s.page.url()).pathname, '/');
    s.assertNoProblems('user login');
  });

  test('an admin opens every page without console errors', async () => {
    const s = adminBrowser;
    const pages: [string, string, RegExp][] = [
      ['/', 'admin-home', /Welcome/],
      ['/account', 'admin-account', /Your account/],
      ['/admin/users', 'admin-users', /Users/],
      ['/admin/users/new', 'admin-create-user', /Create a user/],
      ['/admin/audit', 'admin-audit', /Audit log/],
      ['/jobs', 'admin-jobs', /Jobs/],
    ];
    for (const [path, name, heading] of pages) {
      const r = await s.open(path);
      assert.equal(r?.status(), 200, `${path} answers 200`);
      assert.match((await s.page.textContent('h1')) ?? '', heading, `${path} heading`);
      // htmx and the app script are loaded from this origin (CSP allows nothing else)
      assert.equal(await s.page.evaluate(() => typeof window.htmx), 'object', `${path}: htmx loaded`);
      await s.screenshot(name);
      s.assertNoProblems(path);
    }
  });

  test('the Admin menu in the top bar opens, leads to a page and closes on Escape', async () => {
    const s = adminBrowser;
    await s.open('/');
    await s.page.click('nav summary:has-text("Admin")');
    await s.page.locator('nav .nav-menu a[href="/admin/users"]').waitFor({ state: 'visible' });
    await s.screenshot('admin-nav-menu', { fullPage: false });
    await s.page.keyboard.press('Escape');
    await s.page.locator('nav .nav-menu a[href="/admin/users"]').waitFor({ state: 'hidden' });
    await s.page.click('nav summary:has-text("Admin")');
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/admin/audit'), s.page.click('nav .nav-menu a[href="/admin/audit"]')]);
    s.assertNoProblems('admin menu');
  });

  test('a user opens their pages, and admin pages answer 403', async () => {
    const s = userBrowser;
    for (const [path, name] of [['/', 'user-home'], ['/account', 'user-account']] as const) {
      const r = await s.open(path);
      assert.equal(r?.status(), 200);
      await s.screenshot(name);
      s.assertNoProblems(path);
    }
    // The nav offers no admin links to a user.
    await s.open('/');
    assert.equal(await s.page.locator('nav a[href="/admin/users"]').count(), 0);
    for (const path of ['/admin/users', '/admin/users/new', '/admin/audit', '/jobs']) {
      const r = await s.open(path);
      assert.equal(r?.status(), 403, `${path} is refused`);
      assert.match((await s.page.textContent('h1')) ?? '', /403/);
    }
    await s.screenshot('user-admin-refused');
    s.takeProblems(); // Chromium reports each 403 document as a failed resource
  });

  test('a form posted without its CSRF token is refused with 403', async () => {
    const s = userBrowser;
    await s.open('/account');
    // Remove the token from the preferences form and submit it the ordinary way.
    await s.page.evaluate(() => document.querySelector('#preferences input[name="_csrf"]')?.remove());
    const [resp] = await Promise.all([s.page.waitForResponse((r) => r.url().endsWith('/account/preferences')), s.page.click('#preferences button[type=submit]')]);
    assert.equal(resp.status(), 403);
    await s.page.waitForLoadState('load');
    assert.match((await s.page.textContent('main')) ?? '', /expired or was not sent from this site/);
    await s.screenshot('csrf-refused');
    s.takeProblems();
    // htmx without the header, from the page's own origin: refused too.
    const status = await s.page.evaluate(async () => (await fetch('/account/api-keys', { method: 'POST', headers: { 'HX-Request': 'true', 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=sneaky' })).status);
    assert.equal(status, 403);
    // and from outside the browser, with the session cookie but no token
    const r = await app.fetch('/account/preferences', { method: 'POST', headers: { cookie: user.cookie, origin: new URL(app.url).origin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'time_zone=UTC' });
    assert.equal(r.status, 403);
    s.takeProblems();
  });

  test('htmx: create an API key (shown once), use it, revoke it', async () => {
    const s = userBrowser;
    await s.open('/account');
    await s.page.fill('#f-key-name', 'e2e notebook');
    await s.page.click('#api-keys button[type=submit]');
    const keyText = (await s.page.locator('#new-api-key').textContent({ timeout: 10_000 }))?.trim() ?? '';
    assert.ok(keyText.length > 20, 'the new key is shown');
    assert.equal(new URL(s.page.url()).pathname, '/account', 'no page load: htmx swapped the card');
    await s.screenshot('user-account-new-key');
    const me = await app.fetch('/api/auth/users/me', { headers: { 'x-api-key': keyText } });
    assert.equal(me.status, 200, 'the key works');
    s.page.once('dialog', (d) => void d.accept());
    await s.page.locator('#api-keys tbody tr', { hasText: 'e2e notebook' }).locator('button', { hasText: 'Revoke' }).click();
    await s.page.locator('#flash .flash-success', { hasText: 'was revoked' }).waitFor();
    assert.equal(await s.page.locator('#api-keys tbody tr', { hasText: 'e2e notebook' }).count(), 0);
    assert.equal(await s.page.locator('#new-api-key').count(), 0, 'the key is never shown again');
    const again = await app.fetch('/api/auth/users/me', { headers: { 'x-api-key': keyText } });
    assert.equal(again.status, 401, 'the revoked key stops working');
    s.assertNoProblems('api keys');
  });

  test('htmx: the profile saves in place; the time zone changes how times are shown', async () => {
    const s = userBrowser;
    await s.open('/account');
    const newEmail = `renamed-${Date.now()}@example.test`;
    await s.page.fill('#f-email', newEmail);
    await s.page.click('#profile-card button[type=submit]');
    await s.page.locator('#profile-card .badge-good', { hasText: 'Saved' }).waitFor();
    assert.equal(await s.page.inputValue('#f-email'), newEmail);
    await s.page.selectOption('#f-time_zone', 'Europe/Paris');
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/account'), s.page.click('#preferences button[type=submit]')]);
    await s.page.waitForLoadState('load');
    assert.match((await s.page.textContent('footer')) ?? '', /Europe\/Paris/);
    assert.match((await s.page.textContent('#flash')) ?? '', /Times are now shown in Europe\/Paris/);
    s.assertNoProblems('profile and preferences');
  });

  test("htmx: an admin changes a user's role in place, and back", async () => {
    const s = adminBrowser;
    const target = await createUserAndLogin(app, { role: 'user' });
    await s.open('/admin/users');
    const row = s.page.locator('tr', { hasText: target.user.username });
    await row.locator('select[name=role]').selectOption('admin');
    await s.page.locator('#flash .flash-success', { hasText: `${target.user.username} is now an administrator` }).waitFor();
    const users = await app.running.app.services.auth.listUsers();
    assert.equal(users.find((u) => u.username === target.user.username)?.role, 'admin');
    await s.screenshot('admin-users-role-changed');
    await row.locator('select[name=role]').selectOption('user');
    await s.page.locator('#flash .flash-success', { hasText: `${target.user.username} is now a user` }).waitFor();
    s.page.once('dialog', (d) => void d.accept());
    await row.locator('button', { hasText: 'Delete' }).click();
    await s.page.locator('#flash .flash-success', { hasText: 'was deleted' }).waitFor();
    assert.equal(await s.page.locator('tr', { hasText: target.user.username }).count(), 0);
    s.assertNoProblems('role change');
  });

  test('htmx: the audit log filters in place and keeps the filter in the URL', async () => {
    const s = adminBrowser;
    await s.open('/admin/audit');
    await s.page.selectOption('#f-action', 'auth.api_key_revoked');
    await s.page.waitForURL((u) => u.searchParams.get('action') === 'auth.api_key_revoked');
    await s.page.waitForLoadState('networkidle');
    const actions = await s.page.locator('#audit-results tbody td:nth-child(2)').allTextContents();
    assert.ok(actions.length >= 1);
    assert.ok(actions.every((a) => a.trim() === 'auth.api_key_revoked'), actions.join(','));
    await s.screenshot('admin-audit-filtered');
    s.assertNoProblems('audit filter');
  });

  test('htmx: start a job, watch its progress change, see it finish; pause and resume', async () => {
    const s = adminBrowser;
    await s.open('/jobs');
    const jobRow = s.page.locator('#job-demo-progress');
    await jobRow.locator('button', { hasText: 'Run now' }).click();
    await s.page.locator('#flash .flash-success', { hasText: 'demo-progress started' }).waitFor();
    const bar = s.page.locator('#runs-table tbody tr').first().locator('[role=progressbar]');
    const seen = new Set<string>();
    const deadline = Date.now() + 20_000;
    let shot = false;
    while (Date.now() < deadline) {
      const v = await bar.getAttribute('aria-valuenow').catch(() => null);
      if (v !== null) seen.add(v);
      if (seen.size >= 3 && !shot && v !== '100') {
        shot = true;
        await s.screenshot('admin-jobs-running');
      }
      if (v === '100') break;
      await sleep(300);
    }
    assert.ok(seen.size >= 3, `progress changed while polling (saw ${[...seen].join(', ')})`);
    await s.page.locator('#runs-table tbody tr').first().locator('.badge-succeeded').waitFor({ timeout: 10_000 });
    // Once nothing runs, the panel stops polling.
    await s.page.waitForFunction(() => !document.querySelector('#jobs-live[hx-trigger]'), undefined, { timeout: 5_000 });
    await s.screenshot('admin-jobs-finished');

    const nightly = s.page.locator('#job-demo-nightly');
    await nightly.locator('button', { hasText: 'Pause' }).click();
    await s.page.locator('#job-demo-nightly .badge-paused').waitFor();
    await s.page.locator('#job-demo-nightly button', { hasText: 'Resume' }).click();
    await s.page.locator('#job-demo-nightly button', { hasText: 'Pause' }).waitFor();
    s.assertNoProblems('jobs');
  });

  test('an admin creates a user through the form', async () => {
    const s = adminBrowser;
    await s.open('/admin/users/new');
    const name = `formuser${Date.now() % 100000}`;
    await s.page.fill('#f-username', name);
    await s.page.fill('#f-email', `${name}@example.test`);
    await s.page.fill('#f-password', TEST_PASSWORD);
    await s.page.fill('#f-password_confirm', TEST_PASSWORD);
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/admin/users'), s.page.click('main button[type=submit]')]);
    assert.match((await s.page.textContent('#flash')) ?? '', new RegExp(`Created user ${name}`));
    assert.equal(await s.page.locator('tr', { hasText: name }).count(), 1);
    s.assertNoProblems('create user');
  });

  test('pages look right on a phone-sized screen', async () => {
    const phone = await openSession(app.url, { width: 390, height: 844 });
    try {
      await loginThroughForm(phone, admin.user.username, TEST_PASSWORD);
      for (const [path, name] of [['/', 'phone-home'], ['/admin/users', 'phone-users'], ['/jobs', 'phone-jobs'], ['/account', 'phone-account']] as const) {
        await phone.open(path);
        await phone.screenshot(name);
        // nothing wider than the screen except inside scrollable tables
        const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 1, `${path} overflows the phone screen by ${overflow}px`);
      }
      phone.assertNoProblems('phone');
    } finally {
      await phone.close();
    }
  });

  test('logging out ends the session', async () => {
    const s = userBrowser;
    await s.open('/');
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/login'), s.page.click('nav button', { hasText: 'Log out' } as never)]);
    assert.match((await s.page.textContent('#flash')) ?? '', /logged out/);
    await s.open('/account');
    assert.equal(new URL(s.page.url()).pathname, '/login');
    s.assertNoProblems('logout');
  });
});
