/**
 * The only file of the predictions module that touches the database: the model registry
 * (experiments, model runs, tunings) and the predictions. List and metric reads are raw SQL
 * with fixed text and positional parameters, so JSON metric fields are pulled out by Postgres
 * and big JSON columns (the artifact, the out-of-sample points) are never read by accident.
 */
import type { Prisma, PrismaClient } from '../../db/prisma.js';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type RunKind = 'train' | 'trial';
export type PredictionKind = 'live' | 'backtest';

/** JSON as Postgres will store it: NaN and Infinity become null (JSON has neither). */
export function jsonValue(v: unknown): Prisma.InputJsonValue {
  return JSON.parse(JSON.stringify(v ?? null)) as Prisma.InputJsonValue;
}

export interface ExperimentRow {
  id: number;
  pairId: number;
  interval: number;
  target: string;
  features: unknown;
  createdAt: Date;
}

/** Headline metrics pulled out of a run's metrics JSON (price metrics; naive on the same points). */
export interface RunScores {
  trainMse: number | null;
  trainR2: number | null;
  testMse: number | null;
  testR2: number | null;
  testMae: number | null;
  testSkill: number | null;
  naiveTrainMse: number | null;
  naiveTrainR2: number | null;
  naiveTestMse: number | null;
  naiveTestR2: number | null;
  naiveTestMae: number | null;
  wfMae: number | null;
  wfRmse: number | null;
  wfSkill: number | null;
  naiveWfMae: number | null;
}

export interface RunSummary {
  id: number;
  experimentId: number;
  pairId: number;
  altname: string;
  pairKey: string;
  interval: number;
  algorithm: string;
  params: Record<string, unknown>;
  status: RunStatus;
  kind: RunKind;
  tuningId: number | null;
  dataFrom: Date | null;
  dataTo: Date | null;
  dataRows: number | null;
  fingerprint: string | null;
  codeVersion: string | null;
  durationMs: number | null;
  progress: number;
  error: string | null;
  isBest: boolean;
  promotedById: number | null;
  promotedAt: Date | null;
  jobRunId: number | null;
  createdById: number | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** walk-forward (pooled out-of-sample) price MAE: what drift checks compare live MAE with */
  testMae: number | null;
  /** holdout test price MSE: what the best model is chosen by */
  testMse: number | null;
  scores: RunScores;
}

