/**
 * The scheduler's data access: job runs (JobRun) and paused flags (JobState). Every time that
 * decides whether a run is alive (heartbeatAt, staleness) comes from Postgres' clock, so
 * instances with skewed clocks still agree.
 */
import type { PrismaClient, Prisma } from '../../db/prisma.js';
import type { JobStatus, JobTrigger } from '../../platform/jobs.js';

/** Namespace (first int) of the per-job advisory transaction locks; the second int is hashtext(job). */
const JOB_LOCK_NAMESPACE = 48151624;

export interface JobRunRow {
  id: number;
  job: string;
  trigger: JobTrigger;
  params: Record<string, unknown>;
  status: JobStatus;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  progress: number;
  progressMessage: string | null;
  error: string | null;
  result: unknown;
  startedById: number | null;
  instanceId: string | null;
  cancelRequested: boolean;
  scheduledFor: Date | null;
  heartbeatAt: Date | null;
}

type RawRun = Awaited<ReturnType<PrismaClient['jobRun']['findUniqueOrThrow']>>;

function toRow(r: RawRun): JobRunRow {
  return {
    ...r,
    trigger: r.trigger as JobTrigger,
    status: r.status as JobStatus,
    params: r.params && typeof r.params === 'object' && !Array.isArray(r.params) ? (r.params as Record<string, unknown>) : {},
    result: r.result ?? null,
  };
}

export type EnqueueOutcome =
  | { kind: 'queued'; run: JobRunRow }
  | { kind: 'already-running'; run: JobRunRow }
  | { kind: 'duplicate-tick'; run: JobRunRow };

export interface EnqueueInput {
  job: string;
  trigger: JobTrigger;
  params: Record<string, unknown>;
  startedById?: number;
  instanceId: string;
  scheduledFor?: Date;
  /** the overlap rule: true when an active run's params fall under the same concurrency key */
  sameKey(otherParams: Record<string, unknown>): boolean;
  staleAfterMs: number;
  interruptedMessage: string;
}

export interface RunFilter {
  job?: string;
  status?: JobStatus;
  trigger?: JobTrigger;
  limit: number;
  /** runs with an id below this one (newest first paging) */
  before?: number;
}

const ACTIVE: JobStatus[] = ['queued', 'running'];

