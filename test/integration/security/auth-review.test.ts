/**
 * Findings of the outside security review (issue 15) on the real server: the login redirect,
 * login CSRF through the API, the scope of "log out everywhere", page logout revoking its
 * token, tokens without exp, and the Host header on private routes and cookie pages.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import jwt from 'jsonwebtoken';
import { startApp, type TestApp } from '../../support/app.js';
import { createUserAndLogin, sameOrigin, TEST_PASSWORD } from '../../support/auth.js';
import { PageClient } from '../pages/support.js';

const JWT_SECRET = 'auth-review-secret-0123456789-abcdefghij';

/** Values an attacker might put in `next`; none may send the browser off this site. */
const TRICKY_NEXT = [
  '//evil.example',
  '/.//evil.example',
  '/./\\evil.example',
  '/%2e%2e//evil.example',
  '/%2E//evil.example',
  '/a/..//evil.example',
  '/a/../..//evil.example',
  '/..//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/%5cevil.example',
  '/%5C%5Cevil.example',
  'https://evil.example',
  'http:evil.example',
  '/\tevil.example',
  '/\n/evil.example',
  ' //evil.example',
  'javascript:alert(1)',
  '/%09/evil.example',
  '/%0a/evil.example',
];

/** Where a Location header sends a browser that is on `base`. */
function landsOn(location: string, base: string): URL {
  return new URL(location, base);
}

/** A raw HTTP request, so the Host header can be anything (fetch does not let us set it). */
function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