export interface RunDetail extends RunSummary {
  metrics: unknown;
  featureSet: unknown;
  featureRanking: unknown;
  residuals: unknown;
  artifactBytes: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const SCORE_COLUMNS = `
  (r.metrics #>> '{train,model,price,mse}')::float8 AS "trainMse",
  (r.metrics #>> '{train,model,price,r2}')::float8 AS "trainR2",
  (r.metrics #>> '{test,model,price,mse}')::float8 AS "scoreTestMse",
  (r.metrics #>> '{test,model,price,r2}')::float8 AS "testR2",
  (r.metrics #>> '{test,model,price,mae}')::float8 AS "scoreTestMae",
  (r.metrics #>> '{test,model,skillVsNaive}')::float8 AS "testSkill",
  (r.metrics #>> '{train,naive,price,mse}')::float8 AS "naiveTrainMse",
  (r.metrics #>> '{train,naive,price,r2}')::float8 AS "naiveTrainR2",
  (r.metrics #>> '{test,naive,price,mse}')::float8 AS "naiveTestMse",
  (r.metrics #>> '{test,naive,price,r2}')::float8 AS "naiveTestR2",
  (r.metrics #>> '{test,naive,price,mae}')::float8 AS "naiveTestMae",
  (r.metrics #>> '{walkForward,model,price,mae}')::float8 AS "wfMae",
  (r.metrics #>> '{walkForward,model,price,rmse}')::float8 AS "wfRmse",
  (r.metrics #>> '{walkForward,model,skillVsNaive}')::float8 AS "wfSkill",
  (r.metrics #>> '{walkForward,naive,price,mae}')::float8 AS "naiveWfMae"`;

const SUMMARY_COLUMNS = `
  r.id, r."experimentId", e."pairId", p.altname, p.key AS "pairKey", e."interval", r.algorithm, r.params, r.status, r.kind,
  r."tuningId", r."dataFrom", r."dataTo", r."dataRows", r.fingerprint, r."codeVersion", r."durationMs", r.progress, r.error,
  r."isBest", r."promotedById", r."promotedAt", r."jobRunId", r."createdById", r."createdAt", r."finishedAt", r."testMae", r."testMse",
  ${SCORE_COLUMNS}`;

const FROM_RUNS = `FROM model_runs r JOIN experiments e ON e.id = r."experimentId" JOIN pairs p ON p.id = e."pairId"`;

type RawRun = Record<string, unknown>;

function toSummary(r: RawRun): RunSummary {
  return {
    id: Number(r.id),
    experimentId: Number(r.experimentId),
    pairId: Number(r.pairId),
    altname: String(r.altname),
    pairKey: String(r.pairKey),
    interval: Number(r.interval),
    algorithm: String(r.algorithm),
    params: (r.params ?? {}) as Record<string, unknown>,
    status: r.status as RunStatus,
    kind: r.kind as RunKind,
    tuningId: num(r.tuningId),
    dataFrom: (r.dataFrom as Date | null) ?? null,
    dataTo: (r.dataTo as Date | null) ?? null,
    dataRows: num(r.dataRows),
    fingerprint: (r.fingerprint as string | null) ?? null,
    codeVersion: (r.codeVersion as string | null) ?? null,
    durationMs: num(r.durationMs),
    progress: Number(r.progress ?? 0),
    error: (r.error as string | null) ?? null,
    isBest: Boolean(r.isBest),
    promotedById: num(r.promotedById),
    promotedAt: (r.promotedAt as Date | null) ?? null,
    jobRunId: num(r.jobRunId),
    createdById: num(r.createdById),
    createdAt: r.createdAt as Date,
    finishedAt: (r.finishedAt as Date | null) ?? null,
    testMae: num(r.testMae),
    testMse: num(r.testMse),
    scores: {
      trainMse: num(r.trainMse),
      trainR2: num(r.trainR2),
      testMse: num(r.scoreTestMse),
      testR2: num(r.testR2),
      testMae: num(r.scoreTestMae),
      testSkill: num(r.testSkill),
      naiveTrainMse: num(r.naiveTrainMse),
      naiveTrainR2: num(r.naiveTrainR2),
      naiveTestMse: num(r.naiveTestMse),
      naiveTestR2: num(r.naiveTestR2),
      naiveTestMae: num(r.naiveTestMae),
      wfMae: num(r.wfMae),
      wfRmse: num(r.wfRmse),
      wfSkill: num(r.wfSkill),
      naiveWfMae: num(r.naiveWfMae),
    },
  };
}

export interface RunFilter {
  pairId?: number;
  interval?: number;
  algorithm?: string;
  status?: RunStatus;
  kind?: RunKind;
  tuningId?: number;
  best?: boolean;
  /** runs with an id below this (the cursor of the next page) */
  before?: number;
  limit: number;
}

export interface NewRun {
  experimentId: number;
  algorithm: string;
  params: Record<string, unknown>;
  kind: RunKind;
  status: RunStatus;
  tuningId?: number | null;
  jobRunId?: number | null;
  createdById?: number | null;
  codeVersion?: string | null;
}

export interface RunResultUpdate {
  status: RunStatus;
  params?: Record<string, unknown>;
  dataFrom?: Date | null;
  dataTo?: Date | null;
  dataRows?: number | null;
  fingerprint?: string | null;
  metrics?: unknown;
  featureSet?: unknown;
  featureRanking?: unknown;
  residuals?: unknown;
  artifact?: unknown;
  durationMs?: number | null;
  progress?: number;
  error?: string | null;
  testMae?: number | null;
  testMse?: number | null;
  finishedAt?: Date | null;
}

export interface PredictionRow {
  id: string;
  pairId: number;
  interval: number;
  modelRunId: number | null;
  algorithm: string;
  kind: PredictionKind;
  madeAt: Date;
  baseTime: Date;
  baseClose: number;
  targetTime: Date;
  predictedReturn: number;
  value: number;
  lower80: number;
  upper80: number;
  lower95: number;
  upper95: number;
  naiveValue: number;
  actual: number | null;
  error: number | null;
  absError: number | null;
  naiveAbsError: number | null;
  scoredAt: Date | null;
}

export interface NewPrediction {
  pairId: number;
  interval: number;
  modelRunId: number;
  algorithm: string;
  kind: PredictionKind;
  madeAt: Date;
  baseTime: Date;
  baseClose: number;
  targetTime: Date;
  predictedReturn: number;
  value: number;
  lower80: number;
  upper80: number;
  lower95: number;
  upper95: number;
  naiveValue: number;
  actual?: number | null;
  error?: number | null;
  absError?: number | null;
  naiveAbsError?: number | null;
  scoredAt?: Date | null;
}

export interface LiveMetricsRow {
  modelRunId: number | null;
  algorithm: string;
  n: number;
  mae: number | null;
  rmse: number | null;
  naiveMae: number | null;
  naiveRmse: number | null;
  calls: number;
  hits: number;
  firstTarget: Date | null;
  lastTarget: Date | null;
}

export interface TuningRow {
  id: number;
  experimentId: number;
  pairId: number;
  altname: string;
  interval: number;
  algorithm: string;
  method: string;
  budget: number;
  status: RunStatus;
  bestRunId: number | null;
  error: string | null;
  jobRunId: number | null;
  createdById: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  spec: unknown;
  progress: number;
  summary: unknown;
}

type PredictionModel = {
  id: bigint;
  pairId: number;
  interval: number;
  modelRunId: number | null;
  algorithm: string;
  kind: string;
  madeAt: Date;
  baseTime: Date;
  baseClose: number;
  targetTime: Date;
  predictedReturn: number;
  value: number;
  lower80: number;
  upper80: number;
  lower95: number;
  upper95: number;
  naiveValue: number;
  actual: number | null;
  error: number | null;
  absError: number | null;
  naiveAbsError: number | null;
  scoredAt: Date | null;
};

function toPrediction(p: PredictionModel): PredictionRow {
  return { ...p, id: p.id.toString(), kind: p.kind as PredictionKind };
}

const TUNING_SELECT = `
  SELECT t.id, t."experimentId", e."pairId", p.altname, e."interval", t.algorithm, t.method, t.budget, t.status, t."bestRunId", t.error,
         t."jobRunId", t."createdById", t."createdAt", t."startedAt", t."finishedAt", t.spec, t.progress, t.summary
    FROM tunings t JOIN experiments e ON e.id = t."experimentId" JOIN pairs p ON p.id = e."pairId"`;

function toTuning(r: RawRun): TuningRow {
  return {
    id: Number(r.id),
    experimentId: Number(r.experimentId),
    pairId: Number(r.pairId),
    altname: String(r.altname),
    interval: Number(r.interval),
    algorithm: String(r.algorithm),
    method: String(r.method),
    budget: Number(r.budget),
    status: r.status as RunStatus,
    bestRunId: num(r.bestRunId),
    error: (r.error as string | null) ?? null,
    jobRunId: num(r.jobRunId),
    createdById: num(r.createdById),
    createdAt: r.createdAt as Date,
    startedAt: (r.startedAt as Date | null) ?? null,
    finishedAt: (r.finishedAt as Date | null) ?? null,
    spec: r.spec ?? null,
    progress: Number(r.progress ?? 0),
    summary: r.summary ?? null,
  };
}

export const CACHE_CHANNEL = 'candlecast_cache';

export function createPredictionsRepo(prisma: PrismaClient) {
  async function runSummaries(where: string, params: unknown[], tail = ''): Promise<RunSummary[]> {
    const rows = await prisma.$queryRawUnsafe<RawRun[]>(`SELECT ${SUMMARY_COLUMNS} ${FROM_RUNS} WHERE ${where} ${tail}`, ...params);
    return rows.map(toSummary);
  }

  return {
    // ------------------------------------------------------------ experiments

    async ensureExperiment(pairId: number, interval: number, target: string, features: unknown): Promise<ExperimentRow> {
      return prisma.experiment.upsert({
        where: { pairId_interval_target: { pairId, interval, target } },
        create: { pairId, interval, target, features: jsonValue(features) },
        update: {},
      });
    },

    async experiment(pairId: number, interval: number, target: string): Promise<ExperimentRow | null> {
      return prisma.experiment.findUnique({ where: { pairId_interval_target: { pairId, interval, target } } });
    },

    /** Every experiment whose best run is set, with that run's id and drift reference. */
    async experimentsWithBest(): Promise<{ experimentId: number; pairId: number; altname: string; interval: number; bestRunId: number; algorithm: string; testMae: number | null }[]> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `SELECT e.id AS "experimentId", e."pairId", p.altname, e."interval", r.id AS "bestRunId", r.algorithm, r."testMae"
           FROM experiments e JOIN pairs p ON p.id = e."pairId" JOIN model_runs r ON r."experimentId" = e.id AND r."isBest"
          ORDER BY e.id`,
      );
      return rows.map((r) => ({
        experimentId: Number(r.experimentId),
        pairId: Number(r.pairId),
        altname: String(r.altname),
        interval: Number(r.interval),
        bestRunId: Number(r.bestRunId),
        algorithm: String(r.algorithm),
        testMae: num(r.testMae),
      }));
    },

