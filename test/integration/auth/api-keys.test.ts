/**
 * Personal API keys on the real server: shown once, stored hashed, usable as a bearer token or
 * X-API-Key, scoped, owned, revocable, last-used time written at most once a minute.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { startApp, type TestApp } from '../../support/app.js';
import { adminAccount, createUserAndLogin } from '../../support/auth.js';
import { FakeClock } from '../../../src/platform/clock.js';

describe('personal API keys', () => {
  let app: TestApp;
  const clock = new FakeClock(Date.UTC(2025, 5, 1, 12, 0, 0));
  before(async () => {
    app = await startApp({ clock });
  });
  after(async () => {
    await app?.stop();
  });

  async function newKey(token: string, body: Record<string, unknown> = { name: 'ci' }) {
    const r = await app.fetch('/api/auth/api-keys', { method: 'POST', token, json: body });
    assert.equal(r.status, 201);
    return (await r.json()) as any;
  }

  async function dbRow(id: string) {
    const c = new pg.Client({ connectionString: app.db.connectionString });
    await c.connect();
    try {
      return (await c.query('SELECT * FROM api_keys WHERE id = $1', [id])).rows[0];
    } finally {
      await c.end();
    }
  }

  test('a new key is shown once, in the cc_<prefix>_<secret> format, and stored only as a sha256 hash', async () => {
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token, { name: 'laptop', scope: 'read-write' });
    assert.match(k.key, /^cc_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    assert.equal(k.prefix, k.key.slice(0, 11));
    assert.equal(k.scope, 'write');
    assert.equal(k.name, 'laptop');
    assert.equal(k.last_used_at, null);
    const row = await dbRow(k.id);
    assert.equal(row.hash, createHash('sha256').update(k.key).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(k.key.slice(12)), 'the secret part is not stored');
    const list = await app.fetch('/api/auth/api-keys', { token: u.token });
    const keys: any[] = (await list.json()) as any[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0].prefix, k.prefix);
    assert.equal(keys[0].key, undefined, 'never shown again');
    assert.ok(!JSON.stringify(keys).includes(k.key));
    assert.ok(!app.logs.join('\n').includes(k.key), 'not in the log');
  });

  test('a key works as Authorization: Bearer and as X-API-Key; scope defaults to read', async () => {
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token);
    assert.equal(k.scope, 'read');
    const viaBearer = await app.fetch('/api/auth/users/me', { token: k.key });
    assert.equal(viaBearer.status, 200);
    assert.equal(((await viaBearer.json()) as any).username, u.user.username);
    const viaHeader = await app.fetch('/api/auth/protected', { headers: { 'x-api-key': k.key } });
    assert.equal(viaHeader.status, 200);
    const v = await app.fetch('/api/auth/validate', { method: 'POST', headers: { 'x-api-key': k.key } });
    assert.deepEqual(await v.json(), { valid: true, username: u.user.username, role: 'user' });
  });

  test('a read-only key cannot write; no key can manage keys or the account', async () => {
    const u = await createUserAndLogin(app);
    const ro = await newKey(u.token, { name: 'ro', scope: 'read' });
    const rw = await newKey(u.token, { name: 'rw', scope: 'write' });
    const a = await app.fetch('/api/auth/users/me', { method: 'PUT', token: ro.key, json: { email: 'z@example.test' } });
    assert.equal(a.status, 403);
    assert.equal(((await a.json()) as any).error.code, 'read_only_key');
    const b = await app.fetch('/api/auth/users/me', { method: 'PUT', token: rw.key, json: { email: 'z@example.test' } });
    assert.equal(b.status, 403);
    assert.equal(((await b.json()) as any).error.code, 'session_required');
    const c = await app.fetch('/api/auth/api-keys', { method: 'POST', token: rw.key, json: { name: 'more' } });
    assert.equal(c.status, 403);
    const d = await app.fetch(`/api/auth/api-keys/${ro.id}`, { method: 'DELETE', token: rw.key });
    assert.equal(d.status, 403);
    // Reading one's keys with a key is fine.
    assert.equal((await app.fetch('/api/auth/api-keys', { token: rw.key })).status, 200);
  });

  test("nobody touches another user's keys", async () => {
    const a = await createUserAndLogin(app);
    const b = await createUserAndLogin(app);
    const ka = await newKey(a.token);
    const del = await app.fetch(`/api/auth/api-keys/${ka.id}`, { method: 'DELETE', token: b.token });
    assert.equal(del.status, 403);
    const listB: any[] = (await (await app.fetch('/api/auth/api-keys', { token: b.token })).json()) as any[];
    assert.ok(!listB.some((k) => k.id === ka.id), "another user's keys are not listed");
    assert.equal((await app.fetch('/api/auth/users/me', { token: ka.key })).status, 200, 'still works');
    // An admin may revoke anyone's key (incident response).
    const admin = await adminAccount(app);
    assert.equal((await app.fetch(`/api/auth/api-keys/${ka.id}`, { method: 'DELETE', token: admin.token })).status, 200);
  });

  test('a revoked key stops working at once; revoking again or an unknown id is a 404', async () => {
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token);
    const del = await app.fetch(`/api/auth/api-keys/${k.id}`, { method: 'DELETE', token: u.token });
    assert.equal(del.status, 200);
    const r = await app.fetch('/api/auth/users/me', { token: k.key });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'api_key_revoked');
    assert.equal((await app.fetch(`/api/auth/api-keys/${k.id}`, { method: 'DELETE', token: u.token })).status, 404);
    assert.equal((await app.fetch('/api/auth/api-keys/00000000-0000-4000-8000-000000000000', { method: 'DELETE', token: u.token })).status, 404);
    assert.deepEqual((await (await app.fetch('/api/auth/api-keys', { token: u.token })).json()) as any[], []);
  });

  test('a forged or malformed key is refused', async () => {
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token);
    const wrongSecret = k.key.slice(0, 12) + (k.key[12] === 'A' ? 'B' : 'A') + k.key.slice(13);
    for (const bad of [wrongSecret, 'cc_abcdefgh_' + 'x'.repeat(43), 'cc_short', `${k.key}x`]) {
      const r = await app.fetch('/api/auth/protected', { headers: { 'x-api-key': bad } });
      assert.equal(r.status, 401, bad);
      assert.equal(((await r.json()) as any).error.code, 'invalid_api_key');
    }
  });

  test('an expired key is refused', async () => {
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token, { name: 'short-lived', expires_in_days: 1 });
    assert.ok(k.expires_at);
    assert.equal((await app.fetch('/api/auth/protected', { token: k.key })).status, 200);
    clock.advance(86_400_000 + 1000);
    const r = await app.fetch('/api/auth/protected', { token: k.key });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'api_key_expired');
    assert.deepEqual((await (await app.fetch('/api/auth/api-keys', { token: u.token })).json()) as any[], [], 'expired keys are not listed');
  });

  test('last-used time is written at most once a minute', async () => {
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token);
    const t0 = clock.now().getTime();
    await app.fetch('/api/auth/protected', { token: k.key });
    const first = (await dbRow(k.id)).lastUsedAt as Date;
    assert.equal(first.getTime(), t0);
    assert.equal((await dbRow(k.id)).lastUsedIp, '127.0.0.1');
    clock.advance(30_000);
    await app.fetch('/api/auth/protected', { token: k.key });
    assert.equal(((await dbRow(k.id)).lastUsedAt as Date).getTime(), t0, 'not rewritten within a minute');
    clock.advance(31_000);
    await app.fetch('/api/auth/protected', { token: k.key });
    assert.equal(((await dbRow(k.id)).lastUsedAt as Date).getTime(), t0 + 61_000);
    const listed: any[] = (await (await app.fetch('/api/auth/api-keys', { token: u.token })).json()) as any[];
    assert.equal(listed[0].last_used_at, new Date(t0 + 61_000).toISOString());
  });

  test("deleting a user deletes their keys; key changes are audited", async () => {
    const admin = await adminAccount(app);
    const u = await createUserAndLogin(app);
    const k = await newKey(u.token);
    await app.fetch(`/api/auth/api-keys/${k.id}`, { method: 'DELETE', token: u.token });
    const k2 = await newKey(u.token);
    assert.equal((await app.fetch(`/api/auth/users/${u.user.username}`, { method: 'DELETE', token: admin.token })).status, 200);
    assert.equal((await app.fetch('/api/auth/protected', { token: k2.key })).status, 401);
    const created: any = await (await app.fetch(`/api/auth/audit?action=auth.api_key_created&user=${u.user.username}`, { token: admin.token })).json();
    assert.equal(created.total, 2);
    assert.equal(created.items[0].details.prefix, k2.prefix);
    const revoked: any = await (await app.fetch(`/api/auth/audit?action=auth.api_key_revoked&user=${u.user.username}`, { token: admin.token })).json();
    assert.equal(revoked.total, 1);
    assert.equal(revoked.items[0].target, k.id);
    assert.ok(!JSON.stringify(created).includes(k2.key));
  });
});
