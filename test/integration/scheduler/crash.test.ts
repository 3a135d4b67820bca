/**
 * Crashes with real processes and a real kill -9: no run stays "running" after a restart, and
 * a killed leader is replaced by a follower within the retry bound.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { spawnServer } from '../../support/process.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { startApp, type TestApp } from '../../support/app.js';
import { INTERRUPTED_MESSAGE } from '../../../src/modules/scheduler/index.js';
import { schedulerOf, waitUntil } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../../..');
const STALE_MS = 2000;
const common = {
  // No first-boot import of the bundled candles: these tests are about runs, not data.
  BUNDLED_DATA: 'false',
  JOB_HEARTBEAT_MS: '250',
  JOB_STALE_AFTER_MS: String(STALE_MS),
  LEADER_RETRY_MS: '300',
  CRON_INGEST: 'off',
  CRON_SCORE: 'off',
  CRON_RETRAIN: 'off',
  CRON_DRIFT_CHECK: 'off',
};

let db: TestDatabase;
let sql: pg.Client;
const dirs: string[] = [];
const children: ChildProcess[] = [];

before(async () => {
  db = await startTestDatabase();
  sql = new pg.Client({ connectionString: db.connectionString });
  await sql.connect();
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sql?.end();
  await db?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'candlecast-sched-crash-'));
  await chmod(d, 0o755);
  dirs.push(d);
  return d;
}

/** Boots test/integration/scheduler/child-server.ts as its own process. */
async function spawnChild(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown>; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/scheduler/child-server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'info', KRAKEN_API_URL: 'http://127.0.0.1:9/0/public', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = await waitUntil(() => /candlecast is ready: open (\S+)/.exec(out)?.[1], 'the child to be ready', 60_000, 50);
  return { child, url, exited, output: () => out };
}

async function runRow(id: number) {
  return (await sql.query(`SELECT * FROM job_runs WHERE id = $1`, [id])).rows[0];
}

test('after a kill -9 mid-run, the restarted server closes the run as failed; nothing stays "running"', async () => {
  const first = await spawnChild({ ...common, SCHEDULER_ENABLED: 'false', DATABASE_URL: db.connectionString, DATA_DIR: await dataDir() });
  const res = await fetch(new URL('/internal/jobs/test-block/run', first.url), { method: 'POST' });
  assert.equal(res.status, 202);
  const id = ((await res.json()) as any).run_id as number;
  await waitUntil(async () => {
    const r = await runRow(id);
    return r.status === 'running' && r.progress === 0.25;
  }, 'the run to be mid-way');

  first.child.kill('SIGKILL');
  await first.exited;
  const killedAt = Date.now();
  assert.equal((await runRow(id)).status, 'running', 'a killed process records nothing: the run is left "running"');

  // The real server (src/server.ts), as `npm start` runs it, on the same database.
  const second = await spawnServer({ ...common, DATABASE_URL: db.connectionString, DATA_DIR: await dataDir() });
  children.push(second.child);
  const closed = await waitUntil(async () => {
    const r = await runRow(id);
    return r.status === 'failed' ? r : undefined;
  }, 'the restarted server to close the run', STALE_MS + 5000);
  console.log(`# run closed ${Date.now() - killedAt} ms after the kill (stale after ${STALE_MS} ms)`);
  assert.equal(closed.error, INTERRUPTED_MESSAGE);
  assert.ok(closed.finishedAt);
  assert.ok(closed.durationMs >= 0);
  const stuck = await sql.query(`SELECT count(*)::int AS n FROM job_runs WHERE status IN ('running', 'queued')`);
  assert.equal(stuck.rows[0].n, 0, 'no run is stuck');
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('kill -9 of the leader: a follower takes the lock within the retry bound and runs the ticks', async () => {
  const leader = await spawnChild({
    ...common,
    SCHEDULER_ENABLED: 'true',
    TEST_BLOCK_SCHEDULE: '* * * * * *',
    DATABASE_URL: db.connectionString,
    DATA_DIR: await dataDir(),
  });
  // The child leads and starts a scheduled test-block run, which blocks.
  const ticked = await waitUntil(async () => {
    const r = await sql.query(`SELECT id, "instanceId" FROM job_runs WHERE job = 'test-block' AND trigger = 'schedule' AND status = 'running'`);
    return r.rows[0] as { id: number; instanceId: string } | undefined;
  }, 'the child to run a scheduled tick', 15_000);

  let follower: TestApp | undefined;
  try {
    follower = await startApp({ db, env: { ...common, SCHEDULER_ENABLED: 'true' } });
    const svc = schedulerOf(follower);
    let ran = 0;
    svc.define({ name: 'test-block', description: 'the follower twin', schedule: '* * * * * *', run: async () => void ran++ });
    assert.equal((await svc.status()).isLeader, false, 'the child holds the lock');
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(ran, 0, 'a follower runs no ticks');

    leader.child.kill('SIGKILL');
    await leader.exited;
    const killedAt = Date.now();
    await waitUntil(async () => (await svc.status()).isLeader, 'the follower to take over', 5000, 20);
    const takeoverMs = Date.now() - killedAt;
    console.log(`# follower took over ${takeoverMs} ms after the leader's kill -9 (LEADER_RETRY_MS 300)`);
    assert.ok(takeoverMs <= 300 + 1500, `takeover in ${takeoverMs} ms`);

    // The dead leader's blocking run no longer blocks the job once its heartbeat is stale; the
    // new leader's ticks then run.
    await waitUntil(async () => (await runRow(ticked.id)).status === 'failed', 'the dead run to be closed', STALE_MS + 5000);
    assert.equal((await runRow(ticked.id)).error, INTERRUPTED_MESSAGE);
    await waitUntil(() => ran >= 2, 'the new leader to run ticks', 5000);
    const dup = await sql.query(`SELECT "scheduledFor", count(*)::int AS n FROM job_runs WHERE job = 'test-block' GROUP BY 1 HAVING count(*) > 1`);
    assert.equal(dup.rowCount, 0, 'no tick ran twice');
  } finally {
    await follower?.stop();
  }
});
