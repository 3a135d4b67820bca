/**
 * Logins, tokens and sessions on the real server: every refusal a forged, stale or missing
 * credential must meet, and the cookie the pages use.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { startApp, type TestApp } from '../../support/app.js';
import { createUserAndLogin, login, sameOrigin, TEST_PASSWORD } from '../../support/auth.js';

const JWT_SECRET = 'tokens-test-secret-0123456789-abcdefghij';
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('logins and tokens', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp({ env: { JWT_SECRET, JWT_EXPIRES_IN: '600' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('form-encoded login (the original OAuth2 form) returns a bearer token, role and expiry', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=password&username=${u.user.username}&password=${encodeURIComponent(TEST_PASSWORD)}&scope=`,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('set-cookie'), null, 'no cookie unless asked for');
    const body: any = await r.json();
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.role, 'user');
    assert.equal(body.expires_in, 600);
    const claims = jwt.verify(body.access_token, JWT_SECRET, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    assert.equal(claims.sub, String(u.user.id));
    assert.equal(claims.ver, 0);
    assert.equal(claims.role, 'user');
    assert.equal(claims.exp! - claims.iat!, 600);
  });

  test('JSON login works too, and the username is case-insensitive', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username.toUpperCase(), password: TEST_PASSWORD } });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as any).username, u.user.username);
  });

  test('wrong password and unknown user get the same 401 and message', async () => {
    const u = await createUserAndLogin(app);
    const a = await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username, password: 'not the password' } });
    const b = await app.fetch('/api/auth/login', { method: 'POST', json: { username: 'nobody-here', password: 'not the password' } });
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    const ba: any = await a.json();
    const bb: any = await b.json();
    assert.equal(ba.detail, 'Incorrect username or password');
    assert.equal(bb.detail, ba.detail);
    assert.equal(bb.error.code, ba.error.code);
  });

  test('validate answers {valid: true, username, role} or {valid: false}, always 200', async () => {
    const u = await createUserAndLogin(app);
    const ok = await app.fetch('/api/auth/validate', { method: 'POST', token: u.token });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { valid: true, username: u.user.username, role: 'user' });
    const none = await app.fetch('/api/auth/validate', { method: 'POST' });
    assert.equal(none.status, 200);
    assert.equal(((await none.json()) as any).valid, false);
    const junk = await app.fetch('/api/auth/validate', { method: 'POST', token: 'junk.junk.junk' });
    assert.equal(junk.status, 200);
    assert.equal(((await junk.json()) as any).valid, false);
  });

  test('protected answers {message, user, role} with a token and 401 without one', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/protected', { token: u.token });
    assert.equal(r.status, 200);
    const body: any = await r.json();
    assert.equal(body.user, u.user.username);
    assert.equal(body.role, 'user');
    assert.equal(typeof body.message, 'string');
    const anon = await app.fetch('/api/auth/protected');
    assert.equal(anon.status, 401);
    assert.equal(anon.headers.get('www-authenticate'), 'Bearer');
    assert.equal(((await anon.json()) as any).error.code, 'unauthorized');
  });

  test('an expired token is refused with token_expired', async () => {
    const u = await createUserAndLogin(app);
    const expired = jwt.sign({ ver: 0, role: 'user', iat: now() - 120, exp: now() - 60 }, JWT_SECRET, { algorithm: 'HS256', subject: String(u.user.id), issuer: 'candlecast' });
    const r = await app.fetch('/api/auth/protected', { token: expired });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'token_expired');
  });

  test('a token signed with another key is refused', async () => {
    const u = await createUserAndLogin(app);
    const forged = jwt.sign({ ver: 0, role: 'admin' }, 'another-secret-another-secret-another!!', { algorithm: 'HS256', subject: String(u.user.id), issuer: 'candlecast', expiresIn: 600 });
    const r = await app.fetch('/api/auth/protected', { token: forged });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'invalid_token');
    // A real token with one signature character changed.
    const tampered = u.token.slice(0, -3) + (u.token.endsWith('AAA') ? 'BBB' : 'AAA');
    assert.equal((await app.fetch('/api/auth/protected', { token: tampered })).status, 401);
    // A real token whose payload was edited to claim admin.
    const [h, , s] = u.token.split('.');
    const edited = `${h}.${b64({ sub: String(u.user.id), ver: 0, role: 'admin', iss: 'candlecast', iat: now(), exp: now() + 600 })}.${s}`;
    assert.equal((await app.fetch('/api/auth/users', { token: edited })).status, 401);
  });

  test('alg "none" tokens are refused (hand-built, unsigned)', async () => {
    const admin = await createUserAndLogin(app, { role: 'admin' });
    const payload = { sub: String(admin.user.id), ver: 0, role: 'admin', iss: 'candlecast', iat: now(), exp: now() + 600 };
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}.`;
      const r = await app.fetch('/api/auth/users', { token: unsigned });
      assert.equal(r.status, 401, alg);
      const noDot = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
      assert.equal((await app.fetch('/api/auth/users', { token: noDot })).status, 401, `${alg} without a signature part`);
    }
  });

  test('other algorithms are refused even when signed with the right key (HS512, HS384)', async () => {
    const u = await createUserAndLogin(app);
    for (const algorithm of ['HS512', 'HS384'] as const) {
      const t = jwt.sign({ ver: 0, role: 'user' }, JWT_SECRET, { algorithm, subject: String(u.user.id), issuer: 'candlecast', expiresIn: 600 });
      assert.equal((await app.fetch('/api/auth/protected', { token: t })).status, 401, algorithm);
    }
  });

  test('a token with the right key but a wrong issuer, or a non-numeric subject, is refused', async () => {
    const u = await createUserAndLogin(app);
    const wrongIss = jwt.sign({ ver: 0, role: 'user' }, JWT_SECRET, { algorithm: 'HS256', subject: String(u.user.id), issuer: 'elsewhere', expiresIn: 600 });
    assert.equal((await app.fetch('/api/auth/protected', { token: wrongIss })).status, 401);
    const badSub = jwt.sign({ ver: 0, role: 'user' }, JWT_SECRET, { algorithm: 'HS256', subject: 'admin', issuer: 'candlecast', expiresIn: 600 });
    assert.equal((await app.fetch('/api/auth/protected', { token: badSub })).status, 401);
  });

  test('a non-Bearer Authorization header is refused with a hint', async () => {
    const r = await app.fetch('/api/auth/protected', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'invalid_authorization');
  });

  test("a deleted user's token stops working at once", async () => {
    const u = await createUserAndLogin(app);
    const del = await app.fetch(`/api/auth/users/${u.user.username}`, { method: 'DELETE', token: u.token });
    assert.equal(del.status, 200);
    const r = await app.fetch('/api/auth/protected', { token: u.token });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'token_revoked');
  });

  test("a demoted admin's old token no longer opens admin routes (nor any route)", async () => {
    const boss = await createUserAndLogin(app, { role: 'admin' });
    const other = await createUserAndLogin(app, { role: 'admin' });
    assert.equal((await app.fetch('/api/auth/users', { token: other.token })).status, 200);
    const demote = await app.fetch(`/api/auth/users/${other.user.username}/role`, { method: 'PUT', token: boss.token, json: { role: 'user' } });
    assert.equal(demote.status, 200);
    assert.equal(((await demote.json()) as any).role, 'user');
    const r = await app.fetch('/api/auth/users', { token: other.token });
    assert.equal(r.status, 401);
    // Logging in again gives a token for the new role.
    const again = await login(app, other.user.username, TEST_PASSWORD);
    assert.equal((await app.fetch('/api/auth/users', { token: again.token })).status, 403);
  });

  test('a password change ends older tokens and returns a fresh one', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: 'A brand new passphrase', current_password: TEST_PASSWORD } });
    assert.equal(r.status, 200);
    const body: any = await r.json();
    assert.equal(body.username, u.user.username);
    assert.equal(typeof body.access_token, 'string');
    assert.equal((await app.fetch('/api/auth/protected', { token: u.token })).status, 401);
    assert.equal((await app.fetch('/api/auth/protected', { token: body.access_token })).status, 200);
    assert.equal((await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username, password: TEST_PASSWORD } })).status, 401);
    assert.equal((await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username, password: 'A brand new passphrase' } })).status, 200);
  });

  test('the session cookie is HttpOnly, SameSite=Lax, Path=/, and carries the same identity', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/login', { method: 'POST', headers: sameOrigin(app), json: { username: u.user.username, password: TEST_PASSWORD, cookie: true } });
    const sc = r.headers.get('set-cookie') ?? '';
    assert.match(sc, /^cc_session=/);
    assert.match(sc, /HttpOnly/i);
    assert.match(sc, /SameSite=Lax/i);
    assert.match(sc, /Path=\//);
    assert.doesNotMatch(sc, /Secure/i, 'not Secure over plain http');
    assert.match(sc, /Max-Age=600/);
    const me = await app.fetch('/api/auth/users/me', { headers: { cookie: u.cookie } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as any).username, u.user.username);
  });

  test('a cookie-authenticated change must come from this site', async () => {
    const u = await createUserAndLogin(app);
    const cross = await app.fetch('/api/auth/users/me', { method: 'PUT', headers: { cookie: u.cookie, origin: 'https://evil.example' }, json: { email: 'x1@example.test' } });
    assert.equal(cross.status, 401);
    assert.equal(((await cross.json()) as any).error.code, 'cross_site');
    const noOrigin = await app.fetch('/api/auth/users/me', { method: 'PUT', headers: { cookie: u.cookie }, json: { email: 'x2@example.test' } });
    assert.equal(noOrigin.status, 401);
    const same = await app.fetch('/api/auth/users/me', { method: 'PUT', headers: { cookie: u.cookie, ...sameOrigin(app) }, json: { email: 'x3@example.test' } });
    assert.equal(same.status, 200);
    assert.equal(((await same.json()) as any).email, 'x3@example.test');
    const htmx = await app.fetch('/api/auth/users/me', { method: 'PUT', headers: { cookie: u.cookie, 'hx-request': 'true' }, json: { email: 'x4@example.test' } });
    assert.equal(htmx.status, 200);
  });

  test('logout clears the cookie and ends its token; logout everywhere ends every token', async () => {
    const u = await createUserAndLogin(app);
    const out = await app.fetch('/api/auth/logout', { method: 'POST', headers: { cookie: u.cookie, ...sameOrigin(app) } });
    assert.equal(out.status, 200);
    const sc = out.headers.get('set-cookie') ?? '';
    assert.match(sc, /^cc_session=;/);
    assert.match(sc, /Expires=Thu, 01 Jan 1970/);
    // The logged-out token is revoked (its session), not only dropped by the browser (issue 15).
    assert.equal((await app.fetch('/api/auth/protected', { headers: { cookie: u.cookie } })).status, 401);
    assert.equal((await app.fetch('/api/auth/protected', { token: u.token })).status, 401);
    // Two fresh sessions: logout everywhere with one ends both.
    const a = await login(app, u.user.username, TEST_PASSWORD);
    const b = await login(app, u.user.username, TEST_PASSWORD);
    assert.equal((await app.fetch('/api/auth/protected', { token: b.token })).status, 200);
    const all = await app.fetch('/api/auth/logout', { method: 'POST', token: a.token, json: { everywhere: true } });
    assert.equal(all.status, 200);
    assert.equal((await app.fetch('/api/auth/protected', { token: a.token })).status, 401);
    assert.equal((await app.fetch('/api/auth/protected', { token: b.token })).status, 401);
    assert.equal((await app.fetch('/api/auth/protected', { headers: { cookie: b.cookie } })).status, 401);
  });

  test('an invalid cookie is cleared and the request stays anonymous', async () => {
    const r = await app.fetch('/api/auth/validate', { method: 'POST', headers: { cookie: 'cc_session=garbage', 'hx-request': 'true' } });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as any).valid, false);
    assert.match(r.headers.get('set-cookie') ?? '', /^cc_session=;/);
  });

  test('the bearer header wins over the cookie', async () => {
    const a = await createUserAndLogin(app);
    const b = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/users/me', { token: a.token, headers: { cookie: b.cookie } });
    assert.equal(((await r.json()) as any).username, a.user.username);
  });

  test('no token, password or cookie reaches the log', async () => {
    const u = await createUserAndLogin(app);
    await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username, password: 'wrong password here' } });
    await app.fetch('/api/auth/protected', { token: u.token, headers: { cookie: u.cookie } });
    const all = app.logs.join('\n');
    assert.ok(!all.includes(u.token), 'token in logs');
    assert.ok(!all.includes(TEST_PASSWORD), 'password in logs');
    assert.ok(!all.includes('wrong password here'), 'tried password in logs');
  });
});
