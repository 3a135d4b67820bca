/**
 * Accounts on the real server: sign-up (closed and open), one's own account, the admin's user
 * management, the last-admin rule, the audit log, and bad input that must be a 4xx, never a 500.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../support/app.js';
import { adminAccount, createUserAndLogin, login, TEST_PASSWORD } from '../../support/auth.js';

let n = 0;
const fresh = (p = 'new') => `${p}${++n}-${Math.random().toString(36).slice(2, 8)}`;

describe('accounts with SIGNUP_MODE=closed (the default)', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('sign-up without a token is refused when closed', async () => {
    const r = await app.fetch('/api/auth/signup', { method: 'POST', json: { username: fresh(), email: `${fresh()}@example.test`, password: TEST_PASSWORD } });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as any).error.code, 'signup_closed');
  });

  test("an admin's token on sign-up creates a user with the given role: 201 {message, user}", async () => {
    const admin = await adminAccount(app);
    const username = fresh();
    const r = await app.fetch('/api/auth/signup', { method: 'POST', token: admin.token, json: { username, email: `${username}@example.test`, password: TEST_PASSWORD, role: 'admin' } });
    assert.equal(r.status, 201);
    const body: any = await r.json();
    assert.equal(typeof body.message, 'string');
    assert.equal(body.user.username, username);
    assert.equal(body.user.role, 'admin');
    assert.equal(body.user.passwordHash, undefined);
    assert.equal(body.user.password, undefined);
  });

  test("a non-admin's token on sign-up is a 403", async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/signup', { method: 'POST', token: u.token, json: { username: fresh(), email: `${fresh()}@example.test`, password: TEST_PASSWORD } });
    assert.equal(r.status, 403);
  });

  test('an expired/invalid token on sign-up is a 401, not an anonymous sign-up', async () => {
    const r = await app.fetch('/api/auth/signup', { method: 'POST', token: 'not.a.token', json: { username: fresh(), email: `${fresh()}@example.test`, password: TEST_PASSWORD } });
    assert.equal(r.status, 401);
  });

  test('a taken username on sign-up is 400 (as the original); a taken e-mail is 409', async () => {
    const admin = await adminAccount(app);
    const u = await createUserAndLogin(app);
    const dupName = await app.fetch('/api/auth/signup', { method: 'POST', token: admin.token, json: { username: u.user.username.toUpperCase(), email: `${fresh()}@example.test`, password: TEST_PASSWORD } });
    assert.equal(dupName.status, 400);
    assert.equal(((await dupName.json()) as any).error.code, 'duplicate');
    const dupMail = await app.fetch('/api/auth/signup', { method: 'POST', token: admin.token, json: { username: fresh(), email: u.user.email.toUpperCase(), password: TEST_PASSWORD } });
    assert.equal(dupMail.status, 409);
  });

  test('the admin create endpoint (new API) answers 409 for any duplicate', async () => {
    const admin = await adminAccount(app);
    const u = await createUserAndLogin(app);
    const a = await app.fetch('/api/auth/users', { method: 'POST', token: admin.token, json: { username: u.user.username, email: `${fresh()}@example.test`, password: TEST_PASSWORD } });
    assert.equal(a.status, 409);
    assert.equal(((await a.json()) as any).error.details.field, 'username');
    const b = await app.fetch('/api/auth/users', { method: 'POST', token: admin.token, json: { username: fresh(), email: u.user.email, password: TEST_PASSWORD } });
    assert.equal(b.status, 409);
    assert.equal(((await b.json()) as any).error.details.field, 'email');
  });

  test('a weak password is a 422 with a message that says what to change', async () => {
    const admin = await adminAccount(app);
    const username = fresh('weak');
    const cases: [string, RegExp][] = [
      ['short', /at least 10 characters/],
      ['aaaaaaaaaaaa', /repetitive/],
      ['password123', /common/],
      ['1234567890', /common|sequence/],
      ['abcdefghijkl', /sequence/],
      [`${username}-secret!`, /username/],
    ];
    for (const [password, why] of cases) {
      const r = await app.fetch('/api/auth/users', { method: 'POST', token: admin.token, json: { username, email: `${username}@example.test`, password } });
      assert.equal(r.status, 422, password);
      const body: any = await r.json();
      assert.match(body.detail, why, password);
      assert.equal(body.error.details[0].path, 'password');
    }
    const signup = await app.fetch('/api/auth/signup', { method: 'POST', token: admin.token, json: { username, email: `${username}@example.test`, password: 'short' } });
    assert.equal(signup.status, 422);
  });

  test('GET users/me answers {username, email, role}', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/users/me', { token: u.token });
    assert.equal(r.status, 200);
    const body: any = await r.json();
    assert.equal(body.username, u.user.username);
    assert.equal(body.email, u.user.email);
    assert.equal(body.role, 'user');
    assert.equal(body.passwordHash, undefined);
    assert.equal(body.tokenVersion, undefined);
  });

  test('PUT users/me changes username and e-mail; a taken username is 400 (as the original)', async () => {
    const u = await createUserAndLogin(app);
    const other = await createUserAndLogin(app);
    const name = fresh('renamed');
    const r = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { username: name, email: `${name}@example.test` } });
    assert.equal(r.status, 200);
    const body: any = await r.json();
    assert.equal(body.username, name);
    assert.equal(body.email, `${name}@example.test`);
    // The token names the user by id, so it keeps working after a rename.
    assert.equal(((await (await app.fetch('/api/auth/users/me', { token: u.token })).json()) as any).username, name);
    const taken = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { username: other.user.username } });
    assert.equal(taken.status, 400);
    const takenMail = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { email: other.user.email } });
    assert.equal(takenMail.status, 409);
  });

  test('PUT users/me sets a new password only with the current one', async () => {
    const u = await createUserAndLogin(app);
    const missing = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: 'Another good passphrase' } });
    assert.equal(missing.status, 422);
    assert.match(((await missing.json()) as any).detail, /current_password/);
    const wrong = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: 'Another good passphrase', current_password: 'not it at all' } });
    assert.equal(wrong.status, 403);
    const weak = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: 'short', current_password: TEST_PASSWORD } });
    assert.equal(weak.status, 422);
    const ok = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: 'Another good passphrase', currentPassword: TEST_PASSWORD } });
    assert.equal(ok.status, 200);
  });

  test('nobody changes their own role: not through users/me, not through the role route', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { role: 'admin' } });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as any).error.code, 'own_role');
    const viaRoute = await app.fetch(`/api/auth/users/${u.user.username}/role`, { method: 'PUT', token: u.token, json: { role: 'admin' } });
    assert.equal(viaRoute.status, 403);
    const me = await app.fetch('/api/auth/users/me', { token: u.token });
    assert.equal(((await me.json()) as any).role, 'user');
    const admin = await createUserAndLogin(app, { role: 'admin' });
    const self = await app.fetch(`/api/auth/users/${admin.user.username}/role`, { method: 'PUT', token: admin.token, json: { role: 'user' } });
    assert.equal(self.status, 403);
    assert.equal(((await self.json()) as any).error.code, 'own_role');
  });

  test('a user on every admin route gets 403; no token gets 401', async () => {
    const u = await createUserAndLogin(app);
    const other = await createUserAndLogin(app);
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/auth/users'],
      ['POST', '/api/auth/users', { username: fresh(), email: `${fresh()}@example.test`, password: TEST_PASSWORD }],
      ['PUT', `/api/auth/users/${other.user.username}/role`, { role: 'admin' }],
      ['DELETE', `/api/auth/users/${other.user.username}`],
      ['GET', '/api/auth/audit'],
    ];
    for (const [method, path, json] of calls) {
      const r = await app.fetch(path, { method, token: u.token, json });
      assert.equal(r.status, 403, `${method} ${path}`);
      const anon = await app.fetch(path, { method, json });
      assert.equal(anon.status, 401, `${method} ${path} anonymous`);
    }
    // The other user is untouched.
    assert.equal((await app.fetch('/api/auth/users/me', { token: other.token })).status, 200);
  });

  test('admin: list users (a JSON array of {username, email, role}), change a role, 404 for unknown', async () => {
    const admin = await adminAccount(app);
    const u = await createUserAndLogin(app);
    const list = await app.fetch('/api/auth/users', { token: admin.token });
    assert.equal(list.status, 200);
    const users: any[] = (await list.json()) as any[];
    assert.ok(Array.isArray(users));
    const row = users.find((x) => x.username === u.user.username);
    assert.deepEqual({ username: row.username, email: row.email, role: row.role }, { username: u.user.username, email: u.user.email, role: 'user' });
    const promote = await app.fetch(`/api/auth/users/${u.user.username}/role`, { method: 'PUT', token: admin.token, json: { role: 'admin' } });
    assert.equal(promote.status, 200);
    assert.equal(((await promote.json()) as any).role, 'admin');
    assert.equal((await app.fetch('/api/auth/users/nobody-at-all/role', { method: 'PUT', token: admin.token, json: { role: 'user' } })).status, 404);
    assert.equal((await app.fetch(`/api/auth/users/${u.user.username}/role`, { method: 'PUT', token: admin.token, json: { role: 'superuser' } })).status, 422);
    const paged = await app.fetch('/api/auth/users?limit=1&offset=1', { token: admin.token });
    assert.equal(((await paged.json()) as any[]).length, 1);
  });

  test('delete: the user themself or an admin; 403 for others; 404 unknown (admin)', async () => {
    const admin = await adminAccount(app);
    const a = await createUserAndLogin(app);
    const b = await createUserAndLogin(app);
    const notYours = await app.fetch(`/api/auth/users/${b.user.username}`, { method: 'DELETE', token: a.token });
    assert.equal(notYours.status, 403);
    // A non-admin learns nothing about which names exist.
    assert.equal((await app.fetch('/api/auth/users/nobody-at-all', { method: 'DELETE', token: a.token })).status, 403);
    assert.equal((await app.fetch('/api/auth/users/nobody-at-all', { method: 'DELETE', token: admin.token })).status, 404);
    const byAdmin = await app.fetch(`/api/auth/users/${b.user.username}`, { method: 'DELETE', token: admin.token });
    assert.equal(byAdmin.status, 200);
    assert.equal(typeof ((await byAdmin.json()) as any).message, 'string');
    const self = await app.fetch(`/api/auth/users/${a.user.username}`, { method: 'DELETE', token: a.token });
    assert.equal(self.status, 200);
    assert.equal((await app.fetch('/api/auth/login', { method: 'POST', json: { username: a.user.username, password: TEST_PASSWORD } })).status, 401);
  });

  test('the last admin can be neither demoted nor deleted', async () => {
    // A separate app, so the only admin is known.
    const solo = await startApp({ env: { ADMIN_USERNAME: 'onlyadmin', ADMIN_PASSWORD: 'Only admin passphrase 1' } });
    try {
      const only = await login(solo, 'onlyadmin', 'Only admin passphrase 1');
      const del = await solo.fetch('/api/auth/users/onlyadmin', { method: 'DELETE', token: only.token });
      assert.equal(del.status, 409);
      assert.equal(((await del.json()) as any).error.code, 'last_admin');
      // Two admins demoting each other at the same time: exactly one succeeds.
      const second = await solo.fetch('/api/auth/users', { method: 'POST', token: only.token, json: { username: 'second', email: 'second@example.test', password: TEST_PASSWORD, role: 'admin' } });
      assert.equal(second.status, 201);
      const two = await login(solo, 'second', TEST_PASSWORD);
      const [x, y] = await Promise.all([
        solo.fetch('/api/auth/users/second/role', { method: 'PUT', token: only.token, json: { role: 'user' } }),
        solo.fetch('/api/auth/users/onlyadmin/role', { method: 'PUT', token: two.token, json: { role: 'user' } }),
      ]);
      const statuses = [x.status, y.status].sort();
      assert.ok(
        (statuses[0] === 200 && (statuses[1] === 401 || statuses[1] === 409)),
        `one demotion succeeds, the other is refused: ${statuses.join(', ')}`,
      );
      const admins = ((await (await solo.fetch('/api/auth/users', { token: (x.status === 200 ? only : two).token })).json()) as any[]).filter((u) => u.role === 'admin');
      assert.equal(admins.length, 1);
    } finally {
      await solo.stop();
    }
  });

  test('admin reads the audit log, filtered by action and user, paginated', async () => {
    const admin = await adminAccount(app);
    const u = await createUserAndLogin(app);
    await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username, password: 'not the password' } });
    const r = await app.fetch(`/api/auth/audit?action=auth.login_failed&user=${u.user.username}`, { token: admin.token });
    assert.equal(r.status, 200);
    const body: any = await r.json();
    assert.ok(body.total >= 1);
    assert.equal(body.items[0].action, 'auth.login_failed');
    assert.equal(body.items[0].actor_username, u.user.username);
    assert.equal(body.items[0].success, false);
    assert.equal(body.items[0].ip, '127.0.0.1');
    const created = await app.fetch(`/api/auth/audit?action=auth.user_created&user=${u.user.username}`, { token: admin.token });
    assert.equal(((await created.json()) as any).items[0].actor_username, admin.user.username);
    const logins: any = await (await app.fetch('/api/auth/audit?action=auth.login&limit=2', { token: admin.token })).json();
    assert.equal(logins.items.length, 2);
    assert.equal(logins.limit, 2);
    const page2: any = await (await app.fetch('/api/auth/audit?action=auth.login&limit=2&offset=2', { token: admin.token })).json();
    assert.notEqual(page2.items[0].id, logins.items[0].id);
    assert.equal((await app.fetch('/api/auth/audit?limit=100000', { token: admin.token })).status, 400);
    // Role changes and deletions are there too.
    await app.fetch(`/api/auth/users/${u.user.username}/role`, { method: 'PUT', token: admin.token, json: { role: 'admin' } });
    await app.fetch(`/api/auth/users/${u.user.username}`, { method: 'DELETE', token: admin.token });
    const role: any = await (await app.fetch(`/api/auth/audit?action=auth.role_changed&user=${u.user.username}`, { token: admin.token })).json();
    assert.deepEqual(role.items[0].details, { from: 'user', to: 'admin' });
    const del: any = await (await app.fetch(`/api/auth/audit?action=auth.user_deleted&user=${u.user.username}`, { token: admin.token })).json();
    assert.equal(del.total, 1);
  });

  test('bad input is a 4xx with a message, never a 500', async () => {
    const admin = await adminAccount(app);
    const huge = 'x'.repeat(50_000);
    const bodies: [string, string, unknown][] = [
      ['POST', '/api/auth/login', {}],
      ['POST', '/api/auth/login', { username: 'a' }],
      ['POST', '/api/auth/login', { username: 42, password: ['x'] }],
      ['POST', '/api/auth/login', { username: huge, password: huge }],
      ['POST', '/api/auth/login', null],
      ['POST', '/api/auth/login', 'just a string'],
      ['POST', '/api/auth/users', {}],
      ['POST', '/api/auth/users', { username: 'ab', email: 'x@example.test', password: TEST_PASSWORD }],
      ['POST', '/api/auth/users', { username: 'ünïcödé', email: 'u@example.test', password: TEST_PASSWORD }],
      ['POST', '/api/auth/users', { username: 'user🙂', email: 'v@example.test', password: TEST_PASSWORD }],
      ['POST', '/api/auth/users', { username: 'okname1', email: 'not-an-email', password: TEST_PASSWORD }],
      ['POST', '/api/auth/users', { username: 'okname2', email: 'w@example.test', password: huge }],
      ['POST', '/api/auth/users', { username: huge, email: `${huge}@example.test`, password: TEST_PASSWORD }],
      ['POST', '/api/auth/users', { username: { $ne: null }, email: true, password: 12345678901 }],
      ['POST', '/api/auth/users', { username: 'okname3', email: 'y@example.test', password: TEST_PASSWORD, role: 'root' }],
      ['PUT', '/api/auth/users/me', {}],
      ['PUT', '/api/auth/users/me', { email: 7 }],
      ['PUT', `/api/auth/users/${admin.user.username}x/role`, {}],
      ['POST', '/api/auth/api-keys', {}],
      ['POST', '/api/auth/api-keys', { name: 'k', scope: 'everything' }],
      ['POST', '/api/auth/api-keys', { name: 'k', expires_in_days: 'soon' }],
      ['POST', '/api/auth/api-keys', { name: huge }],
      ['DELETE', '/api/auth/api-keys/not-a-uuid', undefined],
      ['DELETE', `/api/auth/api-keys/${'9'.repeat(100)}`, undefined],
      ['DELETE', `/api/auth/users/${'z'.repeat(300)}`, undefined],
    ];
    for (const [method, path, json] of bodies) {
      const r = await app.fetch(path, { method, token: admin.token, json });
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} ${JSON.stringify(json)?.slice(0, 80)} -> ${r.status}`);
      const body: any = await r.json();
      assert.equal(typeof body.error.message, 'string');
      assert.ok(body.error.message.length > 0);
    }
    // Unicode passwords are fine (and normalised): NFC and NFD spellings are the same password.
    const name = fresh('uni');
    const created = await app.fetch('/api/auth/users', { method: 'POST', token: admin.token, json: { username: name, email: `${name}@example.test`, password: 'Crème brûlée à minuit 🙂' } });
    assert.equal(created.status, 201);
    const nfd = 'Crème brûlée à minuit 🙂'.normalize('NFD');
    assert.equal((await app.fetch('/api/auth/login', { method: 'POST', json: { username: name, password: nfd } })).status, 200);
    // Over the body limit: 413, malformed JSON: 400.
    const tooBig = await app.fetch('/api/auth/login', { method: 'POST', json: { username: 'x', password: 'y'.repeat(200_000) } });
    assert.equal(tooBig.status, 413);
    const broken = await app.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    assert.equal(broken.status, 400);
  });
});

describe('accounts with SIGNUP_MODE=open', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp({ env: { SIGNUP_MODE: 'open' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('anyone may sign up as a user, then log in', async () => {
    const username = fresh('self');
    const r = await app.fetch('/api/auth/signup', { method: 'POST', json: { username, email: `${username}@example.test`, password: TEST_PASSWORD } });
    assert.equal(r.status, 201);
    const body: any = await r.json();
    assert.equal(body.user.role, 'user');
    assert.equal((await login(app, username, TEST_PASSWORD)).user.role, 'user');
  });

  test('self-service sign-up cannot ask for the admin role', async () => {
    const username = fresh('sneaky');
    const r = await app.fetch('/api/auth/signup', { method: 'POST', json: { username, email: `${username}@example.test`, password: TEST_PASSWORD, role: 'admin' } });
    assert.equal(r.status, 403);
  });

  test('a duplicate self-service sign-up is a 400 (username) as the original', async () => {
    const username = fresh('twice');
    const first = await app.fetch('/api/auth/signup', { method: 'POST', json: { username, email: `${username}@example.test`, password: TEST_PASSWORD } });
    assert.equal(first.status, 201);
    const again = await app.fetch('/api/auth/signup', { method: 'POST', json: { username, email: `${username}2@example.test`, password: TEST_PASSWORD } });
    assert.equal(again.status, 400);
  });
});
