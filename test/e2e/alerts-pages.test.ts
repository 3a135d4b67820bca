/**
 * The alerts pages in a real browser: create a rule through the htmx form, see a crossing land
 * in the inbox with the top-bar badge, mark it read (the badge updates out of band), add a
 * webhook and see its secret once; no console error, page error or failed request on the way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/platform/clock.js';
import type { TestApp } from '../support/app.js';
import { createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../support/auth.js';
import { ensurePair, HOUR, lastClosedOpen, startAlertsApp, storeCloses } from '../integration/alerts/helpers.js';
import { browserAvailability, loginThroughForm, openSession, type BrowserSession } from './support/browser.js';

const availability = browserAvailability();
if (!availability.ok) {
  if (availability.skip) test('alerts pages in a real browser', { skip: availability.message }, () => undefined);
  else test('browser tests need Chromium (alerts pages)', () => assert.fail(availability.message));
}

describe('alerts pages in a real browser', { skip: !availability.ok }, () => {
  let app: TestApp;
  let user: TestAccount;
  let s: BrowserSession;
  let pair: { id: number; altname: string; key: string };
  const clock = new FakeClock(Date.UTC(2025, 10, 3, 9, 10, 0));

  before(async () => {
    app = await startAlertsApp({ clock });
    pair = await ensurePair(app, 'XBTUSD');
    await storeCloses(app, pair, 60, [{ time: lastClosedOpen(clock.now().getTime()), close: 10 }]);
    user = await createUserAndLogin(app);
    s = await openSession(app.url);
    await loginThroughForm(s, user.user.username, TEST_PASSWORD);
  });
  after(async () => {
    await s?.close();
    await app?.stop();
  });

  test('create a rule, get notified, read it, add a webhook', async () => {
    await s.open('/alerts');
    assert.equal(await s.page.locator('nav a[href="/alerts"]').getAttribute('aria-current'), 'page');
    await s.page.selectOption('#f-rule-kind', 'price_above');
    await s.page.selectOption('#f-rule-pair', 'XBTUSD');
    await s.page.fill('#f-rule-threshold', '20');
    await s.page.click('#alert-rules form[action="/alerts/rules"] button[type=submit]');
    await s.page.locator('#alert-rules td', { hasText: 'XBTUSD 1h close above 20' }).waitFor();
    await s.page.locator('#flash .flash-success', { hasText: 'Alert created' }).waitFor();
    await s.screenshot('alerts-rules');
    s.assertNoProblems('create a rule');

    // a refused form shows its messages in place
    await s.page.selectOption('#f-rule-kind', 'move_pct');
    await s.page.fill('#f-rule-threshold', '5');
    await s.page.click('#alert-rules form[action="/alerts/rules"] button[type=submit]');
    await s.page.locator('#alert-rules .field-error', { hasText: 'is required for move_pct' }).waitFor();
    s.assertNoProblems('refused rule');

    clock.advance(HOUR * 1000);
    await storeCloses(app, pair, 60, [{ time: lastClosedOpen(clock.now().getTime()), close: 25 }]);
    await s.open('/notifications');
    assert.equal((await s.page.locator('#nav-inbox .badge').textContent())?.trim(), '1');
    await s.page.locator('#inbox', { hasText: 'XBTUSD crossed above 20' }).waitFor();
    await s.screenshot('alerts-inbox');
    await s.page.click('#inbox button:has-text("Mark read")');
    await s.page.locator('#inbox button:has-text("Mark unread")').waitFor();
    assert.equal(await s.page.locator('#nav-inbox .badge').count(), 0, 'the badge is updated out of band');
    s.assertNoProblems('inbox');

    await s.open('/alerts');
    await s.page.fill('#f-webhook-url', 'https://hooks.example.com/e2e');
    await s.page.click('#alert-webhooks form[action="/alerts/webhooks"] button[type=submit]');
    const secret = (await s.page.locator('#new-webhook-secret').textContent())?.trim() ?? '';
    assert.match(secret, /^whsec_/);
    await s.open('/alerts');
    assert.equal(await s.page.locator('#new-webhook-secret').count(), 0, 'shown once');
    assert.ok(!(await s.page.content()).includes(secret));
    await s.open('/preferences');
    s.assertNoProblems('webhooks and preferences');
  });
});