describe('security review: auth findings', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp({ env: { JWT_SECRET, JWT_EXPIRES_IN: '600' } });
  });
  after(async () => {
    await app?.stop();
  });

  // ---------------------------------------------------------------- 1. open redirect

  test('a signed-in user opening /login?next=<tricky> stays on this site', async () => {
    const u = await createUserAndLogin(app);
    for (const value of TRICKY_NEXT) {
      const r = await app.fetch(`/login?next=${encodeURIComponent(value)}`, { headers: { cookie: u.cookie } });
      assert.equal(r.status, 303, value);
      const location = r.headers.get('location') ?? '';
      const target = landsOn(location, app.url);
      assert.equal(target.origin, new URL(app.url).origin, `${JSON.stringify(value)} -> ${location}`);
      assert.match(location, /^\/(?![/\\])/, `${JSON.stringify(value)} -> ${location}`);
    }
  });

  test('the login form post with a tricky next stays on this site; a plain path is kept', async () => {
    const u = await createUserAndLogin(app);
    for (const value of TRICKY_NEXT.slice(0, 8)) {
      const c = new PageClient(app);
      await c.get('/login');
      const { r } = await c.post('/login', { username: u.user.username, password: TEST_PASSWORD, next: value });
      assert.equal(r.status, 303, value);
      const location = r.headers.get('location') ?? '';
      assert.equal(landsOn(location, app.url).origin, new URL(app.url).origin, `${JSON.stringify(value)} -> ${location}`);
      assert.match(location, /^\/(?![/\\])/, `${JSON.stringify(value)} -> ${location}`);
    }
    const r = await app.fetch(`/login?next=${encodeURIComponent('/data?pair=XBTUSD#chart')}`, { headers: { cookie: u.cookie } });
    assert.equal(r.headers.get('location'), '/data?pair=XBTUSD#chart');
  });

  // ---------------------------------------------------------------- 2. login CSRF

  test('POST /api/auth/login with cookie=true from another site sets no session cookie', async () => {
    const u = await createUserAndLogin(app);
    const form = new URLSearchParams({ username: u.user.username, password: TEST_PASSWORD, cookie: 'true' }).toString();
    for (const headers of [{ origin: 'http://evil.example' }, { origin: 'null' }, { referer: 'http://evil.example/page' }, { 'sec-fetch-site': 'cross-site' }, {}] as Record<string, string>[]) {
      const r = await app.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: form });
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(((await r.json()) as any).error.code, 'cross_site');
      assert.ok(!r.headers.getSetCookie().some((c) => c.startsWith('cc_session=')), JSON.stringify(headers));
    }
  });

  test('the JSON token answer for scripts is unchanged, and this site still gets its cookie', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: u.user.username, password: TEST_PASSWORD }).toString() });
    assert.equal(r.status, 200);
    const body: any = await r.json();
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'role', 'token_type', 'username']);
    assert.equal(body.token_type, 'bearer');
    assert.equal(r.headers.getSetCookie().length, 0);
    const own = await app.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameOrigin(app) }, body: new URLSearchParams({ username: u.user.username, password: TEST_PASSWORD, cookie: 'true' }).toString() });
    assert.equal(own.status, 200);
    assert.ok(own.headers.getSetCookie().some((c) => c.startsWith('cc_session=')));
  });

  // ---------------------------------------------------------------- 3. scope on logout

  test('an API key cannot log its owner out everywhere', async () => {
    const u = await createUserAndLogin(app);
    for (const scope of ['read', 'write']) {
      const k = await app.fetch('/api/auth/api-keys', { method: 'POST', token: u.token, json: { name: `k-${scope}`, scope } });
      assert.equal(k.status, 201);
      const key = ((await k.json()) as any).key as string;
      const r = await app.fetch('/api/auth/logout', { method: 'POST', headers: { 'x-api-key': key }, json: { everywhere: true } });
      assert.equal(r.status, 403, scope);
      assert.equal(((await r.json()) as any).error.code, 'session_required');
      assert.equal((await app.fetch('/api/auth/users/me', { token: u.token })).status, 200, 'the owner is still signed in');
    }
  });

  // ---------------------------------------------------------------- 5. token revocation, exp

  test('page "Log out" revokes the token it logged out, not only the cookie; other sessions live on', async () => {
    const u = await createUserAndLogin(app);
    const c = new PageClient(app);
    await c.login(u.user.username, TEST_PASSWORD);
    const token = c.cookies.get('cc_session')!;
    assert.ok(token);
    assert.equal((await app.fetch('/api/auth/users/me', { token })).status, 200);
    const { r } = await c.post('/logout', {});
    assert.equal(r.status, 303);
    const after = await app.fetch('/api/auth/users/me', { token });
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as any).error.code, 'token_revoked');
    const again = await app.fetch('/account', { headers: { cookie: `cc_session=${token}` } });
    assert.equal(again.status, 303, 'the old cookie no longer opens pages');
    assert.equal((await app.fetch('/api/auth/users/me', { token: u.token })).status, 200, 'another session is untouched');
  });

  test('API logout with the session cookie revokes that token too', async () => {
    const u = await createUserAndLogin(app);
    const r = await app.fetch('/api/auth/logout', { method: 'POST', headers: { cookie: u.cookie, ...sameOrigin(app) } });
    assert.equal(r.status, 200);
    assert.equal((await app.fetch('/api/auth/users/me', { token: u.token })).status, 401);
  });

  test('a token without exp, signed with the real secret, is refused', async () => {
    const u = await createUserAndLogin(app);
    const claims = jwt.decode(u.token) as Record<string, unknown>;
    assert.equal(typeof claims.exp, 'number');
    const { exp: _exp, ...rest } = claims;
    const forever = jwt.sign(rest, JWT_SECRET, { algorithm: 'HS256' });
    assert.equal((jwt.decode(forever) as Record<string, unknown>).exp, undefined);
    const r = await app.fetch('/api/auth/users/me', { token: forever });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'invalid_token');
    // the same claims with an exp are accepted: the refusal is about exp alone
    const withExp = jwt.sign(claims, JWT_SECRET, { algorithm: 'HS256' });
    assert.equal((await app.fetch('/api/auth/users/me', { token: withExp })).status, 200);
  });
});