export function createSchedulerRepo(prisma: PrismaClient) {
  /** closes stale queued/running runs (their instance is gone); returns what it closed */
  async function sweepStale(
    db: Pick<PrismaClient, '$queryRaw'> | Prisma.TransactionClient,
    staleAfterMs: number,
    message: string,
    excludeIds: number[],
    job?: string,
  ): Promise<{ id: number; job: string; durationMs: number | null }[]> {
    return db.$queryRaw<{ id: number; job: string; durationMs: number | null }[]>`
      UPDATE job_runs
         SET status = 'failed',
             "finishedAt" = now(),
             "durationMs" = CASE WHEN "startedAt" IS NULL THEN NULL
                                 ELSE (extract(epoch FROM now() - "startedAt") * 1000)::int END,
             error = ${message}
       WHERE status IN ('queued', 'running')
         AND COALESCE("heartbeatAt", "queuedAt") < now() - make_interval(secs => ${staleAfterMs / 1000}::float8)
         AND NOT (id = ANY(${excludeIds}::int[]))
         AND (${job ?? null}::text IS NULL OR job = ${job ?? null}::text)
      RETURNING id, job, "durationMs"`;
  }

  return {
    /**
     * Inserts a queued run unless the overlap rule or the tick rule says no. Runs under a
     * per-job advisory transaction lock, so two instances cannot both pass the check: the
     * database, not a process, decides.
     */
    async enqueue(input: EnqueueInput): Promise<EnqueueOutcome & { swept: { id: number; job: string; durationMs: number | null }[] }> {
      return prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${JOB_LOCK_NAMESPACE}::int, hashtext(${input.job}))`;
        // A run left active by a dead instance would block this job forever: close it first.
        const swept = await sweepStale(tx, input.staleAfterMs, input.interruptedMessage, [], input.job);
        if (input.scheduledFor) {
          const tick = await tx.jobRun.findUnique({ where: { job_scheduledFor: { job: input.job, scheduledFor: input.scheduledFor } } });
          if (tick) return { kind: 'duplicate-tick' as const, run: toRow(tick), swept };
        }
        const active = await tx.jobRun.findMany({ where: { job: input.job, status: { in: ACTIVE } }, orderBy: { id: 'asc' } });
        const same = active.map(toRow).find((r) => input.sameKey(r.params));
        if (same) return { kind: 'already-running' as const, run: same, swept };
        const rows = await tx.$queryRaw<{ id: number }[]>`
          INSERT INTO job_runs (job, trigger, params, status, "queuedAt", "startedById", "instanceId", "scheduledFor", "heartbeatAt")
          VALUES (${input.job}, ${input.trigger}, ${JSON.stringify(input.params)}::jsonb, 'queued', now(),
                  ${input.startedById ?? null}::int, ${input.instanceId}, ${input.scheduledFor ?? null}::timestamptz, now())
          RETURNING id`;
        const run = await tx.jobRun.findUniqueOrThrow({ where: { id: rows[0]!.id } });
        return { kind: 'queued' as const, run: toRow(run), swept };
        // Triggers of one job queue on the lock; a burst larger than the pool waits for a connection.
      }, { maxWait: 10_000, timeout: 15_000 });
    },

    /** queued -> running for this instance; false when someone else claimed or cancelled it */
    async claim(id: number, instanceId: string): Promise<JobRunRow | undefined> {
      const rows = await prisma.$queryRaw<{ id: number }[]>`
        UPDATE job_runs
           SET status = 'running', "startedAt" = now(), "heartbeatAt" = now(), "instanceId" = ${instanceId}
         WHERE id = ${id} AND status = 'queued'
        RETURNING id`;
      if (!rows.length) return undefined;
      return toRow(await prisma.jobRun.findUniqueOrThrow({ where: { id } }));
    },

    /** marks the runs alive; returns their current status and whether a cancel was requested */
    async heartbeat(ids: number[]): Promise<{ id: number; status: JobStatus; cancelRequested: boolean }[]> {
      if (!ids.length) return [];
      return prisma.$queryRaw<{ id: number; status: JobStatus; cancelRequested: boolean }[]>`
        UPDATE job_runs SET "heartbeatAt" = CASE WHEN status = 'running' THEN now() ELSE "heartbeatAt" END
         WHERE id = ANY(${ids}::int[])
        RETURNING id, status, "cancelRequested"`;
    },

    async setProgress(id: number, progress: number, message: string | undefined): Promise<void> {
      await prisma.jobRun.updateMany({
        where: { id, status: 'running' },
        data: message === undefined ? { progress } : { progress, progressMessage: message },
      });
    },

    /** running -> a final status; undefined when the run was no longer running (closed elsewhere) */
    async finish(
      id: number,
      status: 'succeeded' | 'failed' | 'cancelled',
      fields: { error?: string; result?: unknown },
    ): Promise<{ durationMs: number | null; finishedAt: Date } | undefined> {
      const result = fields.result === undefined ? null : JSON.stringify(fields.result);
      const rows = await prisma.$queryRaw<{ durationMs: number | null; finishedAt: Date }[]>`
        UPDATE job_runs
           SET status = ${status},
               "finishedAt" = now(),
               "durationMs" = (extract(epoch FROM now() - COALESCE("startedAt", "queuedAt")) * 1000)::int,
               progress = CASE WHEN ${status} = 'succeeded' THEN 1 ELSE progress END,
               error = ${fields.error ?? null}::text,
               result = ${result}::jsonb
         WHERE id = ${id} AND status = 'running'
        RETURNING "durationMs", "finishedAt"`;
      return rows[0];
    },

    /** closes runs of this instance that did not finish during a graceful stop */
    async interrupt(ids: number[], message: string): Promise<{ id: number; job: string; durationMs: number | null }[]> {
      if (!ids.length) return [];
      return prisma.$queryRaw<{ id: number; job: string; durationMs: number | null }[]>`
        UPDATE job_runs
           SET status = 'failed', "finishedAt" = now(), error = ${message},
               "durationMs" = CASE WHEN "startedAt" IS NULL THEN NULL
                                   ELSE (extract(epoch FROM now() - "startedAt") * 1000)::int END
         WHERE id = ANY(${ids}::int[]) AND status IN ('queued', 'running')
        RETURNING id, job, "durationMs"`;
    },

    sweepStale(staleAfterMs: number, message: string, excludeIds: number[]) {
      return sweepStale(prisma, staleAfterMs, message, excludeIds);
    },

    /**
     * A cancel: a queued run is cancelled at once (it never starts); a running one gets
     * cancelRequested, which its instance turns into an abort.
     */
    async requestCancel(id: number, message: string): Promise<{ run: JobRunRow | undefined; cancelledQueued: boolean }> {
      const queued = await prisma.$queryRaw<{ id: number }[]>`
        UPDATE job_runs SET status = 'cancelled', "cancelRequested" = true, error = ${message}, "finishedAt" = now()
         WHERE id = ${id} AND status = 'queued'
        RETURNING id`;
      if (!queued.length) await prisma.jobRun.updateMany({ where: { id, status: 'running' }, data: { cancelRequested: true } });
      const run = await prisma.jobRun.findUnique({ where: { id } });
      return { run: run ? toRow(run) : undefined, cancelledQueued: queued.length > 0 };
    },

    async getRun(id: number): Promise<JobRunRow | undefined> {
      const r = await prisma.jobRun.findUnique({ where: { id } });
      return r ? toRow(r) : undefined;
    },

    async listRuns(f: RunFilter): Promise<JobRunRow[]> {
      const rows = await prisma.jobRun.findMany({
        where: {
          ...(f.job ? { job: f.job } : {}),
          ...(f.status ? { status: f.status } : {}),
          ...(f.trigger ? { trigger: f.trigger } : {}),
          ...(f.before ? { id: { lt: f.before } } : {}),
        },
        orderBy: { id: 'desc' },
        take: f.limit,
      });
      return rows.map(toRow);
    },

    /** the newest run of each job, and its active one if any */
    async latestByJob(jobs: string[]): Promise<Map<string, { last?: JobRunRow; active?: JobRunRow; lastSuccessAt?: Date }>> {
      const out = new Map<string, { last?: JobRunRow; active?: JobRunRow; lastSuccessAt?: Date }>();
      if (!jobs.length) return out;
      const [last, active, success] = await Promise.all([
        prisma.jobRun.findMany({ where: { job: { in: jobs } }, orderBy: [{ job: 'asc' }, { id: 'desc' }], distinct: ['job'] }),
        prisma.jobRun.findMany({ where: { job: { in: jobs }, status: { in: ACTIVE } }, orderBy: [{ job: 'asc' }, { id: 'desc' }], distinct: ['job'] }),
        prisma.jobRun.groupBy({ by: ['job'], where: { job: { in: jobs }, status: 'succeeded' }, _max: { finishedAt: true } }),
      ]);
      for (const j of jobs) out.set(j, {});
      for (const r of last) out.get(r.job)!.last = toRow(r);
      for (const r of active) out.get(r.job)!.active = toRow(r);
      for (const s of success) if (s._max.finishedAt) out.get(s.job)!.lastSuccessAt = s._max.finishedAt;
      return out;
    },

    async pausedJobs(): Promise<Map<string, { paused: boolean; updatedAt: Date; updatedBy: number | null }>> {
      const rows = await prisma.jobState.findMany();
      return new Map(rows.map((r) => [r.job, { paused: r.paused, updatedAt: r.updatedAt, updatedBy: r.updatedBy }]));
    },

    async isPaused(job: string): Promise<boolean> {
      const r = await prisma.jobState.findUnique({ where: { job } });
      return r?.paused ?? false;
    },

    async setPaused(job: string, paused: boolean, by: number | undefined): Promise<{ paused: boolean; updatedAt: Date; updatedBy: number | null }> {
      const r = await prisma.jobState.upsert({
        where: { job },
        create: { job, paused, updatedBy: by ?? null },
        update: { paused, updatedBy: by ?? null },
      });
      return { paused: r.paused, updatedAt: r.updatedAt, updatedBy: r.updatedBy };
    },

    /** whether any session holds the leader lock (a single bigint key: classid 0, objid key, objsubid 1) */
    async leaderPresent(lockKey: number): Promise<boolean> {
      const rows = await prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND classid = 0 AND objid = ${lockKey}::int::oid AND objsubid = 1 AND granted`;
      return (rows[0]?.n ?? 0) > 0;
    },
  };
}

export type SchedulerRepo = ReturnType<typeof createSchedulerRepo>;