    // ------------------------------------------------------------ runs

    async createRuns(runs: NewRun[]): Promise<number[]> {
      if (runs.length === 0) return [];
      const created = await prisma.modelRun.createManyAndReturn({
        data: runs.map((r) => ({
          experimentId: r.experimentId,
          algorithm: r.algorithm,
          params: jsonValue(r.params),
          kind: r.kind,
          status: r.status,
          tuningId: r.tuningId ?? null,
          jobRunId: r.jobRunId ?? null,
          createdById: r.createdById ?? null,
          codeVersion: r.codeVersion ?? null,
        })),
        select: { id: true },
      });
      return created.map((c) => c.id);
    },

    async setRunRunning(id: number): Promise<void> {
      await prisma.modelRun.updateMany({ where: { id, status: 'queued' }, data: { status: 'running' } });
    },

    async setRunProgress(id: number, progress: number): Promise<void> {
      await prisma.modelRun.updateMany({ where: { id, status: 'running' }, data: { progress } });
    },

    async finishRun(id: number, u: RunResultUpdate): Promise<void> {
      await prisma.modelRun.update({
        where: { id },
        data: {
          status: u.status,
          ...(u.params !== undefined ? { params: jsonValue(u.params) } : {}),
          ...(u.dataFrom !== undefined ? { dataFrom: u.dataFrom } : {}),
          ...(u.dataTo !== undefined ? { dataTo: u.dataTo } : {}),
          ...(u.dataRows !== undefined ? { dataRows: u.dataRows } : {}),
          ...(u.fingerprint !== undefined ? { fingerprint: u.fingerprint } : {}),
          ...(u.metrics !== undefined ? { metrics: jsonValue(u.metrics) } : {}),
          ...(u.featureSet !== undefined ? { featureSet: jsonValue(u.featureSet) } : {}),
          ...(u.featureRanking !== undefined ? { featureRanking: jsonValue(u.featureRanking) } : {}),
          ...(u.residuals !== undefined ? { residuals: jsonValue(u.residuals) } : {}),
          ...(u.artifact !== undefined ? { artifact: jsonValue(u.artifact) } : {}),
          ...(u.durationMs !== undefined ? { durationMs: u.durationMs === null ? null : Math.round(u.durationMs) } : {}),
          ...(u.progress !== undefined ? { progress: u.progress } : {}),
          ...(u.error !== undefined ? { error: u.error } : {}),
          ...(u.testMae !== undefined ? { testMae: u.testMae } : {}),
          ...(u.testMse !== undefined ? { testMse: u.testMse } : {}),
          finishedAt: u.finishedAt ?? new Date(),
        },
      });
    },

