/**
 * The job runner. Modules define jobs (name, schedule, body); a launch records a queued run,
 * claims it (queued -> running, only one instance can) and runs the body on this instance with
 * an AbortSignal, a throttled progress reporter and a logger whose every line carries jobRunId.
 * While runs are alive a heartbeat marks them and picks up cancels requested on other
 * instances; runs whose heartbeat went stale (their instance died) are closed as failed.
 * Scheduled ticks fire only while this instance is the leader (see leader.ts); each tick is one
 * run named by its slot time, so a tick runs once even if two instances fire it.
 *
 * No Express and no Prisma here: the repo, cron and metrics are handed in.
 */
import { performance } from 'node:perf_hooks';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../../platform/errors.js';
import { withLogContext, type Logger } from '../../platform/log.js';
import {
  JobAbortError,
  type JobContext,
  type JobDefinition,
  type JobStatus,
  type JobTrigger,
  type Jobs,
  type LeaderTask,
  type LaunchOptions,
  type LaunchResult,
} from '../../platform/jobs.js';
import type { Metrics } from '../monitoring/index.js';
import type { Cron, CronTask } from './cron.js';
import type { JobRunRow, RunFilter, SchedulerRepo } from './scheduler.repo.js';

export const INTERRUPTED_MESSAGE = 'interrupted: the instance running it stopped';
export const SHUTDOWN_MESSAGE = 'interrupted: the instance running it shut down before the run finished';
const JOB_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const PROGRESS_MIN_INTERVAL_MS = 250;
const ERROR_MAX_CHARS = 4000;
const FINAL: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface SchedulerSettings {
  /** SCHEDULER_ENABLED: cron and leader election; manual launches run either way */
  enabled: boolean;
  timezone: string;
  heartbeatMs: number;
  staleAfterMs: number;
  lockKey: number;
  /** how long a graceful stop waits for aborted runs to settle */
  stopWaitMs: number;
}

export interface SchedulerServiceDeps {
  repo: SchedulerRepo;
  cron: Cron;
  log: Logger;
  metrics: Pick<Metrics, 'jobRuns' | 'jobDuration' | 'jobLastSuccess' | 'exceptions'>;
  instanceId: string;
  settings: SchedulerSettings;
}

export interface LaunchInternalOptions extends LaunchOptions {
  /** the cron slot of a scheduled run */
  scheduledFor?: Date;
}

export interface LaunchOutcome extends LaunchResult {
  job: string;
  /** why no new run was started: a run with the same key is active, or this tick already ran */
  skipped?: 'duplicate-tick' | 'overlap';
}

/** What a cron tick did: started (or found) a run, or nothing because the job is paused. */
export type TickOutcome = LaunchOutcome | { job: string; skipped: 'paused' };

export interface JobSummary {
  name: string;
  description: string;
  /** the cron expression, or null when the job is not scheduled */
  schedule: string | null;
  timezone: string;
  paused: boolean;
  pausedAt: Date | null;
  pausedBy: number | null;
  /** the next tick (wall clock), null when unscheduled or paused */
  nextRunAt: Date | null;
  /** whether this instance's cron is ticking the job right now (only the leader's does) */
  scheduledHere: boolean;
  runOnStartup: boolean;
  paramScoped: boolean;
  lastRun: JobRunRow | null;
  activeRun: JobRunRow | null;
  lastSuccessAt: Date | null;
}

export interface SchedulerStatus {
  enabled: boolean;
  instanceId: string;
  isLeader: boolean;
  /** whether some instance holds the leader lock */
  leaderPresent: boolean;
  timezone: string;
  activeRunsHere: number[];
}

interface ActiveRun {
  job: string;
  controller: AbortController;
  done: Promise<JobStatus>;
}

type Outcome = { status: 'succeeded'; result: unknown } | { status: 'failed' | 'cancelled'; error: string };

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message || err.name : typeof err === 'string' ? err : 'the job failed without a message';
  return msg.length > ERROR_MAX_CHARS ? `${msg.slice(0, ERROR_MAX_CHARS)}…` : msg;
}

