/**
 * E-mail through a real SMTP conversation (nodemailer against a tiny local SMTP server): a rule
 * with the e-mail channel sends one message to its owner, a refused message is retried, and an
 * administrator's SMTP settings are stored encrypted and take precedence over SMTP_URL.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/platform/clock.js';
import type { TestApp } from '../../support/app.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { ensurePair, HOUR, lastClosedOpen, sql, startAlertsApp, startSmtpServer, storeCloses, waitFor } from './helpers.js';

describe('e-mail alerts', () => {
  let app: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let other: Awaited<ReturnType<typeof startSmtpServer>>;
  let pair: { id: number; altname: string; key: string };
  let alice: TestAccount;
  // The dispatcher compares due times with this clock: it only moves forward, like real time.
  const clock = new FakeClock(Date.now());

  before(async () => {
    smtp = await startSmtpServer();
    other = await startSmtpServer();
    app = await startAlertsApp({ clock, env: { SMTP_URL: smtp.url, SMTP_FROM: 'candlecast <alerts@candlecast.test>', ALERTS_RETRY_BASE_MS: '10', ALERTS_RETRY_MAX_MS: '10' } });
    pair = await ensurePair(app, 'XBTUSD');
    alice = await createUserAndLogin(app);
    const t = lastClosedOpen(clock.now().getTime());
    await storeCloses(app, pair, 60, [{ time: t, close: 10 }]);
  });
  after(async () => {
    await app?.stop();
    await smtp?.close();
    await other?.close();
  });

  async function crossAbove(level: number, close: number) {
    const r = await app.fetch('/api/alerts/rules', { method: 'POST', token: alice.token, json: { kind: 'price_above', pair: 'XBTUSD', threshold: level, channels: ['email'], cooldown_seconds: 0 } });
    assert.equal(r.status, 201);
    clock.advance(HOUR * 1000);
    await storeCloses(app, pair, 60, [{ time: lastClosedOpen(clock.now().getTime()), close }]);
    // let the dispatcher's due-time comparison see the retry delay pass
    const tick = setInterval(() => clock.advance(50), 20);
    return () => clearInterval(tick);
  }

  test('a rule with the e-mail channel mails its owner once; without the inbox channel nothing counts as unread', async () => {
    const status = (await app.fetch('/api/alerts/admin/smtp', { token: (await createUserAndLogin(app, { role: 'admin' })).token }).then((r) => r.json())) as any;
    assert.deepEqual([status.configured, status.source, status.server], [true, 'environment', smtp.url]);
    const stop = await crossAbove(20, 25);
    try {
      const mail = await waitFor('the e-mail', () => smtp.mails[0]);
      assert.deepEqual(mail.to, [alice.user.email]);
      assert.equal(mail.from, 'alerts@candlecast.test');
      assert.match(mail.data, /Subject: \[candlecast\] XBTUSD crossed above 20/);
      assert.match(mail.data, /closed at 25/);
    } finally {
      stop();
    }
    const rows = await waitFor('the delivery row', async () => {
      const r = await sql(app, `SELECT d.status, d.attempts FROM deliveries d JOIN notifications n ON n.id = d."notificationId" WHERE n."userId" = $1 AND d.channel = 'email'`, [alice.user.id]);
      return r[0]?.status === 'delivered' ? r : undefined;
    });
    assert.deepEqual(rows, [{ status: 'delivered', attempts: 1 }]);
    assert.equal(smtp.mails.length, 1);
    const unread = (await app.fetch('/api/alerts/notifications/unread-count', { token: alice.token }).then((r) => r.json())) as any;
    assert.equal(unread.unread, 0);
  });

  test('a message the server refuses is retried', async () => {
    smtp.refuseNext(1);
    const before = smtp.mails.length;
    const stop = await crossAbove(30, 35);
    try {
      await waitFor('the retried e-mail', () => smtp.mails.length > before);
    } finally {
      stop();
    }
    const rows = await waitFor('attempts recorded', async () => {
      const r = await sql(app, `SELECT d.status, d.attempts, d."lastStatusCode" FROM deliveries d WHERE d.channel = 'email' ORDER BY d.id DESC LIMIT 1`);
      return r[0]?.status === 'delivered' ? r : undefined;
    });
    assert.equal(rows[0].attempts, 2);
  });

  test('an administrator stores SMTP settings: encrypted in the database, used instead of SMTP_URL; users may not', async () => {
    const admin = await createUserAndLogin(app, { role: 'admin' });
    const password = 'smtp-pass-that-must-stay-secret';
    const url = `smtp://mailer:${password}@127.0.0.1:${other.port}`;
    assert.equal((await app.fetch('/api/alerts/admin/smtp', { method: 'PUT', token: alice.token, json: { url, from: 'x@y.z' } })).status, 403);
    const put = await app.fetch('/api/alerts/admin/smtp', { method: 'PUT', token: admin.token, json: { url, from: 'ops <ops@candlecast.test>' } });
    assert.equal(put.status, 200);
    const st = (await put.json()) as any;
    assert.deepEqual([st.configured, st.source, st.server, st.from], [true, 'settings', `smtp://127.0.0.1:${other.port}`, 'ops <ops@candlecast.test>']);
    assert.ok(!JSON.stringify(st).includes(password));
    const row = await sql(app, `SELECT value::text AS v FROM app_settings WHERE key = 'alerts.smtp'`);
    assert.ok(row[0].v.includes('v1:'));
    assert.ok(!row[0].v.includes(password), 'the SMTP password is not readable in the database');
    const test = (await app.fetch('/api/alerts/admin/smtp/test', { method: 'POST', token: admin.token, json: { to: 'someone@example.test' } }).then((r) => r.json())) as any;
    assert.equal(test.ok, true, test.error);
    const mail = await waitFor('the test e-mail on the configured server', () => other.mails[0]);
    assert.deepEqual(mail.to, ['someone@example.test']);
    assert.deepEqual(other.auths[0], ['mailer', password]);
    assert.ok(!app.logs.join('\n').includes(password));
    const cleared = (await app.fetch('/api/alerts/admin/smtp', { method: 'DELETE', token: admin.token }).then((r) => r.json())) as any;
    assert.equal(cleared.source, 'environment');
    // settings sealed with a key this server does not have: reported, and SMTP_URL is used
    const foreign = { url_enc: 'v1:00000000:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA:AAAA', from: 'x@y.z' };
    await sql(app, `INSERT INTO app_settings (key, value, "updatedAt") VALUES ('alerts.smtp', $1::jsonb, now())`, [JSON.stringify(foreign)]);
    const broken = (await app.fetch('/api/alerts/admin/smtp', { token: admin.token }).then((r) => r.json())) as any;
    assert.deepEqual([broken.configured, broken.source, broken.server], [true, 'environment', smtp.url]);
    assert.match(broken.error, /stored settings unreadable: no configured encryption key opens this value/);
  });
});
