import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../../src/config.js';

test('defaults parse into a frozen, typed config', () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 3000);
  assert.equal(c.DATA_DIR, './.data');
  assert.equal(c.DATABASE_URL, undefined);
  assert.equal(c.SIGNUP_MODE, 'closed');
  assert.equal(c.SCHEDULER_ENABLED, true);
  assert.deepEqual(c.INTERNAL_ALLOW_CIDRS, []);
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { PORT: number }).PORT = 1;
  }, TypeError);
});

test('a bad value stops the boot with one message naming the variable', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty' }),
    (err: unknown) => err instanceof ConfigError && /PORT/.test(err.message) && err.problems.length === 1 && err.problems[0]!.variable === 'PORT',
  );
  assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL must start with postgresql:\/\//);
  assert.throws(() => loadConfig({ INTERNAL_ALLOW_CIDRS: '10.0.0.0/8, banana' }), /INTERNAL_ALLOW_CIDRS "banana" is not an IP address/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  assert.throws(() => loadConfig({ SCHEDULER_ENABLED: 'maybe' }), /SCHEDULER_ENABLED must be true or false/);
  assert.throws(() => loadConfig({ CRON_INGEST: 'every minute' }), /CRON_INGEST must be a cron expression/);
  assert.throws(() => loadConfig({ JWT_SECRET: 'short' }), /JWT_SECRET must be at least 32 characters/);
});

test('several bad values are all named in the one message', () => {
  try {
    loadConfig({ PORT: '-1', NODE_ENV: 'staging' });
    assert.fail('should have thrown');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.variable).sort(), ['NODE_ENV', 'PORT']);
  }
});

test('production refuses to boot without JWT_SECRET and ENCRYPTION_KEY', () => {
  assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /JWT_SECRET must be set when NODE_ENV=production/);
  const ok = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'a'.repeat(64) });
  assert.equal(ok.isProduction, true);
});

test('paired settings must come together', () => {
  assert.throws(() => loadConfig({ TLS_CERT_FILE: '/c.pem' }), /TLS_KEY_FILE must be set together/);
  assert.throws(() => loadConfig({ ADMIN_USERNAME: 'root' }), /ADMIN_PASSWORD must be set together/);
});

test('TRUST_PROXY accepts booleans, hop counts and address lists', () => {
  assert.equal(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY, true);
  assert.equal(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY, 2);
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY, ['loopback', '10.0.0.0/8']);
  assert.equal(loadConfig({}).TRUST_PROXY, false);
  assert.throws(() => loadConfig({ TRUST_PROXY: 'nginx please' }), /TRUST_PROXY/);
});
