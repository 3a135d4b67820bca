/**
 * Graceful stop: no new runs, running ones see their signal abort (reason: shutdown) and are
 * recorded as interrupted, a job that ignores its signal is closed after a bounded wait, and the
 * leader lock is released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startApp } from '../../support/app.js';
import { startTestDatabase } from '../../support/postgres.js';
import { SHUTDOWN_MESSAGE } from '../../../src/modules/scheduler/index.js';
import { schedulerOf, untilAborted, waitUntil } from './helpers.js';

test('a graceful stop aborts runs, records them as interrupted within a bound, and releases the leader lock', async () => {
  const db = await startTestDatabase();
  const sql = new pg.Client({ connectionString: db.connectionString });
  await sql.connect();
  try {
    const app = await startApp({ db, env: { SCHEDULER_ENABLED: 'true', SHUTDOWN_TIMEOUT_MS: '2000', CRON_INGEST: 'off', CRON_SCORE: 'off', CRON_RETRAIN: 'off', CRON_DRIFT_CHECK: 'off' } });
    const svc = schedulerOf(app);
    assert.equal((await svc.status()).isLeader, true);
    let politeReason: unknown;
    svc.define({
      name: 'test-polite',
      description: 'stops when told',
      async run(ctx) {
        try {
          await untilAborted(ctx.signal);
        } catch (err) {
          politeReason = err;
          throw err;
        }
      },
    });
    svc.define({ name: 'test-stubborn', description: 'ignores its signal', run: () => new Promise(() => undefined) });
    const polite = await svc.launch('test-polite', {}, { trigger: 'manual' });
    const stubborn = await svc.launch('test-stubborn', {}, { trigger: 'manual' });
    await waitUntil(async () => {
      const r = await sql.query(`SELECT count(*)::int AS n FROM job_runs WHERE status = 'running'`);
      return r.rows[0].n === 2;
    }, 'both runs to be running');

    const t0 = Date.now();
    await app.stop();
    const took = Date.now() - t0;
    // stopWaitMs is SHUTDOWN_TIMEOUT_MS / 2 = 1000 ms: the stubborn run is waited for that long.
    assert.ok(took >= 900 && took < 4000, `stop took ${took} ms`);
    assert.equal((politeReason as { kind?: string }).kind, 'shutdown', 'the job saw why it was aborted');

    const rows = (await sql.query(`SELECT id, status, error, "finishedAt" FROM job_runs WHERE id = ANY($1) ORDER BY id`, [[polite.runId, stubborn.runId]])).rows;
    for (const r of rows) {
      assert.equal(r.status, 'failed', `run ${r.id}`);
      assert.equal(r.error, SHUTDOWN_MESSAGE);
      assert.ok(r.finishedAt);
    }
    const lock = await sql.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND objsubid = 1`, [app.running.config.LEADER_LOCK_KEY]);
    assert.equal(lock.rows[0].n, 0, 'the leader lock is released');
    await assert.rejects(svc.launch('test-polite', {}, { trigger: 'manual' }), (err: any) => err.status === 503 && err.code === 'shutting_down');
  } finally {
    await sql.end();
    await db.stop();
  }
});
