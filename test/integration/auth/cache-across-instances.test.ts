/**
 * The credential check is answered from memory (no query), so every revocation must reach the
 * other instances at once: two app instances on one Postgres; each credential is first used on
 * B (so B holds it), revoked on A, and refused by B on the very next request, with no waiting
 * in between. Then B's LISTEN connection is killed from the server side: B must go back to the
 * database per request, and a revocation made while it is down is refused too.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startApp, type TestApp } from '../../support/app.js';
import { adminAccount, createUserAndLogin, login, TEST_PASSWORD, type TestAccount } from '../../support/auth.js';
import type { NotifyBus } from '../../../src/platform/notify-bus.js';

const NEW_PASSWORD = 'Another password 5 candlecast!';

describe('auth state cache across instances', () => {
  let a: TestApp;
  let b: TestApp;
  let adminA: TestAccount;
  const env = { JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'warn', TRUST_PROXY: 'loopback', ANOMALY_API_KEY_MAX_IPS: '2', ANOMALY_CHECK_MS: '600000' };
  const busOf = (app: TestApp) => app.running.app.services.notify as NotifyBus;

  before(async () => {
    a = await startApp({ env });
    b = await startApp({ db: a.db, env });
    adminA = await adminAccount(a);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  const onB = (token: string) => b.fetch('/api/auth/protected', { token });
  /** uses the credential on B twice: the second answer comes from B's memory */
  const warm = async (token: string) => {
    assert.equal((await onB(token)).status, 200);
    assert.equal((await onB(token)).status, 200);
  };

  test('a password change on A is refused on B on the next request', async () => {
    const u = await createUserAndLogin(a);
    await warm(u.token);
    const r = await a.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: NEW_PASSWORD, current_password: TEST_PASSWORD } });
    assert.equal(r.status, 200);
    const refused = await onB(u.token);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as any).error.code, 'token_revoked');
    // the new token works on B
    const fresh = await login(a, u.user.username, NEW_PASSWORD);
    assert.equal((await onB(fresh.token)).status, 200);
  });

  test('a role change on A is refused on B on the next request', async () => {
    const u = await createUserAndLogin(a, { role: 'admin' });
    await warm(u.token);
    assert.equal((await b.fetch('/api/auth/users', { token: u.token })).status, 200);
    const r = await a.fetch(`/api/auth/users/${u.user.username}/role`, { method: 'PUT', token: adminA.token, json: { role: 'user' } });
    assert.equal(r.status, 200);
    assert.equal((await b.fetch('/api/auth/users', { token: u.token })).status, 401);
    const again = await login(a, u.user.username, u.password);
    assert.equal((await b.fetch('/api/auth/users', { token: again.token })).status, 403, 'now a user, on B too');
  });

  test('a deletion on A is refused on B on the next request, token and API key alike', async () => {
    const u = await createUserAndLogin(a);
    const key = ((await (await a.fetch('/api/auth/api-keys', { method: 'POST', token: u.token, json: { name: 'k', scope: 'read' } })).json()) as any).key as string;
    await warm(u.token);
    assert.equal((await b.fetch('/api/auth/protected', { headers: { 'x-api-key': key } })).status, 200);
    assert.equal((await b.fetch('/api/auth/protected', { headers: { 'x-api-key': key } })).status, 200);
    const r = await a.fetch(`/api/auth/users/${u.user.username}`, { method: 'DELETE', token: adminA.token });
    assert.ok(r.status === 200 || r.status === 204, String(r.status));
    assert.equal((await onB(u.token)).status, 401);
    assert.equal((await b.fetch('/api/auth/protected', { headers: { 'x-api-key': key } })).status, 401);
  });

  test('an API key revoked on A is refused on B on the next request', async () => {
    const u = await createUserAndLogin(a);
    const created = (await (await a.fetch('/api/auth/api-keys', { method: 'POST', token: u.token, json: { name: 'k', scope: 'read' } })).json()) as any;
    const useOnB = () => b.fetch('/api/auth/protected', { headers: { 'x-api-key': created.key } });
    assert.equal((await useOnB()).status, 200);
    assert.equal((await useOnB()).status, 200);
    const r = await a.fetch(`/api/auth/api-keys/${created.id}`, { method: 'DELETE', token: u.token });
    assert.ok(r.status === 200 || r.status === 204, String(r.status));
    const refused = await useOnB();
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as any).error.code, 'api_key_revoked');
    assert.equal((await onB(u.token)).status, 200, 'the owner\u2019s session is untouched');
  });

  test('an API key blocked on A is refused on B on the next request', async () => {
    const u = await createUserAndLogin(a);
    const key = ((await (await a.fetch('/api/auth/api-keys', { method: 'POST', token: u.token, json: { name: 'k', scope: 'read' } })).json()) as any).key as string;
    const useOnB = () => b.fetch('/api/auth/protected', { headers: { 'x-api-key': key, 'x-forwarded-for': '100.64.1.1' } });
    assert.equal((await useOnB()).status, 200);
    // used from more addresses than allowed on A: A blocks it
    for (let i = 0; i < 3; i++) await a.fetch('/api/auth/protected', { headers: { 'x-api-key': key, 'x-forwarded-for': `100.64.0.${i + 1}` } });
    await a.running.app.services.security.settle();
    assert.equal((await a.fetch('/api/auth/protected', { headers: { 'x-api-key': key, 'x-forwarded-for': '100.64.0.1' } })).status, 429);
    const refused = await useOnB();
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as any).error.code, 'access_blocked');
  });

  test('with its LISTEN connection killed, B reads the database per request and refuses a revocation made meanwhile', async () => {
    const u = await createUserAndLogin(a);
    const created = (await (await a.fetch('/api/auth/api-keys', { method: 'POST', token: u.token, json: { name: 'k', scope: 'read' } })).json()) as any;
    await warm(u.token);
    const pid = busOf(b).backendPid;
    assert.ok(pid, 'B listens');
    const sql = new pg.Client({ connectionString: a.db.connectionString });
    await sql.connect();
    try {
      // stop B from reconnecting before the revocations below: its retry waits 5 s by default,
      // and the connection is down the moment the backend is gone
      await sql.query('SELECT pg_terminate_backend($1)', [pid]);
      const end = Date.now() + 5000;
      while (busOf(b).listening && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.equal(busOf(b).listening, false, 'B knows its connection is gone');
      // revocations while B cannot hear them
      const r = await a.fetch('/api/auth/logout', { method: 'POST', token: u.token, json: { everywhere: true } });
      assert.ok(r.status === 200 || r.status === 204, String(r.status));
      assert.equal((await onB(u.token)).status, 401, 'B did not serve its cached user while down');
      await a.fetch(`/api/auth/api-keys/${created.id}`, { method: 'DELETE', token: adminA.token });
      assert.equal((await b.fetch('/api/auth/protected', { headers: { 'x-api-key': created.key } })).status, 401);
    } finally {
      await sql.end();
    }
    // B reconnects and serves from memory again
    const end = Date.now() + 15_000;
    while (!busOf(b).listening && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(busOf(b).listening, true, 'B listens again');
    const fresh = await login(a, u.user.username, u.password);
    await warm(fresh.token);
    assert.equal((await onB(u.token)).status, 401);
  });
});