    /** Closes the given runs that have not finished (cancelled or failed before or while running). */
    async closeRuns(ids: number[], status: 'cancelled' | 'failed', error: string, at: Date): Promise<number> {
      if (ids.length === 0) return 0;
      const r = await prisma.modelRun.updateMany({ where: { id: { in: ids }, status: { in: ['queued', 'running'] } }, data: { status, error, finishedAt: at } });
      return r.count;
    },

    async createTrials(rows: (NewRun & RunResultUpdate)[]): Promise<number[]> {
      if (rows.length === 0) return [];
      const created = await prisma.modelRun.createManyAndReturn({
        data: rows.map((r) => ({
          experimentId: r.experimentId,
          algorithm: r.algorithm,
          params: jsonValue(r.params),
          kind: r.kind,
          status: r.status,
          tuningId: r.tuningId ?? null,
          jobRunId: r.jobRunId ?? null,
          createdById: r.createdById ?? null,
          codeVersion: r.codeVersion ?? null,
          dataFrom: r.dataFrom ?? null,
          dataTo: r.dataTo ?? null,
          dataRows: r.dataRows ?? null,
          fingerprint: r.fingerprint ?? null,
          metrics: r.metrics === undefined ? undefined : jsonValue(r.metrics),
          durationMs: r.durationMs == null ? null : Math.round(r.durationMs),
          progress: r.progress ?? 1,
          error: r.error ?? null,
          testMae: r.testMae ?? null,
          testMse: r.testMse ?? null,
          finishedAt: r.finishedAt ?? new Date(),
        })),
        select: { id: true },
      });
      return created.map((c) => c.id);
    },

