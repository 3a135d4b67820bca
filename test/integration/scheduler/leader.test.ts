/**
 * Two app instances on one Postgres with the scheduler on: one leader runs the scheduled ticks
 * (every second here), each tick runs once in total, a manual trigger sent to both runs once,
 * a cancel on one instance stops a run on the other, and when the leader's session drops or
 * the leader stops, the other instance takes over within LEADER_RETRY_MS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startApp, type TestApp } from '../../support/app.js';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';
import type { SchedulerService } from '../../../src/modules/scheduler/index.js';
import { deferred, getRun, schedulerOf, untilAborted, waitUntil } from './helpers.js';

const RETRY_MS = 300;
const env = {
  SCHEDULER_ENABLED: 'true',
  LEADER_RETRY_MS: String(RETRY_MS),
  JOB_HEARTBEAT_MS: '200',
  JOB_STALE_AFTER_MS: '3000',
  // The real jobs (when their modules exist) stay quiet: this file is about the machinery.
  CRON_INGEST: 'off',
  CRON_SCORE: 'off',
  CRON_RETRAIN: 'off',
  CRON_DRIFT_CHECK: 'off',
};

let db: TestDatabase;
let a: TestApp;
let b: TestApp | undefined;
let sql: pg.Client;
const stopped = new Set<TestApp>();

/** Every invocation of the ticking job, across both instances. */
const calls: { instance: string; runId: number }[] = [];

function defineTicker(app: TestApp): void {
  const svc = schedulerOf(app);
  svc.define({
    name: 'test-tick',
    description: 'runs every second',
    schedule: '* * * * * *',
    async run(ctx) {
      calls.push({ instance: app.url, runId: ctx.runId });
    },
  });
}

async function tickRuns(): Promise<{ id: number; scheduledFor: Date; instanceId: string; status: string }[]> {
  const r = await sql.query(`SELECT id, "scheduledFor", "instanceId", status FROM job_runs WHERE job = 'test-tick' ORDER BY "scheduledFor"`);
  return r.rows;
}

async function stopApp(app: TestApp | undefined): Promise<void> {
  if (!app || stopped.has(app)) return;
  stopped.add(app);
  await app.stop();
}

before(async () => {
  db = await startTestDatabase();
  a = await startApp({ db, env });
  // A is up first, so it leads; B boots as a follower.
  b = await startApp({ db, env });
  sql = new pg.Client({ connectionString: db.connectionString });
  await sql.connect();
});
after(async () => {
  await sql?.end();
  await stopApp(b);
  await stopApp(a);
  await db?.stop();
});

function leaderOf(...apps: TestApp[]): Promise<{ leaders: TestApp[]; ids: Map<TestApp, string> }> {
  return Promise.all(apps.map(async (x) => [x, await schedulerOf(x).status()] as const)).then((st) => ({
    leaders: st.filter(([, s]) => s.isLeader).map(([x]) => x),
    ids: new Map(st.map(([x, s]) => [x, s.instanceId])),
  }));
}

test('exactly one instance leads and runs each scheduled tick once', async () => {
  const { leaders, ids } = await leaderOf(a, b!);
  assert.equal(leaders.length, 1, 'one leader');
  assert.equal(leaders[0], a, 'the first instance up took the lock');
  defineTicker(a);
  defineTicker(b!);

  await waitUntil(async () => (await tickRuns()).filter((r) => r.status === 'succeeded').length >= 4, 'four ticks', 15_000);
  const runs = (await tickRuns()).filter((r) => r.status === 'succeeded');
  const slots = runs.map((r) => r.scheduledFor.getTime());
  assert.equal(new Set(slots).size, slots.length, 'no tick has two runs');
  for (const s of slots) assert.equal(s % 1000, 0, 'a run is named by its whole-second slot');
  for (const r of runs) assert.equal(r.instanceId, ids.get(a), 'the leader ran every tick');
  const ran = runs.map((r) => r.id);
  assert.equal(calls.filter((c) => ran.includes(c.runId)).length, runs.length, 'each tick ran its body once in total');
  assert.ok(calls.every((c) => c.instance === a.url), 'the follower ran nothing');

  const overview = (await (await b!.fetch('/internal/jobs?job=test-tick')).json()) as any;
  assert.equal(overview.scheduler.isLeader, false);
  assert.equal(overview.scheduler.leaderPresent, true, 'the follower sees that a leader holds the lock');
  const tick = overview.jobs.find((j: any) => j.name === 'test-tick');
  assert.equal(tick.scheduledHere, false);
  assert.ok(Date.parse(tick.nextRunAt) - Date.now() <= 1500, 'next run within a second');
});

