/**
 * /internal/* and /metrics on the real server: open to loopback, to INTERNAL_ALLOW_CIDRS and to
 * the INTERNAL_TOKEN; a 404 like any unknown path to everyone else, audited without flooding.
 * A non-loopback caller is simulated by trusting X-Forwarded-For from loopback (TRUST_PROXY=loopback).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../support/app.js';
import { adminAccount } from '../../support/auth.js';

const INTERNAL_TOKEN = 'internal-token-for-tests-0123456789';

/** A 404 body with the parts that differ per request (request id, CSRF token, path) blanked out. */
async function shape(r: Response, path: string): Promise<string> {
  const text = await r.text();
  return text
    .replaceAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replaceAll(/[0-9a-f]{32,}(\.[0-9a-f]{32,})?/g, '<token>')
    .replaceAll(path, '<path>');
}

describe('private routes from loopback, with TRUST_PROXY unset', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('/metrics and /internal/metrics answer loopback', async () => {
    const m = await app.fetch('/metrics');
    assert.equal(m.status, 200);
    assert.match(await m.text(), /# HELP/);
    assert.equal((await app.fetch('/internal/metrics')).status, 200);
  });

  test('X-Forwarded-For is ignored unless TRUST_PROXY says so (it cannot lock loopback out, nor let others in)', async () => {
    const r = await app.fetch('/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(r.status, 200);
  });
});

describe('private routes from a non-allowed address', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp({ env: { TRUST_PROXY: 'loopback', INTERNAL_ALLOW_CIDRS: '198.51.100.0/24, 2001:db8::/32', INTERNAL_TOKEN } });
  });
  after(async () => {
    await app?.stop();
  });

  const from = (ip: string, extra: Record<string, string> = {}) => ({ headers: { 'x-forwarded-for': ip, ...extra } });

  test('a stranger gets a 404 with the same body as any unknown route', async () => {
    for (const path of ['/metrics', '/internal/metrics', '/internal/predict/latest-prediction']) {
      const r = await app.fetch(path, from('203.0.113.9'));
      assert.equal(r.status, 404, path);
      const unknownPath = '/no-such-route-anywhere';
      const u = await app.fetch(unknownPath, from('203.0.113.9'));
      assert.equal(r.headers.get('content-type'), u.headers.get('content-type'));
      assert.equal(await shape(r, path), await shape(u, unknownPath), path);
    }
    assert.equal((await app.fetch('/metrics', { method: 'HEAD', ...from('203.0.113.9') })).status, 404);
  });

  test('Express routes /INTERNAL and /Metrics case-insensitively, so the boundary must (and does) apply to them too', async () => {
    // A proxy rule that blocks only lower-case paths lets these through; the app is the last line.
    for (const path of ['/METRICS', '/Metrics', '/INTERNAL/metrics', '/Internal/metrics', '/iNtErNaL/jobs']) {
      const allowed = await app.fetch(path, from('198.51.100.77'));
      if (!path.toLowerCase().includes('jobs')) {
        assert.equal(allowed.status, 200, `${path} reaches the private router from an allowed address`);
        assert.match(await allowed.text(), /# HELP/);
      } else await allowed.text();
      const r = await app.fetch(path, from('203.0.113.9'));
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(await r.text(), /# HELP/, path);
    }
    // a write gets what a POST to a path that does not exist gets (the pages' refusal), not a job
    const post = await app.fetch('/INTERNAL/jobs/ingest/run', { method: 'POST', ...from('203.0.113.9') });
    const unknown = await app.fetch('/no-such-route-anywhere', { method: 'POST', ...from('203.0.113.9') });
    assert.equal(post.status, unknown.status);
    assert.notEqual(post.status, 202);
    assert.ok(post.status >= 400 && post.status < 500);
  });

  test('an address in INTERNAL_ALLOW_CIDRS (IPv4 or IPv6) gets through', async () => {
    assert.equal((await app.fetch('/metrics', from('198.51.100.77'))).status, 200);
    assert.equal((await app.fetch('/internal/metrics', from('2001:db8::5'))).status, 200);
    assert.equal((await app.fetch('/metrics', from('198.51.101.1'))).status, 404, 'just outside the range');
  });

  test('the right X-Internal-Token lets anyone through; a wrong one does not', async () => {
    assert.equal((await app.fetch('/metrics', from('203.0.113.9', { 'x-internal-token': INTERNAL_TOKEN }))).status, 200);
    assert.equal((await app.fetch('/internal/metrics', from('203.0.113.9', { 'x-internal-token': INTERNAL_TOKEN }))).status, 200);
    assert.equal((await app.fetch('/metrics', from('203.0.113.9', { 'x-internal-token': `${INTERNAL_TOKEN}x` }))).status, 404);
    assert.equal((await app.fetch('/metrics', from('203.0.113.9', { 'x-internal-token': INTERNAL_TOKEN.slice(0, -1) }))).status, 404);
    assert.equal((await app.fetch('/metrics', from('203.0.113.9', { 'x-internal-token': '' }))).status, 404);
  });

  test('a forged X-Forwarded-For cannot claim loopback through a trusted proxy chain', async () => {
    // The client claims 127.0.0.1, the (trusted, loopback) proxy appends the real address.
    assert.equal((await app.fetch('/metrics', from('127.0.0.1, 203.0.113.9'))).status, 404);
  });

  test('an admin token does not open the private routes either', async () => {
    const admin = await adminAccount(app);
    assert.equal((await app.fetch('/metrics', { token: admin.token, ...from('203.0.113.9') })).status, 404);
  });

  test('blocked attempts are audited, at most one entry per address per minute', async () => {
    const admin = await adminAccount(app);
    for (let i = 0; i < 15; i++) await app.fetch(`/internal/scan-${i}`, from('203.0.113.50'));
    await app.fetch('/metrics', from('203.0.113.51', { 'x-internal-token': 'guess-guess-guess-guess' }));
    const r: any = await (await app.fetch('/api/auth/audit?action=private.blocked&limit=100', { token: admin.token })).json();
    const scans = r.items.filter((i: any) => i.ip === '203.0.113.50');
    assert.equal(scans.length, 1, 'one entry for the whole scan');
    assert.equal(scans[0].target, 'GET /internal/scan-0');
    assert.equal(scans[0].success, false);
    assert.equal(scans[0].details.reason, 'address');
    const guess = r.items.find((i: any) => i.ip === '203.0.113.51');
    assert.equal(guess.details.reason, 'token');
    assert.ok(!JSON.stringify(r).includes('guess-guess'), 'the tried token is not stored');
  });
});

test('TRUST_PROXY=true is warned about at boot: a client could then claim loopback', async () => {
  const app = await startApp({ env: { TRUST_PROXY: 'true' } });
  try {
    assert.ok(app.logs.some((l) => l.includes('TRUST_PROXY=true believes every X-Forwarded-For entry')));
    // Which is exactly what happens: the left-most, client-written entry is believed.
    assert.equal((await app.fetch('/metrics', { headers: { 'x-forwarded-for': '127.0.0.1' } })).status, 200);
  } finally {
    await app.stop();
  }
});
