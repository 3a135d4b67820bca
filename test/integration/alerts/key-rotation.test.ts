/**
 * Key rotation of the secrets alerts store (docs/ops/encryption.md): values sealed with the old
 * key keep working once a new key is put first, `npm run cli -- rotate-keys` re-seals them with
 * the new key, and after that the old key can be dropped.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestApp } from '../../support/app.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { createUserAndLogin, login } from '../../support/auth.js';
import { keyId } from '../../../src/modules/alerts/crypto.js';
import { sql, startAlertsApp, startReceiver } from './helpers.js';

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('encryption key rotation', () => {
  let db: TestDatabase;
  let app: TestApp | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dataDir: string;
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  before(async () => {
    db = await startTestDatabase();
    receiver = await startReceiver();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'candlecast-cli-'));
  });
  after(async () => {
    await app?.stop();
    await receiver?.close();
    await db?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('old secrets open after a new key is prepended; rotate-keys re-seals them; then the old key can go', async () => {
    // 1. sealed with k1
    app = await startAlertsApp({ db, env: { ENCRYPTION_KEY: k1.toString('hex') } });
    const u = await createUserAndLogin(app);
    const ep = (await app.fetch('/api/alerts/webhooks', { method: 'POST', token: u.token, json: { url: receiver.url('/rot') } }).then((r) => r.json())) as any;
    const admin = await createUserAndLogin(app, { role: 'admin' });
    const smtpPassword = 'pw-' + randomBytes(6).toString('hex');
    assert.equal((await app.fetch('/api/alerts/admin/smtp', { method: 'PUT', token: admin.token, json: { url: `smtp://u:${smtpPassword}@127.0.0.1:2525`, from: 'a@b.c' } })).status, 200);
    const sealedBefore = (await sql(app, 'SELECT "secretEnc" FROM webhook_endpoints WHERE id = $1', [ep.id]))[0].secretEnc as string;
    assert.equal(sealedBefore.split(':')[1], keyId(k1));
    await app.stop();
    app = undefined;

    // 2. k2 first, k1 kept: still opens (the test send verifies with the original secret)
    const rotatedEnv = { ENCRYPTION_KEY: `${k2.toString('hex')},${k1.toString('base64url')}` };
    app = await startAlertsApp({ db, env: rotatedEnv });
    receiver.setSecret(ep.secret);
    const owner = await login(app, u.user.username, u.password);
    let sent = (await app.fetch(`/api/alerts/webhooks/${ep.id}/test`, { method: 'POST', token: owner.token }).then((r) => r.json())) as any;
    assert.equal(sent.ok, true);
    assert.equal(receiver.received.at(-1)!.validSignature, true);
    await app.stop();
    app = undefined;

    // 3. the CLI re-seals everything with k2 (run twice: the second run has nothing to do)
    const cliEnv = { NODE_ENV: 'test', DATABASE_URL: db.connectionString, DATA_DIR: dataDir, SCHEDULER_ENABLED: 'false', BUNDLED_DATA: 'false', LOG_LEVEL: 'warn', ...rotatedEnv };
    const run1 = await runCli(['rotate-keys'], cliEnv);
    assert.equal(run1.code, 0, run1.stderr);
    assert.match(run1.stdout, new RegExp(`newest key: ${keyId(k2)}`));
    assert.match(run1.stdout, /webhook secrets: 1 stored, 1 re-encrypted, 0 already on the newest key/);
    assert.match(run1.stdout, /SMTP settings: re-encrypted/);
    const run2 = await runCli(['rotate-keys'], cliEnv);
    assert.match(run2.stdout, /webhook secrets: 1 stored, 0 re-encrypted, 1 already on the newest key/);
    assert.match(run2.stdout, /SMTP settings: already on the newest key/);
    assert.ok(!run1.stdout.includes(ep.secret) && !run1.stderr.includes(ep.secret));

    // 4. only k2 now: everything still opens, nothing is readable as plain text
    app = await startAlertsApp({ db, env: { ENCRYPTION_KEY: k2.toString('hex') } });
    const sealedAfter = (await sql(app, 'SELECT "secretEnc" FROM webhook_endpoints WHERE id = $1', [ep.id]))[0].secretEnc as string;
    assert.equal(sealedAfter.split(':')[1], keyId(k2));
    assert.ok(!sealedAfter.includes(ep.secret.slice(6)));
    const smtpRow = (await sql(app, `SELECT value::text AS v FROM app_settings WHERE key = 'alerts.smtp'`))[0].v as string;
    assert.ok(smtpRow.includes(`v1:${keyId(k2)}:`) && !smtpRow.includes(smtpPassword));
    const owner2 = await login(app, u.user.username, u.password);
    sent = (await app.fetch(`/api/alerts/webhooks/${ep.id}/test`, { method: 'POST', token: owner2.token }).then((r) => r.json())) as any;
    assert.equal(sent.ok, true);
    assert.equal(receiver.received.at(-1)!.validSignature, true);
    const admin2 = await login(app, admin.user.username, admin.password);
    const st = (await app.fetch('/api/alerts/admin/smtp', { token: admin2.token }).then((r) => r.json())) as any;
    assert.deepEqual([st.configured, st.source], [true, 'settings']);
  });
});
