/**
 * Login lockouts on the real server, driven by a test clock: per username (5 failures) and per
 * address (20 failures), growing with each lockout, shared through the login_throttle table.
 * TRUST_PROXY=loopback lets the test speak from several addresses via X-Forwarded-For.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../support/app.js';
import { adminAccount, createUserAndLogin, TEST_PASSWORD } from '../../support/auth.js';
import { FakeClock } from '../../../src/platform/clock.js';

let ipCounter = 0;
const newIp = () => `198.51.100.${++ipCounter}`;

describe('login lockouts', () => {
  let app: TestApp;
  const clock = new FakeClock(Date.UTC(2025, 0, 1, 9, 0, 0));
  before(async () => {
    // The security module's failed-login sweep would block these addresses too (its own tests
    // cover that); raise its thresholds so what is measured here is the login throttle alone.
    app = await startApp({ clock, env: { TRUST_PROXY: 'loopback', ANOMALY_LOGIN_FAILURES_PER_IP: '100000', ANOMALY_LOGIN_FAILURES_PER_USER: '100000' } });
  });
  after(async () => {
    await app?.stop();
  });

  const attempt = (username: string, password: string, ip: string) =>
    app.fetch('/api/auth/login', { method: 'POST', headers: { 'x-forwarded-for': ip }, json: { username, password } });

  test('5 wrong passwords lock the username: 429 with Retry-After, even for the right password', async () => {
    const u = await createUserAndLogin(app);
    const ip = newIp();
    for (let i = 0; i < 5; i++) assert.equal((await attempt(u.user.username, `wrong ${i}`, ip)).status, 401, `failure ${i + 1}`);
    const locked = await attempt(u.user.username, TEST_PASSWORD, ip);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), '30');
    const body: any = await locked.json();
    assert.equal(body.error.code, 'too_many_requests');
    assert.match(body.detail, /30 seconds/);
    // From another address too: the lock is on the name.
    assert.equal((await attempt(u.user.username, TEST_PASSWORD, newIp())).status, 429);
    clock.advance(20_000);
    assert.equal((await attempt(u.user.username, TEST_PASSWORD, ip)).headers.get('retry-after'), '10');
    clock.advance(10_001);
    assert.equal((await attempt(u.user.username, TEST_PASSWORD, ip)).status, 200, 'unlocked after 30 s');
  });

  test('each lockout in a row lasts twice as long', async () => {
    const u = await createUserAndLogin(app);
    const expected = [30, 60, 120];
    for (const seconds of expected) {
      for (let i = 0; i < 5; i++) assert.equal((await attempt(u.user.username, 'wrong again', newIp())).status, 401);
      const r = await attempt(u.user.username, 'wrong again', newIp());
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), String(seconds));
      clock.advance(seconds * 1000 + 1);
    }
    // A success forgives: the next lockout starts again at 30 s.
    assert.equal((await attempt(u.user.username, TEST_PASSWORD, newIp())).status, 200);
    for (let i = 0; i < 5; i++) await attempt(u.user.username, 'wrong', newIp());
    assert.equal((await attempt(u.user.username, 'wrong', newIp())).headers.get('retry-after'), '30');
    clock.advance(31_000);
  });

  test('unknown usernames lock the same way, with the same answers', async () => {
    const ip = newIp();
    for (let i = 0; i < 5; i++) {
      const r = await attempt('ghost-user', 'whatever it is', ip);
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as any).detail, 'Incorrect username or password');
    }
    const r = await attempt('ghost-user', 'whatever it is', ip);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '30');
    clock.advance(31_000);
  });

  test('20 failures from one address lock that address for every username', async () => {
    const victim = await createUserAndLogin(app);
    const ip = newIp();
    for (let i = 0; i < 20; i++) assert.equal((await attempt(`spray-${i}`, 'Summer2025!!', ip)).status, 401, `failure ${i + 1}`);
    const r = await attempt(victim.user.username, TEST_PASSWORD, ip);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '60');
    // Other addresses are not affected.
    assert.equal((await attempt(victim.user.username, TEST_PASSWORD, newIp())).status, 200);
    clock.advance(61_000);
    assert.equal((await attempt(victim.user.username, TEST_PASSWORD, ip)).status, 200);
  });

  test('failures spread out over more than 15 minutes do not add up', async () => {
    const u = await createUserAndLogin(app);
    for (let i = 0; i < 4; i++) await attempt(u.user.username, 'wrong', newIp());
    clock.advance(16 * 60_000);
    for (let i = 0; i < 4; i++) assert.equal((await attempt(u.user.username, 'wrong', newIp())).status, 401);
    assert.equal((await attempt(u.user.username, TEST_PASSWORD, newIp())).status, 200);
  });

  test('failures and lockouts are in the audit log, with the address', async () => {
    const admin = await adminAccount(app);
    const u = await createUserAndLogin(app);
    const ip = newIp();
    for (let i = 0; i < 5; i++) await attempt(u.user.username, 'wrong', ip);
    const failed: any = await (await app.fetch(`/api/auth/audit?action=auth.login_failed&user=${u.user.username}`, { token: admin.token })).json();
    assert.equal(failed.total, 5);
    assert.equal(failed.items[0].ip, ip);
    assert.equal(failed.items[0].details.reason, 'wrong_password');
    const lock: any = await (await app.fetch(`/api/auth/audit?action=auth.lockout&user=${u.user.username}`, { token: admin.token })).json();
    assert.equal(lock.total, 1);
    assert.deepEqual(lock.items[0].details.counters, ['user']);
    clock.advance(31_000);
  });

  test('unknown users cost about the same time as wrong passwords (a dummy hash is verified)', async () => {
    const u = await createUserAndLogin(app);
    const time = async (username: string) => {
      const t0 = performance.now();
      await attempt(username, 'wrong password', newIp());
      return performance.now() - t0;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time(u.user.username));
      unknown.push(await time(`nobody-${i}`));
    }
    clock.advance(31_000);
    // The fastest of several runs is the work itself; a loaded machine only adds to it.
    const ratio = Math.min(...unknown) / Math.min(...known);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown/known time ratio ${ratio.toFixed(2)}`);
  });
});