/** Results are stored as JSON; anything that does not survive JSON is stored as its JSON form. */
function jsonSafe(v: unknown): unknown {
  if (v === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return { unserialisable: String(v) };
  }
}

function normaliseSchedule(s: string | undefined): string | undefined {
  const v = s?.trim();
  return !v || v === 'off' ? undefined : v;
}

export function createSchedulerService(deps: SchedulerServiceDeps) {
  const { repo, cron, metrics, instanceId, settings } = deps;
  const log = deps.log;
  const defs = new Map<string, JobDefinition>();
  const tasks = new Map<string, CronTask>();
  const active = new Map<number, ActiveRun>();
  const leaderTasks: LeaderTask[] = [];
  const runningTasks = new Set<LeaderTask>();
  let leader = false;
  let startupLaunched = false;
  let started = false;
  let stopping = false;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let beating: Promise<void> | undefined;

  // ---------------------------------------------------------------- definitions

  function define(def: JobDefinition): void {
    if (!JOB_NAME.test(def.name)) throw new Error(`Job name "${def.name}" must be lower-case letters, digits and dashes, starting with a letter`);
    if (defs.has(def.name)) throw new Error(`Job "${def.name}" is defined twice`);
    const schedule = normaliseSchedule(def.schedule);
    if (schedule) {
      const problem = cron.validate(schedule);
      if (problem) throw new Error(`Job "${def.name}": schedule "${schedule}" is not a valid cron expression (${problem})`);
    }
    defs.set(def.name, { ...def, schedule });
    // A job defined after this instance became leader is scheduled right away.
    if (leader && !stopping && schedule) scheduleTask(def.name);
  }

  function getDef(name: string): JobDefinition {
    const def = defs.get(name);
    if (!def) throw new NotFoundError(`No job named "${name}" is defined on this server (the module that provides it may not be installed yet)`, 'job_not_defined');
    return def;
  }

  function keyOf(def: JobDefinition, params: Record<string, unknown>): string {
    return def.concurrencyKey ? def.concurrencyKey(params) : '';
  }

  // ---------------------------------------------------------------- launching and running

  async function launchInternal(name: string, rawParams: Record<string, unknown> | undefined, opts: LaunchInternalOptions): Promise<LaunchOutcome> {
    if (stopping) throw new ServiceUnavailableError('The scheduler is shutting down; try again on another instance or after the restart', 'shutting_down');
    const def = getDef(name);
    const input = rawParams ?? {};
    const params = def.parseParams ? def.parseParams(input) : input;
    if (!params || typeof params !== 'object' || Array.isArray(params)) throw new ValidationError('Job parameters must be a JSON object');
    const key = keyOf(def, params);
    const out = await repo.enqueue({
      job: name,
      trigger: opts.trigger,
      params,
      startedById: opts.startedById,
      instanceId,
      scheduledFor: opts.scheduledFor,
      staleAfterMs: settings.staleAfterMs,
      interruptedMessage: INTERRUPTED_MESSAGE,
      sameKey: (other) => {
        try {
          return keyOf(def, other) === key;
        } catch {
          return true; // params we cannot read: assume the same key rather than risk an overlap
        }
      },
    });
    for (const s of out.swept) countFinished(s.job, 'failed', s.durationMs);
    const run = out.run;
    if (out.kind === 'duplicate-tick') return { job: name, runId: run.id, alreadyRunning: true, status: run.status, skipped: 'duplicate-tick' };
    if (out.kind === 'already-running') {
      log.info({ job: name, runId: run.id, trigger: opts.trigger }, 'job already queued or running; not starting another');
      const status = opts.wait ? await waitFor(run.id) : run.status;
      return { job: name, runId: run.id, alreadyRunning: true, status, skipped: 'overlap' };
    }
    const done = execute(def, run);
    if (opts.wait) return { job: name, runId: run.id, alreadyRunning: false, status: await done };
    return { job: name, runId: run.id, alreadyRunning: false, status: 'queued' };
  }

  function execute(def: JobDefinition, queued: JobRunRow): Promise<JobStatus> {
    const controller = new AbortController();
    let resolveDone!: (s: JobStatus) => void;
    const done = new Promise<JobStatus>((r) => (resolveDone = r));
    // Registered before the claim so the heartbeat's sweep and a local cancel see it.
    active.set(queued.id, { job: def.name, controller, done });
    void withLogContext({ jobRunId: queued.id }, () => runClaimed(def, queued, controller))
      .catch((err: unknown) => {
        log.error({ err, job: def.name, runId: queued.id }, 'job runner failed');
        return 'failed' as JobStatus;
      })
      .then((status) => {
        active.delete(queued.id);
        resolveDone(status);
      });
    return done;
  }

  async function runClaimed(def: JobDefinition, queued: JobRunRow, controller: AbortController): Promise<JobStatus> {
    const run = await repo.claim(queued.id, instanceId);
    if (!run) {
      const now = await repo.getRun(queued.id);
      log.info({ job: def.name, status: now?.status }, 'run was not claimed (cancelled or taken before it started)');
      return now?.status ?? 'cancelled';
    }
    const runLog = log.child({ job: def.name });
    const progress = createProgress(run.id, runLog);
    const ctx: JobContext = {
      runId: run.id,
      job: def.name,
      trigger: run.trigger,
      params: run.params,
      startedById: run.startedById ?? undefined,
      signal: controller.signal,
      progress: progress.report,
      log: runLog,
    };
    runLog.info({ trigger: run.trigger, params: run.params, scheduledFor: run.scheduledFor ?? undefined }, 'job run started');
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      const result = await def.run(ctx);
      outcome = controller.signal.aborted ? abortOutcome(controller.signal.reason) : { status: 'succeeded', result: jsonSafe(result) };
    } catch (err) {
      outcome = controller.signal.aborted ? abortOutcome(controller.signal.reason) : { status: 'failed', error: errorText(err) };
      if (outcome.status === 'failed' && !controller.signal.aborted) runLog.error({ err }, 'job run failed');
    }
    await progress.close();
    const fin = await repo.finish(run.id, outcome.status, outcome.status === 'succeeded' ? { result: outcome.result } : { error: outcome.error });
    if (!fin) {
      runLog.warn({ status: outcome.status }, 'job run finished, but it had already been closed (its heartbeat went stale)');
      return (await repo.getRun(run.id))?.status ?? 'failed';
    }
    countFinished(def.name, outcome.status, fin.durationMs ?? Math.round(performance.now() - t0), fin.finishedAt);
    const line = { status: outcome.status, durationMs: fin.durationMs, ...(outcome.status === 'succeeded' ? {} : { error: outcome.error }) };
    if (outcome.status === 'succeeded') runLog.info(line, 'job run succeeded');
    else if (outcome.status === 'cancelled') runLog.info(line, 'job run cancelled');
    else runLog.warn(line, 'job run ended as failed');
    return outcome.status;
  }

  function abortOutcome(reason: unknown): Outcome {
    if (reason instanceof JobAbortError && reason.kind === 'cancelled') return { status: 'cancelled', error: reason.message };
    return { status: 'failed', error: reason instanceof JobAbortError && reason.kind === 'lost' ? INTERRUPTED_MESSAGE : SHUTDOWN_MESSAGE };
  }

  function countFinished(job: string, status: JobStatus, durationMs: number | null, finishedAt?: Date): void {
    metrics.jobRuns.inc({ job, status });
    if (durationMs !== null && durationMs >= 0) metrics.jobDuration.observe({ job }, durationMs / 1000);
    if (status === 'succeeded' && finishedAt) metrics.jobLastSuccess.set({ job }, finishedAt.getTime() / 1000);
    if (status === 'failed') metrics.exceptions.inc({ where: 'job' });
  }

  /** Progress writes are throttled: the latest value is written at most every 250 ms, and flushed at the end. */
  function createProgress(runId: number, runLog: Logger) {
    let pending: { fraction: number; message?: string } | undefined;
    let last = -Infinity;
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    let closed = false;
    const write = (): Promise<void> => {
      clearTimeout(timer);
      timer = undefined;
      const p = pending;
      pending = undefined;
      if (!p) return writing;
      last = performance.now();
      writing = writing
        .then(() => repo.setProgress(runId, p.fraction, p.message))
        .catch((err: unknown) => runLog.warn({ err }, 'could not record job progress'));
      return writing;
    };
    return {
      report(fraction: number, message?: string): Promise<void> {
        if (closed) return Promise.resolve();
        const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
        pending = { fraction: f, message: message === undefined ? undefined : message.slice(0, 500) };
        const wait = PROGRESS_MIN_INTERVAL_MS - (performance.now() - last);
        if (wait <= 0) return write();
        timer ??= setTimeout(() => void write(), wait);
        return Promise.resolve();
      },
      async close(): Promise<void> {
        closed = true;
        await write();
      },
    };
  }

  async function waitFor(runId: number): Promise<JobStatus> {
    const local = active.get(runId);
    if (local) return local.done;
    for (;;) {
      const r = await repo.getRun(runId);
      if (!r) throw new NotFoundError(`Run ${runId} does not exist`);
      if (FINAL.includes(r.status)) return r.status;
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  // ---------------------------------------------------------------- heartbeat and crash recovery

  async function sweep(): Promise<void> {
    const closed = await repo.sweepStale(settings.staleAfterMs, INTERRUPTED_MESSAGE, [...active.keys()]);
    for (const c of closed) countFinished(c.job, 'failed', c.durationMs);
    if (closed.length) log.warn({ runs: closed.map((c) => ({ id: c.id, job: c.job })) }, 'closed runs whose instance stopped (stale heartbeat) as failed');
  }

  async function beat(): Promise<void> {
    const ids = [...active.keys()];
    if (ids.length) {
      const rows = await repo.heartbeat(ids);
      for (const r of rows) {
        const a = active.get(r.id);
        if (!a || a.controller.signal.aborted) continue;
        if (r.cancelRequested) a.controller.abort(new JobAbortError('cancelled', 'cancelled on request'));
        else if (r.status !== 'running' && r.status !== 'queued') a.controller.abort(new JobAbortError('lost', INTERRUPTED_MESSAGE));
      }
    }
    await sweep();
  }

  function heartbeatTick(): void {
    if (beating) return;
    beating = beat()
      .catch((err: unknown) => log.warn({ err }, 'job heartbeat failed'))
      .finally(() => {
        beating = undefined;
      });
  }

  // ---------------------------------------------------------------- schedule and leadership

  function scheduleTask(name: string): void {
    const def = defs.get(name);
    const expression = def && normaliseSchedule(def.schedule);
    if (!def || !expression || tasks.has(name)) return;
    tasks.set(name, cron.schedule({ name: `job:${name}`, expression, timezone: settings.timezone }, (slot) => onTick(name, slot)));
  }

  async function stopTasks(): Promise<void> {
    const all = [...tasks.values()];
    tasks.clear();
    await Promise.all(all.map((t) => t.stop().catch(() => undefined)));
  }

  async function onTick(name: string, slot: Date): Promise<void> {
    if (!leader || stopping) return;
    try {
      await fireTick(name, slot);
    } catch (err) {
      log.error({ err, job: name, slot }, 'scheduled tick failed to start its run');
    }
  }

  /**
   * What a cron tick does: unless the job is paused, launch a run tied to the tick's slot.
   * Safe to call from several instances for the same slot: one run results.
   */
  async function fireTick(name: string, slot: Date): Promise<TickOutcome> {
    getDef(name);
    if (await repo.isPaused(name)) {
      log.info({ job: name, slot }, 'scheduled tick skipped: the job is paused');
      return { job: name, skipped: 'paused' };
    }
    const out = await launchInternal(name, {}, { trigger: 'schedule', scheduledFor: slot });
    if (out.skipped === 'overlap') log.info({ job: name, slot, runId: out.runId }, 'scheduled tick skipped: the previous run is still going');
    else if (out.skipped === 'duplicate-tick') log.debug({ job: name, slot, runId: out.runId }, 'tick already run by another instance');
    return out;
  }

  async function startLeaderTask(t: LeaderTask): Promise<void> {
    if (runningTasks.has(t)) return;
    runningTasks.add(t);
    try {
      await t.start();
      log.info({ task: t.name }, 'leader task started on this instance');
    } catch (err) {
      log.error({ err, task: t.name }, 'leader task failed to start');
    }
  }

  async function stopLeaderTasks(): Promise<void> {
    const all = [...runningTasks].reverse();
    runningTasks.clear();
    for (const t of all) {
      try {
        await t.stop();
      } catch (err) {
        log.error({ err, task: t.name }, 'leader task failed to stop');
      }
    }
  }

  function whileLeader(t: LeaderTask): void {
    leaderTasks.push(t);
    if (leader && !stopping) void startLeaderTask(t);
  }

  async function becomeLeader(): Promise<void> {
    if (stopping || !settings.enabled) return;
    leader = true;
    for (const name of defs.keys()) scheduleTask(name);
    for (const t of leaderTasks) await startLeaderTask(t);
    log.info({ scheduled: [...tasks.keys()] }, 'scheduling jobs on this instance (leader)');
    if (!startupLaunched) {
      startupLaunched = true;
      for (const def of defs.values()) {
        if (!def.runOnStartup) continue;
        await launchInternal(def.name, {}, { trigger: 'startup' }).catch((err: unknown) => log.error({ err, job: def.name }, 'startup run failed to start'));
      }
    }
  }

  async function stepDown(reason: string): Promise<void> {
    leader = false;
    await stopTasks();
    await stopLeaderTasks();
    log.info({ reason }, 'stopped scheduling jobs on this instance');
  }

  // ---------------------------------------------------------------- admin operations

  async function cancel(runId: number, by?: number): Promise<JobRunRow> {
    const run = await repo.getRun(runId);
    if (!run) throw new NotFoundError(`Run ${runId} does not exist`);
    if (FINAL.includes(run.status)) throw new ConflictError(`Run ${runId} has already ${run.status === 'cancelled' ? 'been cancelled' : run.status}`, 'run_finished');
    const message = by === undefined ? 'cancelled on request' : `cancelled by user ${by}`;
    const res = await repo.requestCancel(runId, message);
    if (res.cancelledQueued) countFinished(run.job, 'cancelled', null);
    const local = active.get(runId);
    if (local && !local.controller.signal.aborted) local.controller.abort(new JobAbortError('cancelled', message));
    log.info({ runId, job: run.job, by, here: !!local }, 'job run cancel requested');
    return res.run ?? run;
  }

  async function setPaused(name: string, paused: boolean, by?: number) {
    getDef(name);
    const st = await repo.setPaused(name, paused, by);
    log.info({ job: name, paused, by }, paused ? 'job paused' : 'job resumed');
    return { job: name, ...st };
  }

  function nextRunOf(name: string, expression: string): Date | null {
    const live = tasks.get(name)?.nextRun();
    if (live) return live;
    return cron.nextRuns(expression, settings.timezone, 1)[0] ?? null;
  }

  async function listJobs(): Promise<JobSummary[]> {
    const names = [...defs.keys()].sort();
    const [states, latest] = await Promise.all([repo.pausedJobs(), repo.latestByJob(names)]);
    return names.map((name) => {
      const def = defs.get(name)!;
      const schedule = normaliseSchedule(def.schedule) ?? null;
      const st = states.get(name);
      const paused = st?.paused ?? false;
      const l = latest.get(name);
      return {
        name,
        description: def.description,
        schedule,
        timezone: settings.timezone,
        paused,
        pausedAt: paused ? (st?.updatedAt ?? null) : null,
        pausedBy: paused ? (st?.updatedBy ?? null) : null,
        nextRunAt: schedule && !paused ? nextRunOf(name, schedule) : null,
        scheduledHere: tasks.has(name),
        runOnStartup: !!def.runOnStartup,
        paramScoped: !!def.concurrencyKey,
        lastRun: l?.last ?? null,
        activeRun: l?.active ?? null,
        lastSuccessAt: l?.lastSuccessAt ?? null,
      };
    });
  }

  async function listRuns(f: RunFilter): Promise<{ runs: JobRunRow[]; nextCursor: number | null }> {
    const runs = await repo.listRuns(f);
    return { runs, nextCursor: runs.length === f.limit ? runs[runs.length - 1]!.id : null };
  }

  async function getRun(runId: number): Promise<JobRunRow> {
    const r = await repo.getRun(runId);
    if (!r) throw new NotFoundError(`Run ${runId} does not exist`);
    return r;
  }

  async function status(): Promise<SchedulerStatus> {
    return {
      enabled: settings.enabled,
      instanceId,
      isLeader: leader,
      leaderPresent: await repo.leaderPresent(settings.lockKey).catch(() => false),
      timezone: settings.timezone,
      activeRunsHere: [...active.keys()],
    };
  }

  // ---------------------------------------------------------------- lifecycle

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    // Runs left queued/running by a crashed process (kill -9, power loss) are closed here, at
    // boot, once their heartbeat is stale; the heartbeat loop keeps doing it afterwards.
    await sweep().catch((err: unknown) => log.warn({ err }, 'could not check for interrupted runs at boot'));
    heartbeatTimer = setInterval(heartbeatTick, settings.heartbeatMs);
    heartbeatTimer.unref();
  }

  /** Stop taking runs, stop ticking, and abort the runs here (reason: shutdown). */
  async function beginStop(): Promise<void> {
    stopping = true;
    leader = false;
    await stopTasks();
    await stopLeaderTasks();
    for (const a of active.values()) {
      if (!a.controller.signal.aborted) a.controller.abort(new JobAbortError('shutdown', 'the instance is shutting down'));
    }
  }

  /** Wait (bounded) for the aborted runs to record their end; close the rest as interrupted. */
  async function finishStop(): Promise<void> {
    const pending = [...active.values()].map((a) => a.done);
    if (pending.length) {
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), settings.stopWaitMs).unref());
      if ((await Promise.race([Promise.all(pending), timeout])) === 'timeout') {
        const left = [...active.keys()];
        log.warn({ runs: left, waitedMs: settings.stopWaitMs }, 'job runs did not stop in time; closing them as interrupted');
        const closed = await repo.interrupt(left, SHUTDOWN_MESSAGE).catch(() => []);
        for (const c of closed) countFinished(c.job, 'failed', c.durationMs);
      }
    }
    clearInterval(heartbeatTimer);
    if (beating) await beating;
  }

  const jobs: Jobs = {
    define,
    whileLeader,
    launch: (name, params, opts) => launchInternal(name, params, opts ?? { trigger: 'manual' }),
  };

  return {
    jobs,
    define,
    /** the Jobs port's launch, with the job name and, for ticks, why nothing started */
    launch: (name: string, params?: Record<string, unknown>, opts: LaunchInternalOptions = { trigger: 'manual' }) => launchInternal(name, params, opts),
    fireTick,
    cancel,
    pause: (name: string, by?: number) => setPaused(name, true, by),
    resume: (name: string, by?: number) => setPaused(name, false, by),
    listJobs,
    listRuns,
    getRun,
    waitFor,
    status,
    isDefined: (name: string) => defs.has(name),
    /** runs the heartbeat + stale sweep now (tests, CLI) */
    heartbeatNow: beat,
    becomeLeader,
    stepDown,
    start,
    beginStop,
    finishStop,
  };
}

export type SchedulerService = ReturnType<typeof createSchedulerService>;
export type { JobTrigger };
