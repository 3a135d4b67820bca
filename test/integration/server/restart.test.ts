/**
 * `npm start` as a real process on the embedded Postgres: first boot, data kept across a
 * clean stop and across a kill -9, and a boot against an external DATABASE_URL.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { spawnServer } from '../../support/process.js';
import { startTestDatabase } from '../../support/postgres.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDataDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'candlecast-restart-'));
  await chmod(d, 0o755);
  dirs.push(d);
  return d;
}

async function embeddedUrl(dataDir: string, output: string): Promise<string> {
  const creds = JSON.parse(await (await import('node:fs/promises')).readFile(path.join(dataDir, 'postgres-credentials.json'), 'utf8')) as { user: string; password: string };
  const port = /"port":(\d+)/.exec(output)?.[1];
  assert.ok(port, 'the log names the embedded Postgres port');
  return `postgresql://${creds.user}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/candlecast`;
}

test('embedded Postgres: data survives a clean stop and a kill -9', async () => {
  const dataDir = await tempDataDir();
  const first = await spawnServer({ DATA_DIR: dataDir });
  assert.equal((await fetch(new URL('/healthz', first.url))).status, 200);
  assert.equal((await fetch(new URL('/readyz', first.url))).status, 200);
  const c1 = new pg.Client({ connectionString: await embeddedUrl(dataDir, first.output()) });
  await c1.connect();
  await c1.query(`INSERT INTO app_settings (key, value, "updatedAt") VALUES ('restart-test', '"kept"', now())`);
  await c1.end();
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, 'a SIGTERM exits with code 0');

  const second = await spawnServer({ DATA_DIR: dataDir });
  assert.equal((await fetch(new URL('/readyz', second.url))).status, 200);
  const c2 = new pg.Client({ connectionString: await embeddedUrl(dataDir, second.output()) });
  await c2.connect();
  assert.equal((await c2.query(`SELECT value FROM app_settings WHERE key = 'restart-test'`)).rows[0]?.value, 'kept');
  await c2.query(`UPDATE app_settings SET value = '"after-kill"' WHERE key = 'restart-test'`);
  await c2.end();
  // kill -9: no shutdown at all; the embedded server is orphaned and must be recovered.
  second.child.kill('SIGKILL');
  await second.exited;

  const third = await spawnServer({ DATA_DIR: dataDir });
  assert.equal((await fetch(new URL('/readyz', third.url))).status, 200);
  const c3 = new pg.Client({ connectionString: await embeddedUrl(dataDir, third.output()) });
  await c3.connect();
  assert.equal((await c3.query(`SELECT value FROM app_settings WHERE key = 'restart-test'`)).rows[0]?.value, 'after-kill');
  await c3.end();
  third.child.kill('SIGINT');
  assert.equal(await third.exited, 0);
  console.log(`# boot times: first ${first.readyMs} ms, clean restart ${second.readyMs} ms, after kill -9 ${third.readyMs} ms`);
});

test('with DATABASE_URL the same boot migrates and runs on that server', async () => {
  const db = await startTestDatabase();
  try {
    const dataDir = await tempDataDir();
    const srv = await spawnServer({ DATA_DIR: dataDir, DATABASE_URL: db.connectionString });
    assert.equal((await fetch(new URL('/readyz', srv.url))).status, 200);
    const c = new pg.Client({ connectionString: db.connectionString });
    await c.connect();
    const r = await c.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL`);
    assert.ok(r.rows[0].n >= 1, 'migrations recorded on the external server');
    await c.end();
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exited, 0);
  } finally {
    await db.stop();
  }
});

test('a bad setting stops the boot with a message naming the variable', async () => {
  const dataDir = await tempDataDir();
  await assert.rejects(spawnServer({ DATA_DIR: dataDir, PORT: 'eighty' }, 20_000), /PORT must be a whole number/);
});
