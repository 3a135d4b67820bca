/**
 * Job runs through the real HTTP API on a real Postgres: the run record's life, failures,
 * the overlap rule, cancellation, pause/resume, the original API's triggers and the metrics.
 * Test jobs are defined through the scheduler service and wait on promises the test controls.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../../support/app.js';
import type { SchedulerService } from '../../../src/modules/scheduler/index.js';
import { ValidationError } from '../../../src/platform/errors.js';
import { createUserAndLogin, type TestAccount } from '../../support/auth.js';
import { deferred, getRun, metricValue, schedulerOf, untilAborted, waitUntil, type Deferred } from './helpers.js';

let app: TestApp;
let svc: SchedulerService;
let token: string;
let admin: TestAccount;

before(async () => {
  app = await startApp({ env: { JOB_HEARTBEAT_MS: '200', JOB_STALE_AFTER_MS: '2000' } });
  svc = schedulerOf(app);
  admin = await createUserAndLogin(app, { role: 'admin' });
  token = admin.token;
});
after(async () => {
  await app?.stop();
});

async function trigger(path: string, json?: unknown, viaToken: string | undefined = token) {
  const res = await app.fetch(path, { method: 'POST', token: viaToken, json });
  const body = (await res.json()) as any;
  return { status: res.status, body, location: res.headers.get('location') };
}

test('a triggered run goes queued -> running -> succeeded, with progress, logs and metrics', async () => {
  const gate = deferred();
  const halfway = deferred();
  svc.define({
    name: 'test-progress',
    description: 'reports progress, then waits for the test',
    async run(ctx) {
      await ctx.progress(0.5, 'half way');
      ctx.log.info('progress reported');
      halfway.resolve();
      await gate.promise;
      ctx.log.info({ rows: 42 }, 'about to finish');
      return { rows: 42 };
    },
  });

  const t = await trigger('/api/jobs/test-progress/run', { params: { pair: 'XBTUSD' } });
  assert.equal(t.status, 202, JSON.stringify(t.body));
  assert.equal(t.body.status, 'queued', 'the answer reports the run as queued');
  assert.equal(t.body.alreadyRunning, false);
  assert.equal(t.body.run_id, t.body.job_run_id);
  assert.equal(t.location, `/api/jobs/${t.body.run_id}`);
  assert.match(t.body.message, /started/);
  const id = t.body.run_id as number;

  await halfway.promise;
  const running = await waitUntil(async () => {
    const r = await getRun(app, id, token);
    return r.status === 'running' && r.progress === 0.5 ? r : undefined;
  }, 'the run to be running at 50 %');
  assert.equal(running.progressMessage, 'half way');
  assert.equal(running.trigger, 'manual');
  assert.deepEqual(running.params, { pair: 'XBTUSD' });
  assert.equal(running.startedById, admin.user.id, 'the run records who started it');
  assert.equal(running.instanceId, (await svc.status()).instanceId);
  assert.ok(running.startedAt && running.heartbeatAt);
  assert.equal(running.finishedAt, null);

  gate.resolve();
  const done = await waitUntil(async () => {
    const r = await getRun(app, id, token);
    return r.status === 'succeeded' ? r : undefined;
  }, 'the run to succeed');
  assert.equal(done.progress, 1);
  assert.deepEqual(done.result, { rows: 42 });
  assert.equal(done.error, null);
  assert.ok(Date.parse(done.queuedAt) <= Date.parse(done.startedAt));
  assert.ok(Date.parse(done.startedAt) <= Date.parse(done.finishedAt));
  assert.ok(done.durationMs >= 0);

  // Every log line of the run carries its id.
  const lines = app.logs.map((l) => JSON.parse(l)).filter((o) => o.job === 'test-progress');
  for (const msg of ['job run started', 'progress reported', 'about to finish', 'job run succeeded']) {
    assert.ok(lines.some((o) => o.msg === msg && o.jobRunId === id), `log line "${msg}" carries jobRunId ${id}`);
  }

  const metrics = await (await app.fetch('/metrics')).text();
  assert.equal(metricValue(metrics, 'candlecast_job_runs_total', { job: 'test-progress', status: 'succeeded' }), 1);
  assert.equal(metricValue(metrics, 'candlecast_job_duration_seconds_count', { job: 'test-progress' }), 1);
  const last = metricValue(metrics, 'candlecast_job_last_success_timestamp_seconds', { job: 'test-progress' });
  assert.ok(last && Math.abs(last * 1000 - Date.parse(done.finishedAt)) < 1000, 'last success time is the run end');
});

test('a failing job records its error, and the next run (manual or scheduled) still happens', async () => {
  let fail = true;
  let calls = 0;
  svc.define({
    name: 'test-flaky',
    description: 'fails while the test says so',
    schedule: '0 4 * * *',
    async run() {
      calls++;
      if (fail) throw new Error('boom: upstream said no');
      return 'ok';
    },
  });

  // Through the private API (loopback is inside the boundary): trigger 'api', no user.
  const first = await trigger('/internal/jobs/test-flaky/run', undefined, undefined);
  assert.equal(first.status, 202);
  const failed = await waitUntil(async () => {
    const r = await getRun(app, first.body.run_id);
    return r.status === 'failed' ? r : undefined;
  }, 'the run to fail');
  assert.equal(failed.error, 'boom: upstream said no');
  assert.equal(failed.trigger, 'api');
  assert.equal(failed.startedById, null);
  assert.ok(failed.finishedAt);
  assert.ok(
    app.logs.some((l) => {
      const o = JSON.parse(l);
      return o.jobRunId === first.body.run_id && o.msg === 'job run failed' && o.err?.message === 'boom: upstream said no';
    }),
    'the failure is logged with the run id',
  );

  fail = false;
  const second = await trigger('/internal/jobs/test-flaky/run', undefined, undefined);
  assert.notEqual(second.body.run_id, first.body.run_id);
  await waitUntil(async () => (await getRun(app, second.body.run_id)).status === 'succeeded', 'the next run to succeed');

  // The same through two scheduled ticks (what cron calls): a failed tick does not stop the next.
  fail = true;
  const t1 = await svc.fireTick('test-flaky', new Date('2030-01-01T04:00:00Z'));
  assert.ok('runId' in t1);
  assert.equal(await svc.waitFor(t1.runId), 'failed');
  fail = false;
  const t2 = await svc.fireTick('test-flaky', new Date('2030-01-02T04:00:00Z'));
  assert.ok('runId' in t2);
  assert.equal(await svc.waitFor(t2.runId), 'succeeded');
  const tickRun = await getRun(app, t2.runId, token);
  assert.equal(tickRun.trigger, 'schedule');
  assert.equal(tickRun.scheduledFor, '2030-01-02T04:00:00.000Z');
  assert.equal(calls, 4);

  const metrics = await (await app.fetch('/metrics')).text();
  assert.equal(metricValue(metrics, 'candlecast_job_runs_total', { job: 'test-flaky', status: 'failed' }), 2);
  assert.equal(metricValue(metrics, 'candlecast_job_runs_total', { job: 'test-flaky', status: 'succeeded' }), 2);
});

test('a second trigger while a run is going returns that run and starts nothing', async () => {
  const gate = deferred();
  let calls = 0;
  svc.define({
    name: 'test-single',
    description: 'one at a time',
    async run() {
      calls++;
      await gate.promise;
    },
  });
  const first = await trigger('/api/jobs/test-single/run');
  await waitUntil(async () => (await getRun(app, first.body.run_id, token)).status === 'running', 'the first run to start');

  const again = await trigger('/api/jobs/test-single/run');
  assert.equal(again.status, 202);
  assert.equal(again.body.alreadyRunning, true);
  assert.equal(again.body.run_id, first.body.run_id);
  assert.equal(again.body.status, 'running');
  assert.match(again.body.message, /already/);
  const internal = await trigger('/internal/jobs/test-single/run', undefined, undefined);
  assert.equal(internal.body.run_id, first.body.run_id);

  gate.resolve();
  await waitUntil(async () => (await getRun(app, first.body.run_id, token)).status === 'succeeded', 'the run to finish');
  assert.equal(calls, 1, 'the job body ran once');

  // Many triggers at the same moment: one run, all answers name it.
  const gate2 = deferred();
  svc.define({ name: 'test-burst', description: 'burst', run: () => gate2.promise.then(() => (calls += 10)) });
  const burst = await Promise.all(Array.from({ length: 8 }, () => trigger('/api/jobs/test-burst/run')));
  const ids = new Set(burst.map((b) => b.body.run_id));
  assert.equal(ids.size, 1, 'every answer names the same run');
  assert.equal(burst.filter((b) => !b.body.alreadyRunning).length, 1, 'exactly one trigger started it');
  gate2.resolve();
  await waitUntil(async () => (await getRun(app, [...ids][0] as number, token)).status === 'succeeded', 'the burst run to finish');
  assert.equal(calls, 11);

  const page = (await (await app.fetch('/api/jobs?job=test-burst', { token })).json()) as any;
  assert.equal(page.runs.length, 1, 'one run recorded');
});

test('param-scoped jobs: the same key never overlaps, different keys run side by side', async () => {
  const gates = new Map<string, Deferred>();
  svc.define({
    name: 'test-backfill',
    description: 'one run per pair',
    parseParams(p) {
      const pair = (p as { pair?: unknown }).pair;
      if (typeof pair !== 'string' || !/^[A-Z]{6,8}$/.test(pair)) throw new ValidationError('pair must be a Kraken altname such as XBTUSD');
      return { pair };
    },
    concurrencyKey: (p) => String(p.pair),
    async run(ctx) {
      const g = deferred();
      gates.set(String(ctx.params.pair), g);
      await g.promise;
    },
  });
  const a = await trigger('/api/jobs/test-backfill/run', { params: { pair: 'XBTUSD' } });
  const b = await trigger('/api/jobs/test-backfill/run', { params: { pair: 'ETHUSD' } });
  const a2 = await trigger('/api/jobs/test-backfill/run', { params: { pair: 'XBTUSD' } });
  assert.notEqual(a.body.run_id, b.body.run_id, 'two pairs, two runs');
  assert.equal(a2.body.run_id, a.body.run_id, 'the same pair again: the same run');
  assert.equal(a2.body.alreadyRunning, true);
  const bad = await trigger('/api/jobs/test-backfill/run', { params: { pair: 'nope' } });
  assert.equal(bad.status, 422);
  assert.match(bad.body.error.message, /pair must be/);
  await waitUntil(() => gates.size === 2, 'both runs to start');
  for (const g of gates.values()) g.resolve();
  await waitUntil(async () => (await getRun(app, b.body.run_id, token)).status === 'succeeded', 'ETHUSD to finish');
  await waitUntil(async () => (await getRun(app, a.body.run_id, token)).status === 'succeeded', 'XBTUSD to finish');
});

test('an admin can cancel a running job; the job sees its signal abort', async () => {
  let sawReason: unknown;
  svc.define({
    name: 'test-cancel',
    description: 'runs until cancelled',
    async run(ctx) {
      await ctx.progress(0.1, 'waiting');
      try {
        await untilAborted(ctx.signal);
      } catch (err) {
        sawReason = err;
        throw err;
      }
    },
  });
  const t = await trigger('/api/jobs/test-cancel/run');
  const id = t.body.run_id as number;
  await waitUntil(async () => (await getRun(app, id, token)).progress === 0.1, 'the run to be going');

  const res = await app.fetch(`/api/jobs/${id}/cancel`, { method: 'POST', token });
  assert.equal(res.status, 202);
  const run = await waitUntil(async () => {
    const r = await getRun(app, id, token);
    return r.status === 'cancelled' ? r : undefined;
  }, 'the run to be cancelled');
  assert.equal(run.error, `cancelled by user ${admin.user.id}`);
  assert.equal(run.cancelRequested, true);
  assert.equal((sawReason as { kind?: string }).kind, 'cancelled');

  const again = await app.fetch(`/api/jobs/${id}/cancel`, { method: 'POST', token });
  assert.equal(again.status, 409, 'a finished run cannot be cancelled');
  assert.equal((await app.fetch('/api/jobs/99999999/cancel', { method: 'POST', token })).status, 404);

  // A new trigger after the cancel starts a new run.
  const next = await trigger('/api/jobs/test-cancel/run');
  assert.notEqual(next.body.run_id, id);
  await app.fetch(`/api/jobs/${next.body.run_id}/cancel`, { method: 'POST', token });
  await waitUntil(async () => (await getRun(app, next.body.run_id, token)).status === 'cancelled', 'the second run to be cancelled');
});

test('pause skips scheduled ticks but not manual triggers; resume brings the ticks back', async () => {
  let calls = 0;
  svc.define({ name: 'test-pause', description: 'counts', schedule: '30 3 * * *', run: async () => void calls++ });

  const paused = await app.fetch('/api/jobs/test-pause/pause', { method: 'POST', token });
  assert.equal(paused.status, 200);
  const pBody = (await paused.json()) as any;
  assert.equal(pBody.paused, true);
  assert.match(pBody.message, /manual triggers still run/);

  const list = (await (await app.fetch('/api/jobs', { token })).json()) as any;
  const job = list.jobs.find((j: any) => j.name === 'test-pause');
  assert.equal(job.paused, true);
  assert.equal(job.nextRunAt, null, 'a paused job has no next run');
  assert.equal(job.pausedBy, admin.user.id);

  const tick = await svc.fireTick('test-pause', new Date('2030-03-01T03:30:00Z'));
  assert.equal(tick.skipped, 'paused');
  assert.equal(calls, 0);

  const manual = await trigger('/api/jobs/test-pause/run');
  assert.equal(await svc.waitFor(manual.body.run_id), 'succeeded');
  assert.equal(calls, 1, 'manual triggers run while paused');

  const resumed = await app.fetch('/api/jobs/test-pause/resume', { method: 'POST', token });
  assert.equal(((await resumed.json()) as any).paused, false);
  const tick2 = await svc.fireTick('test-pause', new Date('2030-03-02T03:30:00Z'));
  assert.ok('runId' in tick2);
  assert.equal(await svc.waitFor(tick2.runId), 'succeeded');
  assert.equal(calls, 2);

  assert.equal((await app.fetch('/api/jobs/no-such-job/pause', { method: 'POST', token })).status, 404);
});

test('GET /api/jobs shows schedules and runs with filters and a cursor; GET /api/jobs/:id one run', async () => {
  svc.define({ name: 'test-listed', description: 'listed daily at 02:15', schedule: '15 2 * * *', run: async () => 'done' });
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = await trigger('/api/jobs/test-listed/run');
    ids.push(t.body.run_id);
    await svc.waitFor(t.body.run_id);
  }
  const res = await app.fetch('/api/jobs?job=test-listed&limit=2', { token });
  assert.equal(res.status, 200);
  const body = (await res.json()) as any;
  assert.equal(body.scheduler.enabled, false);
  assert.equal(body.scheduler.isLeader, false);
  const job = body.jobs.find((j: any) => j.name === 'test-listed');
  assert.equal(job.description, 'listed daily at 02:15');
  assert.equal(job.schedule, '15 2 * * *');
  assert.equal(job.timezone, 'UTC');
  assert.equal(job.paused, false);
  const next = new Date(job.nextRunAt);
  assert.equal(next.getUTCHours(), 2);
  assert.equal(next.getUTCMinutes(), 15);
  assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 86_400_000);
  assert.equal(job.lastRun.id, ids[2]);
  assert.equal(job.lastRun.status, 'succeeded');
  assert.equal(job.activeRun, null);
  assert.ok(job.lastSuccessAt);
  const unscheduled = body.jobs.find((j: any) => j.name === 'test-single');
  assert.equal(unscheduled.schedule, null);
  assert.equal(unscheduled.nextRunAt, null);

  assert.deepEqual(body.runs.map((r: any) => r.id), [ids[2], ids[1]], 'newest first, limited');
  assert.equal(body.nextCursor, ids[1]);
  const page2 = (await (await app.fetch(`/api/jobs?job=test-listed&limit=2&cursor=${body.nextCursor}`, { token })).json()) as any;
  assert.deepEqual(page2.runs.map((r: any) => r.id), [ids[0]]);
  assert.equal(page2.nextCursor, null);

  const failedOnly = (await (await app.fetch('/api/jobs?status=failed&limit=200', { token })).json()) as any;
  assert.ok(failedOnly.runs.length >= 1 && failedOnly.runs.every((r: any) => r.status === 'failed'));

  const one = await app.fetch(`/api/jobs/${ids[0]}`, { token });
  assert.equal(((await one.json()) as any).run.result, 'done');
  assert.equal((await app.fetch('/api/jobs/99999999', { token })).status, 404);
  assert.equal((await app.fetch('/api/jobs/abc', { token })).status, 400);
  assert.equal((await app.fetch('/api/jobs?status=exploded', { token })).status, 400);
  const badBody = await app.fetch('/api/jobs/test-listed/run', { method: 'POST', token, json: { params: 'not an object' } });
  assert.equal(badBody.status, 422);
  const unknown = await trigger('/api/jobs/no-such-job/run');
  assert.equal(unknown.status, 404);
  assert.match(unknown.body.error.message, /No job named "no-such-job"/);
});

test('the original API triggers answer 202 {message, run_id}; 404 while the job is not defined', async () => {
  // The models/predictions modules define retrain/score/predict; until then the routes say so.
  for (const [action, job] of [['train', 'retrain'], ['score', 'score'], ['predict', 'predict']] as const) {
    if (svc.isDefined(job)) continue;
    const missing = await trigger(`/api/prediction/${action}`);
    assert.equal(missing.status, 404, `${action} before ${job} exists`);
    assert.match(missing.body.error.message, new RegExp(`No job named "${job}"`));
    assert.match(missing.body.detail, /not be installed yet/);
    svc.define({ name: job, description: `test stand-in for ${job}`, run: async (ctx) => ({ trigger: ctx.trigger }) });
  }
  const train = await trigger('/api/prediction/train');
  assert.equal(train.status, 202);
  assert.equal(typeof train.body.message, 'string');
  assert.equal(train.body.job, 'retrain');
  assert.equal(train.body.run_id, train.body.job_run_id);
  const run = await getRun(app, train.body.run_id, token);
  assert.equal(run.job, 'retrain');
  assert.equal(run.trigger, 'manual');

  const score = await trigger('/internal/predict/score', undefined, undefined);
  assert.equal(score.status, 202);
  assert.equal(score.body.job, 'score');
  assert.equal(score.location, `/internal/jobs/${score.body.run_id}`);
  assert.equal((await getRun(app, score.body.run_id)).trigger, 'api');
  const predict = await trigger('/internal/predict/predict', undefined, undefined);
  assert.equal(predict.body.job, 'predict');
  await svc.waitFor(train.body.run_id);
  await svc.waitFor(score.body.run_id);
  await svc.waitFor(predict.body.run_id);
});

test('the jobs API is for admins only', async () => {
  assert.equal((await app.fetch('/api/jobs')).status, 401);
  assert.equal((await app.fetch('/api/prediction/train', { method: 'POST' })).status, 401);
  const userToken = (await createUserAndLogin(app)).token;
  assert.equal((await app.fetch('/api/jobs', { token: userToken })).status, 403);
  assert.equal((await app.fetch('/api/jobs/test-listed/run', { method: 'POST', token: userToken })).status, 403);
  assert.equal((await app.fetch('/api/prediction/train', { method: 'POST', token: userToken })).status, 403);
  assert.equal((await app.fetch('/api/jobs/test-listed/pause', { method: 'POST', token: userToken })).status, 403);
});

test('a run whose instance stopped heart-beating is closed as interrupted and no longer blocks the job', async () => {
  // Simulates a run left by a crashed instance (the real kill -9 is in crash.test.ts).
  svc.define({ name: 'test-orphan', description: 'orphan', run: async () => 'fresh' });
  const { Client } = (await import('pg')).default;
  const c = new Client({ connectionString: app.db.connectionString });
  await c.connect();
  try {
    const ins = await c.query(
      `INSERT INTO job_runs (job, trigger, params, status, "queuedAt", "startedAt", "heartbeatAt", "instanceId")
       VALUES ('test-orphan', 'manual', '{}', 'running', now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', 'gone-instance')
       RETURNING id`,
    );
    const orphan = ins.rows[0].id as number;
    // A trigger sweeps the job's stale runs first, so the dead run does not block it.
    const t = await trigger('/api/jobs/test-orphan/run');
    assert.equal(t.body.alreadyRunning, false);
    assert.notEqual(t.body.run_id, orphan);
    const closed = await getRun(app, orphan, token);
    assert.equal(closed.status, 'failed');
    assert.equal(closed.error, 'interrupted: the instance running it stopped');
    assert.ok(closed.finishedAt);
    assert.equal(await svc.waitFor(t.body.run_id), 'succeeded');

    // The heartbeat's sweep closes stale runs of any job too.
    const ins2 = await c.query(
      `INSERT INTO job_runs (job, trigger, params, status, "queuedAt", "heartbeatAt", "instanceId")
       VALUES ('some-other-job', 'schedule', '{}', 'queued', now() - interval '1 hour', now() - interval '1 hour', 'gone-instance') RETURNING id`,
    );
    await waitUntil(async () => (await getRun(app, ins2.rows[0].id, token)).status === 'failed', 'the sweep to close the queued orphan', 5000);
  } finally {
    await c.end();
  }
});
