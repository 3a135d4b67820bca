/**
 * Hardening on the real server: security headers on every kind of response, HSTS and Secure
 * cookies only over TLS (served directly or declared by a trusted proxy), body limits, content
 * types, the API's rate limits, the private boundary for /metrics, and secrets kept out of logs.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startApp, type TestApp } from '../../support/app.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { adminAccount, createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../../support/auth.js';

function assertSecurityHeaders(h: Headers, what: string): void {
  const csp = h.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/, `${what}: CSP default-src`);
  assert.match(csp, /script-src 'self'(;|$)/, `${what}: CSP script-src without unsafe-inline`);
  assert.match(csp, /object-src 'none'/, `${what}: CSP object-src`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.equal(h.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.ok(h.get('x-frame-options'), `${what}: X-Frame-Options`);
  assert.equal(h.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(h.get('cross-origin-opener-policy'), 'same-origin', `${what}: COOP`);
  assert.equal(h.get('cross-origin-resource-policy'), 'same-origin', `${what}: CORP`);
  assert.equal(h.get('x-powered-by'), null, `${what}: no X-Powered-By`);
  assert.ok(h.get('x-request-id'), `${what}: X-Request-Id`);
}

describe('hardening on plain HTTP', () => {
  let app: TestApp;
  let admin: TestAccount;
  before(async () => {
    // debug: every request's line too, so the secrets check scans as much as possible
    app = await startApp({ env: { LOG_LEVEL: 'debug' } });
    admin = await adminAccount(app);
  });
  after(async () => {
    await app?.stop();
  });

  test('security headers on JSON, pages, static files, errors, 404s, /metrics and health; no HSTS without TLS', async () => {
    const kinds: [string, string, RequestInit?][] = [
      ['JSON', '/api/auth/users/me'],
      ['JSON 401', '/api/auth/protected'],
      ['JSON 404', '/api/no/such/route'],
      ['JSON 400', '/api/auth/login'],
      ['page', '/login'],
      ['page 404', '/no-such-page'],
      ['static file', '/static/css/app.css'],
      ['static 404', '/static/nope.css'],
      ['vendor script', '/static/vendor/htmx.min.js'],
      ['metrics', '/metrics'],
      ['health', '/healthz'],
      ['readiness', '/readyz'],
      ['internal 404', '/internal/nothing'],
    ];
    for (const [what, p] of kinds) {
      const headers: Record<string, string> = what === 'JSON' ? { authorization: `Bearer ${admin.token}` } : {};
      const r = await app.fetch(p, what === 'JSON 400' ? { method: 'POST', json: { nope: 1 } } : { headers });
      await r.arrayBuffer();
      assert.ok(r.status < 500, `${what} ${p}: ${r.status}`);
      assertSecurityHeaders(r.headers, `${what} ${p}`);
      assert.equal(r.headers.get('strict-transport-security'), null, `${what}: no HSTS over plain HTTP`);
    }
    const page = await app.fetch('/admin/logs', { headers: { cookie: admin.cookie } });
    assert.equal(page.status, 200);
    assertSecurityHeaders(page.headers, 'admin page');
  });

  test('cookies are HttpOnly and SameSite, and not Secure over plain HTTP', async () => {
    const r = await app.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(app.url).origin },
      body: new URLSearchParams({ username: admin.user.username, password: TEST_PASSWORD, cookie: 'true' }).toString(),
    });
    assert.equal(r.status, 200);
    const cookie = r.headers.get('set-cookie') ?? '';
    assert.match(cookie, /cc_session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.doesNotMatch(cookie, /;\s*Secure/i);
    const page = await app.fetch('/login');
    for (const c of page.headers.getSetCookie()) {
      assert.match(c, /HttpOnly/i, c);
      assert.match(c, /SameSite=/i, c);
    }
  });

  test('a body over BODY_LIMIT is a 413 in the one error format, on the API and on pages', async () => {
    const big = JSON.stringify({ username: 'x', password: 'y'.repeat(200_000) });
    const r = await app.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    assert.equal(r.status, 413);
    const body: any = await r.json();
    assert.equal(body.error.code, 'payload_too_large');
    assert.equal(typeof body.error.message, 'string');
    const form = await app.fetch('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=a&password=' + 'z'.repeat(200_000) });
    assert.equal(form.status, 413);
    assert.match(form.headers.get('content-type') ?? '', /text\/html/);
  });

  test('a body of a type the router does not read is a 415; CSV is accepted only by import routes', async () => {
    const xml = await app.fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<login/>' });
    assert.equal(xml.status, 415);
    const xb: any = await xml.json();
    assert.equal(xb.error.code, 'unsupported_media_type');
    assert.match(xb.error.message, /application\/json/);
    const none = await app.fetch('/api/auth/login', { method: 'POST', body: new Uint8Array([1, 2, 3]) });
    assert.equal(none.status, 415);
    const csvElsewhere = await app.fetch('/api/crypto/assets', { method: 'POST', token: admin.token, headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' });
    assert.equal(csvElsewhere.status, 415);
    const csvImport = await app.fetch('/api/crypto/assets/NOPEUSD/import?interval=1d', { method: 'POST', token: admin.token, headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' });
    assert.notEqual(csvImport.status, 415);
    assert.ok(csvImport.status >= 400 && csvImport.status < 500, `import of an unknown pair: ${csvImport.status}`);
    // Bodiless requests are never refused for their type.
    const get = await app.fetch('/api/auth/users/me', { token: admin.token, headers: { 'content-type': 'application/xml' } });
    assert.equal(get.status, 200);
  });

  test('secrets never reach a log line or the admins\u2019 log search', async () => {
    const secretPassword = 'Sup3r secret passphrase 7391!';
    const u = await createUserAndLogin(app, { password: secretPassword });
    // a failed login with another secret, a wrong bearer token and a wrong internal token
    const wrong = 'Wr0ng but secret guess 5521?';
    await app.fetch('/api/auth/login', { method: 'POST', json: { username: u.user.username, password: wrong } });
    const created = await app.fetch('/api/auth/api-keys', { method: 'POST', token: u.token, json: { name: 'logs test', scope: 'read' } });
    assert.equal(created.status, 201);
    const apiKey: string = ((await created.json()) as any).key;
    assert.ok(apiKey.startsWith('cc_'));
    await app.fetch('/api/auth/users/me', { headers: { 'x-api-key': apiKey } });
    await app.fetch('/api/auth/users/me', { headers: { authorization: `Bearer ${apiKey}` } });
    await app.fetch('/api/auth/users/me', { token: u.token });
    await app.fetch('/api/auth/users/me', { headers: { cookie: u.cookie } });
    await app.fetch('/api/auth/users/me', { token: 'eyJhbGciOiJIUzI1NiJ9.bm90LWEtdG9rZW4.c2lnbmF0dXJlLXNlY3JldA' });
    await app.fetch('/metrics', { headers: { 'x-internal-token': 'internal-token-secret-value-123' } });
    await app.fetch('/api/auth/users/me', { method: 'PUT', token: u.token, json: { password: 'An0ther new secret pass!', current_password: secretPassword } });
    const secrets = [secretPassword, wrong, apiKey, u.token, 'internal-token-secret-value-123', 'An0ther new secret pass!', 'c2lnbmF0dXJlLXNlY3JldA', app.running.config.JWT_SECRET].filter((s): s is string => !!s);
    // Wait for the last response's log line.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(app.logs.length > 20, 'the app wrote log lines');
    for (const s of secrets) {
      const hits = app.logs.filter((l) => l.includes(s));
      assert.deepEqual(hits, [], `a log line contains a secret (${s.slice(0, 6)}…)`);
    }
    const search = await app.fetch(`/api/admin/logs?limit=1000`, { token: admin.token });
    const text = await search.text();
    for (const s of secrets) assert.ok(!text.includes(s), `the log search shows a secret (${s.slice(0, 6)}…)`);
    assert.ok(!text.includes(admin.token));
  });

  test('admins search recent logs by level, text, request id and job run; others are refused', async () => {
    await app.fetch('/api/no/such/thing', { headers: { 'x-request-id': 'trace-me-1234567' } });
    await new Promise((r) => setTimeout(r, 50));
    const byId = await app.fetch('/api/admin/logs?requestId=trace-me-1234567', { token: admin.token });
    assert.equal(byId.status, 200);
    const body: any = await byId.json();
    assert.ok(body.items.length >= 1);
    assert.ok(body.items.every((l: any) => l.request_id === 'trace-me-1234567'));
    assert.equal(typeof body.capacity, 'number');
    const warn: any = await (await app.fetch('/api/admin/logs?level=warn', { token: admin.token })).json();
    assert.ok(warn.items.every((l: any) => ['warn', 'error', 'fatal'].includes(l.level)));
    const text: any = await (await app.fetch('/api/admin/logs?q=listening', { token: admin.token })).json();
    assert.ok(text.items.every((l: any) => l.line.toLowerCase().includes('listening')));
    const job: any = await (await app.fetch('/api/admin/logs?jobRunId=999999', { token: admin.token })).json();
    assert.deepEqual(job.items, []);
    const bad = await app.fetch('/api/admin/logs?level=loud&jobRunId=abc', { token: admin.token });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as any).error.message, /level/);
    const user = await createUserAndLogin(app);
    assert.equal((await app.fetch('/api/admin/logs', { token: user.token })).status, 403);
    assert.equal((await app.fetch('/api/admin/logs')).status, 401);
    const page = await app.fetch('/admin/logs?requestId=trace-me-1234567', { headers: { cookie: admin.cookie } });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /trace-me-1234567/);
    const frag = await app.fetch('/admin/logs?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E', { headers: { cookie: admin.cookie, 'hx-request': 'true', 'hx-target': 'log-results' } });
    const fragHtml = await frag.text();
    assert.match(fragHtml, /^<section id="log-results"/);
    assert.equal((await app.fetch('/admin/logs', { headers: { cookie: user.cookie } })).status, 403);
  });
});

describe('behind a trusted proxy: private boundary, rate limits, forwarded TLS', () => {
  let app: TestApp;
  let admin: TestAccount;
  before(async () => {
    app = await startApp({ env: { TRUST_PROXY: 'loopback', RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_PER_IP_PER_MINUTE: '8' } });
    admin = await adminAccount(app);
  });
  after(async () => {
    await app?.stop();
  });

  test('/metrics and /internal are refused (an ordinary 404) from an address that is not allowed', async () => {
    const ok = await app.fetch('/metrics');
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /prediction_api_request_count/);
    const outside = await app.fetch('/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(outside.status, 404);
    const text = await outside.text();
    assert.doesNotMatch(text, /prediction_api/);
    assert.match(outside.headers.get('content-type') ?? '', /text\/html/);
    const internal = await app.fetch('/internal/jobs', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(internal.status, 404);
  });

  test('the API limits each address and each user or key, with Retry-After and the one error format', async () => {
    const ip = '198.51.100.7';
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 10; i++) {
      last = await app.fetch('/api/auth/protected', { headers: { 'x-forwarded-for': ip } });
      statuses.push(last.status);
      if (last.status === 429) break;
    }
    assert.equal(statuses.filter((s) => s === 401).length, 8, `per-address limit of 8: ${statuses}`);
    assert.equal(last!.status, 429);
    const retry = Number(last!.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.match(last!.headers.get('ratelimit-policy') ?? '', /8/);
    const body: any = await last!.json();
    assert.equal(body.error.code, 'too_many_requests');
    assert.match(body.error.message, /address/);
    assert.equal(body.error.details.retryAfterSeconds, retry);
    // Another address is not affected.
    assert.equal((await app.fetch('/api/auth/protected', { headers: { 'x-forwarded-for': '198.51.100.8' } })).status, 401);

    // One user from many addresses: the per-user limit (5) applies across them.
    const user = await createUserAndLogin(app);
    const seen: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await app.fetch('/api/auth/protected', { token: user.token, headers: { 'x-forwarded-for': `192.0.2.${10 + i}` } });
      seen.push(r.status);
      if (r.status === 429) {
        assert.ok(Number(r.headers.get('retry-after')) >= 1);
        assert.match(((await r.json()) as any).error.message, /account/);
        break;
      }
      await r.arrayBuffer();
    }
    // (the helper's GET /api/auth/users/me after logging in was the first of the five)
    assert.deepEqual(seen, [200, 200, 200, 200, 429]);
    // Pages are not rate-limited by the API's limits.
    assert.equal((await app.fetch('/login', { headers: { 'x-forwarded-for': ip } })).status, 200);
  });

  test('X-Forwarded-Proto: https from the trusted proxy turns on HSTS and Secure cookies', async () => {
    const r = await app.fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.0.2.200', origin: `https://${new URL(app.url).host}` },
      body: new URLSearchParams({ username: admin.user.username, password: TEST_PASSWORD, cookie: 'true' }).toString(),
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    assert.match(r.headers.get('set-cookie') ?? '', /;\s*Secure/i);
    const plain = await app.fetch('/login', { headers: { 'x-forwarded-for': '192.0.2.201' } });
    assert.equal(plain.headers.get('strict-transport-security'), null);
  });
});

function httpsGet(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

describe('HTTPS served directly (TLS_CERT_FILE / TLS_KEY_FILE)', () => {
  let app: TestApp;
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'candlecast-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    db = await startTestDatabase();
    app = await startApp({ db, env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key } });
  });
  after(async () => {
    await app?.stop();
    await db?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('answers over https with HSTS on every response kind and Secure session cookies', async () => {
    assert.match(app.url, /^https:\/\//);
    for (const p of ['/healthz', '/login', '/api/no/such/route', '/static/css/app.css', '/metrics', '/no-such-page']) {
      const r = await httpsGet(app.url + p);
      assert.ok(r.status < 500, `${p}: ${r.status}`);
      assert.match(String(r.headers['strict-transport-security']), /max-age=31536000; includeSubDomains/, p);
      assert.match(String(r.headers['content-security-policy']), /default-src 'self'/, p);
    }
    const admin = await app.running.app.services.auth.createAdmin({ username: 'tlsadmin', email: 'tls@example.test', password: TEST_PASSWORD });
    assert.ok(admin.created);
    const login = await httpsGet(app.url + '/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(app.url).origin },
      body: new URLSearchParams({ username: 'tlsadmin', password: TEST_PASSWORD, cookie: 'true' }).toString(),
    });
    assert.equal(login.status, 200);
    const setCookie = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    const session = setCookie.find((c) => c.startsWith('cc_session='));
    assert.ok(session, 'session cookie set');
    assert.match(session, /;\s*Secure/i);
    assert.match(session, /HttpOnly/i);
    assert.match(session, /SameSite=Lax/i);
  });
});
