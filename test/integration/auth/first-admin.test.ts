/**
 * The first administrator: from ADMIN_USERNAME/ADMIN_PASSWORD on first boot, or, on a fresh
 * database with neither (outside tests), "admin" with a generated password printed once to
 * stderr as a plain line and never into the JSON log.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type StartAppOptions, type TestApp } from '../../support/app.js';
import { startTestDatabase } from '../../support/postgres.js';
import { login } from '../../support/auth.js';
import { ConfigError } from '../../../src/config.js';

/** Boots while capturing what the process writes to stderr. */
async function bootCapturingStderr(opts: StartAppOptions): Promise<{ app: TestApp; stderr: string }> {
  const original = process.stderr.write.bind(process.stderr);
  let captured = '';
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stderr.write;
  try {
    const app = await startApp(opts);
    return { app, stderr: captured };
  } finally {
    process.stderr.write = original;
  }
}

describe('the first administrator', () => {
  test('ADMIN_USERNAME/ADMIN_PASSWORD create it on first boot only', async () => {
    const db = await startTestDatabase();
    try {
      const env = { ADMIN_USERNAME: 'Chief', ADMIN_PASSWORD: 'Head of ops passphrase 1', ADMIN_EMAIL: 'chief@example.test' };
      const first = await startApp({ db, env });
      try {
        const chief = await login(first, 'chief', env.ADMIN_PASSWORD);
        assert.equal(chief.user.role, 'admin');
        assert.equal(chief.user.email, 'chief@example.test');
        const audit: any = await (await first.fetch('/api/auth/audit?action=auth.admin_bootstrap', { token: chief.token })).json();
        assert.equal(audit.items[0].details.source, 'env');
        assert.ok(!first.logs.join('\n').includes(env.ADMIN_PASSWORD));
      } finally {
        await first.stop();
      }
      // A later boot with another password changes nothing: the admin owns their password now.
      const second = await startApp({ db, env: { ...env, ADMIN_PASSWORD: 'A different passphrase 2' } });
      try {
        await login(second, 'chief', env.ADMIN_PASSWORD);
        assert.equal((await second.fetch('/api/auth/login', { method: 'POST', json: { username: 'chief', password: 'A different passphrase 2' } })).status, 401);
      } finally {
        await second.stop();
      }
    } finally {
      await db.stop();
    }
  });

  test('a weak ADMIN_PASSWORD stops the boot with a message naming the variable', async () => {
    // Our own database: startApp does not stop the one it makes when the boot fails.
    const db = await startTestDatabase();
    try {
      await assert.rejects(
        startApp({ db, env: { ADMIN_USERNAME: 'chief', ADMIN_PASSWORD: 'short1' } }),
        (err: unknown) => err instanceof ConfigError && err.problems[0]?.variable === 'ADMIN_PASSWORD' && /password policy/.test(err.message),
      );
    } finally {
      await db.stop();
    }
  });

  test('with neither, on a fresh database outside tests, a generated password is printed once to stderr', async () => {
    const db = await startTestDatabase();
    try {
      const { app, stderr } = await bootCapturingStderr({ db, env: { NODE_ENV: 'development' } });
      let password: string;
      try {
        const m = /Username: admin {2}Password: (\S+)/.exec(stderr);
        assert.ok(m, `a plain line with the password on stderr, got: ${stderr}`);
        password = m[1]!;
        assert.ok(!stderr.trimStart().startsWith('{'), 'a plain line, not JSON');
        assert.ok(!app.logs.join('\n').includes(password), 'not in the JSON log');
        assert.ok(app.logs.some((l) => l.includes('generated password')), 'the JSON log says it happened');
        const admin = await login(app, 'admin', password);
        assert.equal(admin.user.role, 'admin');
      } finally {
        await app.stop();
      }
      const again = await bootCapturingStderr({ db, env: { NODE_ENV: 'development' } });
      try {
        assert.doesNotMatch(again.stderr, /Password:/, 'printed only once');
        await login(again.app, 'admin', password);
      } finally {
        await again.app.stop();
      }
    } finally {
      await db.stop();
    }
  });

  test('with neither under NODE_ENV=test, no admin is created (tests make their own)', async () => {
    const { app, stderr } = await bootCapturingStderr({});
    try {
      assert.doesNotMatch(stderr, /Password:/);
      const r = await app.fetch('/api/auth/login', { method: 'POST', json: { username: 'admin', password: 'anything at all' } });
      assert.equal(r.status, 401);
    } finally {
      await app.stop();
    }
  });
});
