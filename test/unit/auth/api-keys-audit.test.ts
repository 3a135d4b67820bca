import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { apiKeyMatches, generateApiKey, hashApiKey, looksLikeApiKey, parseApiKey } from '../../../src/modules/auth/api-keys.js';
import { createBlockedAttemptRecorder, type AuditEntry, type AuditLog } from '../../../src/modules/auth/audit.js';
import { FakeClock } from '../../../src/platform/clock.js';

describe('API key format', () => {
  test('cc_<8 alphanumerics>_<43 base64url>, prefix visible, sha256 of the whole key', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = generateApiKey();
      assert.match(k.key, /^cc_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      assert.equal(k.prefix, k.key.slice(0, 11));
      assert.equal(k.hash, createHash('sha256').update(k.key).digest('hex'));
      assert.deepEqual(parseApiKey(k.key), { prefix: k.prefix });
      assert.ok(apiKeyMatches(k.key, k.hash));
      seen.add(k.key);
    }
    assert.equal(seen.size, 200);
  });

  test('malformed keys do not parse; near misses do not match', () => {
    const k = generateApiKey();
    for (const bad of ['', 'cc_', 'cc_abc_def', `${k.key}x`, k.key.slice(0, -1), k.key.replace('cc_', 'cx_'), `cc_abcdefg!_${'a'.repeat(43)}`]) {
      assert.equal(parseApiKey(bad), null, bad);
    }
    assert.equal(apiKeyMatches(k.key.slice(0, -1) + (k.key.endsWith('A') ? 'B' : 'A'), k.hash), false);
    assert.equal(apiKeyMatches(k.key, 'not hex'), false);
    assert.equal(hashApiKey('x').length, 64);
  });

  test('bearer values starting cc_ are keys; JWTs are not', () => {
    assert.equal(looksLikeApiKey(generateApiKey().key), true);
    assert.equal(looksLikeApiKey('eyJhbGciOiJIUzI1NiJ9.e30.x'), false);
  });
});

describe('audit of blocked private requests', () => {
  function fakeAudit() {
    const entries: AuditEntry[] = [];
    const audit: AuditLog = {
      async record(e) {
        entries.push(e);
      },
      async list() {
        return { items: [], total: 0, limit: 0, offset: 0 };
      },
    };
    return { audit, entries };
  }
  const attempt = (ip: string, path = '/internal/x') => ({ ip, method: 'GET', path, reason: 'address' });

  test('one entry per address per minute, counting what was left out', async () => {
    const clock = new FakeClock();
    const { audit, entries } = fakeAudit();
    const record = createBlockedAttemptRecorder({ audit, clock });
    for (let i = 0; i < 10; i++) await record(attempt('203.0.113.1', `/internal/${i}`));
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.target, 'GET /internal/0');
    clock.advance(60_000);
    await record(attempt('203.0.113.1'));
    assert.equal(entries.length, 2);
    assert.equal(entries[1]!.details?.suppressedSinceLastEntry, 9);
  });

  test('a scan from many addresses is capped per minute overall', async () => {
    const clock = new FakeClock();
    const { audit, entries } = fakeAudit();
    const record = createBlockedAttemptRecorder({ audit, clock, globalPerMinute: 5 });
    for (let i = 0; i < 100; i++) await record(attempt(`198.51.100.${i}`));
    assert.equal(entries.length, 5);
    clock.advance(60_000);
    await record(attempt('198.51.100.200'));
    assert.equal(entries.length, 6);
    assert.equal(entries[5]!.details?.suppressedSinceLastEntry, 95);
  });

  test('memory stays bounded under a scan from ever-new addresses', async () => {
    const clock = new FakeClock();
    const { audit, entries } = fakeAudit();
    const record = createBlockedAttemptRecorder({ audit, clock, globalPerMinute: 1_000_000, maxTracked: 100 });
    for (let i = 0; i < 1000; i++) await record(attempt(`10.0.${Math.floor(i / 256)}.${i % 256}`));
    assert.equal(entries.length, 1000);
    // The first address was forgotten (only the newest ~100 are tracked), so within the same
    // minute it is recorded again instead of being suppressed; a recent one is still suppressed.
    await record(attempt('10.0.0.0'));
    assert.equal(entries.length, 1001);
    await record(attempt('10.0.3.231'));
    assert.equal(entries.length, 1001);
  });
});