    async runSummary(id: number): Promise<RunSummary | null> {
      return (await runSummaries('r.id = $1', [id]))[0] ?? null;
    },

    async runDetail(id: number): Promise<RunDetail | null> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `SELECT ${SUMMARY_COLUMNS}, r.metrics, r."featureSet", r."featureRanking", r.residuals,
                CASE WHEN r.artifact IS NULL THEN NULL ELSE octet_length(r.artifact::text) END AS "artifactBytes"
           ${FROM_RUNS} WHERE r.id = $1`,
        id,
      );
      const r = rows[0];
      if (!r) return null;
      return { ...toSummary(r), metrics: r.metrics ?? null, featureSet: r.featureSet ?? null, featureRanking: r.featureRanking ?? null, residuals: r.residuals ?? null, artifactBytes: num(r.artifactBytes) };
    },

    async listRuns(f: RunFilter): Promise<RunSummary[]> {
      return runSummaries(
        `($1::int IS NULL OR e."pairId" = $1) AND ($2::int IS NULL OR e."interval" = $2) AND ($3::text IS NULL OR r.algorithm = $3)
         AND ($4::text IS NULL OR r.status = $4) AND ($5::text IS NULL OR r.kind = $5) AND ($6::int IS NULL OR r."tuningId" = $6)
         AND ($7::boolean IS NULL OR r."isBest" = $7) AND ($8::int IS NULL OR r.id < $8)`,
        [f.pairId ?? null, f.interval ?? null, f.algorithm ?? null, f.status ?? null, f.kind ?? null, f.tuningId ?? null, f.best ?? null, f.before ?? null, f.limit],
        'ORDER BY r.id DESC LIMIT $9',
      );
    },

    async runsOfTuning(tuningId: number): Promise<RunSummary[]> {
      return runSummaries('r."tuningId" = $1', [tuningId], 'ORDER BY r.id ASC');
    },

    async bestRun(experimentId: number): Promise<RunSummary | null> {
      return (await runSummaries('r."experimentId" = $1 AND r."isBest"', [experimentId], 'LIMIT 1'))[0] ?? null;
    },

    /** The newest succeeded naive training run: the baseline predicted beside the best model. */
    async latestNaiveRun(experimentId: number): Promise<RunSummary | null> {
      return (
        (await runSummaries(`r."experimentId" = $1 AND r.algorithm = 'naive' AND r.kind = 'train' AND r.status = 'succeeded' AND r.artifact IS NOT NULL`, [experimentId], 'ORDER BY r.id DESC LIMIT 1'))[0] ?? null
      );
    },

    /** Succeeded training runs on exactly the same data: the candidates for best. */
    async candidates(experimentId: number, fingerprint: string): Promise<RunSummary[]> {
      return runSummaries(
        `r."experimentId" = $1 AND r.fingerprint = $2 AND r.kind = 'train' AND r.status = 'succeeded' AND r.artifact IS NOT NULL`,
        [experimentId, fingerprint],
        'ORDER BY r.id ASC',
      );
    },

    /** Makes `runId` the one best run of its experiment. */
    async setBest(experimentId: number, runId: number, promotedById: number | null, at: Date): Promise<void> {
      await prisma.$transaction([
        prisma.modelRun.updateMany({ where: { experimentId, isBest: true, NOT: { id: runId } }, data: { isBest: false } }),
        prisma.modelRun.update({
          where: { id: runId },
          data: promotedById === null ? { isBest: true, promotedById: null, promotedAt: null } : { isBest: true, promotedById, promotedAt: at },
        }),
      ]);
    },

    async artifact(runId: number): Promise<unknown> {
      const r = await prisma.modelRun.findUnique({ where: { id: runId }, select: { artifact: true } });
      return r?.artifact ?? null;
    },

    /** Version of a run among its experiment's succeeded training runs of the same algorithm (1, 2, ...). */
    async runVersion(run: { id: number; experimentId: number; algorithm: string }): Promise<number> {
      return prisma.modelRun.count({ where: { experimentId: run.experimentId, algorithm: run.algorithm, kind: 'train', status: 'succeeded', id: { lte: run.id } } });
    },

    /** Every succeeded training run of an experiment with its version per algorithm. */
    async versions(experimentId: number): Promise<(RunSummary & { version: number })[]> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `SELECT ${SUMMARY_COLUMNS}, row_number() OVER (PARTITION BY r.algorithm ORDER BY r.id)::int AS version
           ${FROM_RUNS} WHERE r."experimentId" = $1 AND r.kind = 'train' AND r.status = 'succeeded'
          ORDER BY r.algorithm, r.id`,
        experimentId,
      );
      return rows.map((r) => ({ ...toSummary(r), version: Number(r.version) }));
    },

    /**
     * Runs left queued or running by a job run that has ended (the process died or the run was
     * closed by another instance): they are marked failed so nothing shows as running forever.
     * Reads the scheduler's job_runs table, read-only.
     */
    async sweepInterrupted(message: string, at: Date): Promise<{ runs: number; tunings: number }> {
      const runs = await prisma.$executeRawUnsafe(
        `UPDATE model_runs m SET status = 'failed', error = $1, "finishedAt" = $2
          WHERE m.status IN ('queued', 'running') AND m."jobRunId" IS NOT NULL
            AND EXISTS (SELECT 1 FROM job_runs j WHERE j.id = m."jobRunId" AND j.status IN ('succeeded', 'failed', 'cancelled'))`,
        message,
        at,
      );
      const tunings = await prisma.$executeRawUnsafe(
        `UPDATE tunings t SET status = 'failed', error = $1, "finishedAt" = $2
          WHERE t.status IN ('queued', 'running') AND t."jobRunId" IS NOT NULL
            AND EXISTS (SELECT 1 FROM job_runs j WHERE j.id = t."jobRunId" AND j.status IN ('succeeded', 'failed', 'cancelled'))`,
        message,
        at,
      );
      return { runs, tunings };
    },

    // ------------------------------------------------------------ tunings

    async createTuning(data: { experimentId: number; algorithm: string; method: string; budget: number; spec: unknown; createdById: number | null }): Promise<number> {
      const t = await prisma.tuning.create({
        data: { experimentId: data.experimentId, algorithm: data.algorithm, method: data.method, budget: data.budget, spec: jsonValue(data.spec), createdById: data.createdById, status: 'queued' },
        select: { id: true },
      });
      return t.id;
    },

    async startTuning(id: number, jobRunId: number | null, at: Date): Promise<boolean> {
      const r = await prisma.tuning.updateMany({ where: { id, status: 'queued' }, data: { status: 'running', jobRunId, startedAt: at } });
      return r.count === 1;
    },

    async setTuningProgress(id: number, progress: number): Promise<void> {
      await prisma.tuning.updateMany({ where: { id, status: 'running' }, data: { progress } });
    },

    async finishTuning(id: number, u: { status: RunStatus; bestRunId?: number | null; error?: string | null; summary?: unknown; at: Date }): Promise<void> {
      await prisma.tuning.update({
        where: { id },
        data: {
          status: u.status,
          ...(u.bestRunId !== undefined ? { bestRunId: u.bestRunId } : {}),
          ...(u.error !== undefined ? { error: u.error } : {}),
          ...(u.summary !== undefined ? { summary: jsonValue(u.summary) } : {}),
          ...(u.status === 'succeeded' ? { progress: 1 } : {}),
          finishedAt: u.at,
        },
      });
    },

    async tuning(id: number): Promise<TuningRow | null> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(`${TUNING_SELECT} WHERE t.id = $1`, id);
      return rows[0] ? toTuning(rows[0]) : null;
    },

    async listTunings(f: { pairId?: number; interval?: number; limit: number; before?: number }): Promise<TuningRow[]> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `${TUNING_SELECT} WHERE ($1::int IS NULL OR e."pairId" = $1) AND ($2::int IS NULL OR e."interval" = $2) AND ($3::int IS NULL OR t.id < $3)
          ORDER BY t.id DESC LIMIT $4`,
        f.pairId ?? null,
        f.interval ?? null,
        f.before ?? null,
        f.limit,
      );
      return rows.map(toTuning);
    },

    /** Best params of the newest succeeded tuning per algorithm of an experiment. */
    async tunedParams(experimentId: number): Promise<Map<string, { tuningId: number; params: Record<string, unknown> }>> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `SELECT DISTINCT ON (t.algorithm) t.algorithm, t.id AS "tuningId", r.params
           FROM tunings t JOIN model_runs r ON r.id = t."bestRunId"
          WHERE t."experimentId" = $1 AND t.status = 'succeeded'
          ORDER BY t.algorithm, t.id DESC`,
        experimentId,
      );
      return new Map(rows.map((r) => [String(r.algorithm), { tuningId: Number(r.tuningId), params: (r.params ?? {}) as Record<string, unknown> }]));
    },

    // ------------------------------------------------------------ predictions

    /** Inserts what is not stored yet (the unique key makes repeats no-ops); returns the new rows. */
    async insertPredictions(rows: NewPrediction[]): Promise<PredictionRow[]> {
      const out: PredictionRow[] = [];
      // chunks keep each statement well under Postgres' 65535 bind parameters (21 per row)
      for (let i = 0; i < rows.length; i += 1000) {
        const created = await prisma.prediction.createManyAndReturn({ data: rows.slice(i, i + 1000), skipDuplicates: true });
        for (const c of created) out.push(toPrediction(c));
      }
      return out;
    },

    /** The newest prediction of a run (by target time). */
    async latestPredictionOfRun(q: { pairId: number; interval: number; kind: PredictionKind; algorithm: string; modelRunId: number }): Promise<PredictionRow | null> {
      const p = await prisma.prediction.findFirst({ where: q, orderBy: { targetTime: 'desc' } });
      return p ? toPrediction(p) : null;
    },

    async predictionAt(q: { pairId: number; interval: number; kind: PredictionKind; algorithm: string; modelRunId?: number; targetTime: Date }): Promise<PredictionRow | null> {
      const p = await prisma.prediction.findFirst({ where: q, orderBy: { id: 'desc' } });
      return p ? toPrediction(p) : null;
    },

    async listPredictions(f: { pairId: number; interval: number; kind: PredictionKind; from?: Date; to?: Date; algorithm?: string; modelRunId?: number; limit: number }): Promise<PredictionRow[]> {
      const rows = await prisma.prediction.findMany({
        where: {
          pairId: f.pairId,
          interval: f.interval,
          kind: f.kind,
          ...(f.algorithm ? { algorithm: f.algorithm } : {}),
          ...(f.modelRunId ? { modelRunId: f.modelRunId } : {}),
          targetTime: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lte: f.to } : {}) },
        },
        orderBy: [{ targetTime: 'asc' }, { id: 'asc' }],
        take: f.limit,
      });
      return rows.map(toPrediction);
    },

    /**
     * Fills actual, error, |error| and the naive |error| of every unscored prediction whose target
     * candle is stored. One statement; running it twice changes nothing.
     */
    async scorePending(at: Date, scope: { pairId?: number; interval?: number } = {}): Promise<{ pairId: number; interval: number; modelRunId: number | null }[]> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `UPDATE predictions p
            SET actual = c.close::float8,
                error = c.close::float8 - p.value,
                "absError" = abs(c.close::float8 - p.value),
                "naiveAbsError" = abs(c.close::float8 - p."naiveValue"),
                "scoredAt" = $1
           FROM candles c
          WHERE p."scoredAt" IS NULL AND c."pairId" = p."pairId" AND c."interval" = p."interval" AND c.time = p."targetTime"
            AND ($2::int IS NULL OR p."pairId" = $2) AND ($3::int IS NULL OR p."interval" = $3)
      RETURNING p."pairId", p."interval", p."modelRunId"`,
        at,
        scope.pairId ?? null,
        scope.interval ?? null,
      );
      return rows.map((r) => ({ pairId: Number(r.pairId), interval: Number(r.interval), modelRunId: num(r.modelRunId) }));
    },

    /** Live error per model run over its scored live predictions (the newest `last` of each, if given). */
    async liveMetrics(pairId: number, interval: number, last?: number): Promise<LiveMetricsRow[]> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `SELECT "modelRunId", algorithm, count(*)::int AS n, avg("absError") AS mae, sqrt(avg(error * error)) AS rmse,
                avg("naiveAbsError") AS "naiveMae", sqrt(avg((actual - "naiveValue") * (actual - "naiveValue"))) AS "naiveRmse",
                (count(*) FILTER (WHERE value <> "baseClose"))::int AS calls,
                (count(*) FILTER (WHERE value <> "baseClose" AND sign(value - "baseClose") = sign(actual - "baseClose")))::int AS hits,
                min("targetTime") AS "firstTarget", max("targetTime") AS "lastTarget"
           FROM (SELECT *, row_number() OVER (PARTITION BY "modelRunId" ORDER BY "targetTime" DESC) AS rn
                   FROM predictions
                  WHERE "pairId" = $1 AND "interval" = $2 AND kind = 'live' AND "scoredAt" IS NOT NULL) s
          WHERE ($3::int IS NULL OR rn <= $3)
          GROUP BY "modelRunId", algorithm
          ORDER BY "modelRunId"`,
        pairId,
        interval,
        last ?? null,
      );
      return rows.map((r) => ({
        modelRunId: num(r.modelRunId),
        algorithm: String(r.algorithm),
        n: Number(r.n),
        mae: num(r.mae),
        rmse: num(r.rmse),
        naiveMae: num(r.naiveMae),
        naiveRmse: num(r.naiveRmse),
        calls: Number(r.calls),
        hits: Number(r.hits),
        firstTarget: (r.firstTarget as Date | null) ?? null,
        lastTarget: (r.lastTarget as Date | null) ?? null,
      }));
    },

    /** MAE of a run's newest `limit` scored live predictions. */
    async recentLiveError(q: { pairId: number; interval: number; algorithm: string; modelRunId: number; limit: number }): Promise<{ n: number; mae: number | null; naiveMae: number | null }> {
      const rows = await prisma.$queryRawUnsafe<RawRun[]>(
        `SELECT count(*)::int AS n, avg("absError") AS mae, avg("naiveAbsError") AS "naiveMae" FROM (
           SELECT "absError", "naiveAbsError" FROM predictions
            WHERE "pairId" = $1 AND "interval" = $2 AND kind = 'live' AND algorithm = $3 AND "modelRunId" = $4 AND "scoredAt" IS NOT NULL
            ORDER BY "targetTime" DESC LIMIT $5) s`,
        q.pairId,
        q.interval,
        q.algorithm,
        q.modelRunId,
        q.limit,
      );
      const r = rows[0];
      return { n: Number(r?.n ?? 0), mae: num(r?.mae), naiveMae: num(r?.naiveMae) };
    },
  };
}

export type PredictionsRepo = ReturnType<typeof createPredictionsRepo>;