test('the same tick fired on both instances makes one run (tick dedupe)', async () => {
  let n = 0;
  for (const x of [a, b!]) schedulerOf(x).define({ name: 'test-dedupe', description: 'dedupe', run: async () => void n++ });
  const slot = new Date('2031-05-05T05:05:05Z');
  const [ra, rb] = await Promise.all([schedulerOf(a).fireTick('test-dedupe', slot), schedulerOf(b!).fireTick('test-dedupe', slot)]);
  assert.ok('runId' in ra && 'runId' in rb);
  assert.equal(ra.runId, rb.runId, 'both name the same run');
  assert.equal([ra, rb].filter((r) => r.skipped === 'duplicate-tick' || r.alreadyRunning).length, 1);
  await schedulerOf(a).waitFor(ra.runId);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(n, 1);
});

test('a manual trigger sent to both instances at once runs exactly once', async () => {
  let n = 0;
  const gate = deferred();
  for (const x of [a, b!]) {
    schedulerOf(x).define({
      name: 'test-once',
      description: 'once',
      async run() {
        n++;
        await gate.promise;
      },
    });
  }
  const answers = await Promise.all(
    [a, b!, a, b!].map(async (x) => (await x.fetch('/internal/jobs/test-once/run', { method: 'POST' })).json() as Promise<any>),
  );
  assert.equal(new Set(answers.map((x) => x.run_id)).size, 1, 'all four answers name one run');
  assert.equal(answers.filter((x) => !x.alreadyRunning).length, 1);
  gate.resolve();
  await waitUntil(async () => (await getRun(a, answers[0].run_id)).status === 'succeeded', 'the run to finish');
  assert.equal(n, 1);
});

test('a cancel sent to the other instance stops the run through its heartbeat', async () => {
  for (const x of [a, b!]) {
    schedulerOf(x).define({ name: 'test-remote-cancel', description: 'until cancelled', run: (ctx) => untilAborted(ctx.signal) });
  }
  const started = (await (await a.fetch('/internal/jobs/test-remote-cancel/run', { method: 'POST' })).json()) as any;
  await waitUntil(async () => (await getRun(a, started.run_id)).status === 'running', 'the run to start on A');
  const res = await b!.fetch(`/internal/jobs/${started.run_id}/cancel`, { method: 'POST' });
  assert.equal(res.status, 202);
  const run = await waitUntil(async () => {
    const r = await getRun(b!, started.run_id);
    return r.status === 'cancelled' ? r : undefined;
  }, 'A to notice the cancel', 5000);
  assert.equal(run.instanceId, (await schedulerOf(a).status()).instanceId, 'it ran, and was cancelled, on A');
});

test("when the leader's database session drops it steps down, and a leader is back within the bound", async () => {
  const svcA: SchedulerService = schedulerOf(a);
  assert.equal((await svcA.status()).isLeader, true);
  // Kill A's lock session from the server side, as a network cut or a DBA would.
  const holder = await sql.query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1 AND objsubid = 1 AND granted`, [a.running.config.LEADER_LOCK_KEY]);
  assert.equal(holder.rowCount, 1);
  const cut = Date.now();
  await sql.query('SELECT pg_terminate_backend($1)', [holder.rows[0].pid]);
  await waitUntil(async () => !(await svcA.status()).isLeader, 'A to step down', 2000);
  const { leaders } = await waitUntil(async () => {
    const l = await leaderOf(a, b!);
    return l.leaders.length === 1 ? l : undefined;
  }, 'a new leader', 3 * RETRY_MS + 2000);
  const tookMs = Date.now() - cut;
  console.log(`# leader back ${tookMs} ms after its session was cut (now ${leaders[0] === a ? 'A again' : 'B'})`);

  // Ticks go on, still once each, whoever leads now.
  const before = (await tickRuns()).length;
  await waitUntil(async () => (await tickRuns()).length >= before + 2, 'ticks to continue', 5000);
  const slots = (await tickRuns()).map((r) => r.scheduledFor.getTime());
  assert.equal(new Set(slots).size, slots.length, 'still no tick twice');
});

test('when the leader stops, the other instance takes over within LEADER_RETRY_MS', async () => {
  const { leaders, ids } = await leaderOf(a, b!);
  assert.equal(leaders.length, 1);
  const oldLeader = leaders[0]!;
  const other = oldLeader === a ? b! : a;
  const t0 = Date.now();
  await stopApp(oldLeader);
  const stoppedAt = Date.now();
  await waitUntil(async () => (await schedulerOf(other).status()).isLeader, 'the other instance to lead', RETRY_MS + 3000);
  const takeoverMs = Date.now() - stoppedAt;
  console.log(`# takeover ${takeoverMs} ms after the leader stopped (stop took ${stoppedAt - t0} ms)`);
  assert.ok(takeoverMs <= RETRY_MS + 1500, `takeover in ${takeoverMs} ms`);

  // The new leader ticks the job.
  const otherId = ids.get(other);
  await waitUntil(async () => (await tickRuns()).filter((r) => r.instanceId === otherId && r.status === 'succeeded').length >= 2, 'the new leader to run ticks', 5000);
  const runs = await tickRuns();
  const slots = runs.map((r) => r.scheduledFor.getTime());
  assert.equal(new Set(slots).size, slots.length, 'no tick ran twice across the handover');
  assert.equal(runs.filter((r) => r.status === 'running' || r.status === 'queued').length <= 1, true);
});