describe('security review: the Host header', () => {
  let app: TestApp;
  let port: string;
  before(async () => {
    app = await startApp({ env: { JWT_SECRET, PUBLIC_URL: 'https://candlecast.example.com', ALLOWED_HOSTS: 'stats.internal.example' } });
    port = new URL(app.url).port;
  });
  after(async () => {
    await app?.stop();
  });

  test('private routes answer only configured host names and IP literals', async () => {
    for (const path of ['/metrics', '/internal/metrics']) {
      for (const host of ['evil.example', `evil.example:${port}`, 'localhost.evil.example', '127.0.0.1.nip.io', 'candlecast.example.com.evil.example', 'xn--localhost']) {
        const r = await rawRequest(app.url + path, { headers: { host } });
        // the same answer as any unknown path under that name (pages refuse the name: 421)
        const unknown = await rawRequest(app.url + '/no-such-route-anywhere', { headers: { host } });
        assert.equal(r.status, unknown.status, `${path} Host: ${host}`);
        assert.equal(r.status, 421, `${path} Host: ${host}`);
        assert.doesNotMatch(r.body, /# HELP/);
      }
      for (const host of [`localhost:${port}`, 'LOCALHOST', `127.0.0.1:${port}`, `[::1]:${port}`, '10.1.2.3', 'candlecast.example.com', 'stats.internal.example']) {
        const r = await rawRequest(app.url + path, { headers: { host } });
        assert.equal(r.status, 200, `${path} Host: ${host}`);
      }
    }
  });

  test('cookie-authenticated pages refuse a foreign Host; bearer API calls are not affected', async () => {
    const u = await createUserAndLogin(app);
    const evil = await rawRequest(app.url + '/account', { headers: { host: `evil.example:${port}`, cookie: u.cookie } });
    assert.equal(evil.status, 421);
    assert.match(evil.body, /ALLOWED_HOSTS/);
    assert.doesNotMatch(evil.body, new RegExp(u.user.email.replace('.', '\\.')));
    const apiCookie = await rawRequest(app.url + '/api/auth/users/me', { headers: { host: `evil.example:${port}`, cookie: u.cookie } });
    assert.equal(apiCookie.status, 401);
    const own = await rawRequest(app.url + '/account', { headers: { host: `localhost:${port}`, cookie: u.cookie } });
    assert.equal(own.status, 200);
    const bearer = await rawRequest(app.url + '/api/auth/users/me', { headers: { host: `evil.example:${port}`, authorization: `Bearer ${u.token}` } });
    assert.equal(bearer.status, 200);
  });

  test('private write routes refuse browser-originated requests', async () => {
    const list = async () => (await (await app.fetch('/internal/jobs')).json()) as { jobs: { name: string }[]; runs: unknown[] };
    const runs = async () => (await list()).runs.length;
    const job = (await list()).jobs[0]?.name;
    assert.ok(job, 'a defined job to try to start');
    const before = await runs();
    for (const headers of [{ origin: app.url }, { origin: 'http://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-origin' }] as Record<string, string>[]) {
      const send = (path: string) => rawRequest(app.url + path, { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...headers }, body: '{}' });
      const r = await send(`/internal/jobs/${job}/run`);
      // falls through to the pages, exactly like a POST to a path that does not exist
      const unknown = await send('/no-such-route-anywhere');
      assert.equal(r.status, unknown.status, JSON.stringify(headers));
      assert.ok(r.status === 403 || r.status === 404, `${JSON.stringify(headers)}: ${r.status}`);
      assert.match(String(r.headers['content-type']), /text\/html/, "the site's ordinary 404, not the route's");
    }
    assert.equal(await runs(), before, 'no run was started');
    // a script (no Origin, no Sec-Fetch-*) still reaches the route
    const script = await rawRequest(app.url + '/internal/jobs/no-such-job/run', { method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' }, body: '{}' });
    assert.match(String(script.headers['content-type']), /application\/json/);
    assert.equal(JSON.parse(script.body).error.code, 'job_not_defined');
  });
});
