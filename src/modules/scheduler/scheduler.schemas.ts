/** zod schemas of the scheduler's HTTP inputs and the JSON shapes it answers with. */
import { z } from 'zod';
import type { JobRunRow } from './scheduler.repo.js';
import type { JobSummary, LaunchOutcome } from './scheduler.service.js';

import { JOB_STATUSES, JOB_TRIGGERS } from '../../platform/jobs.js';

export { JOB_STATUSES, JOB_TRIGGERS };

export const jobNameParam = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, { message: 'must be a job name such as "retrain"' }),
});

export const runIdParam = z.object({
  id: z.coerce
    .number({ message: 'must be a run id (a whole number)' })
    .int({ message: 'must be a run id (a whole number)' })
    .positive({ message: 'must be a run id (a whole number)' })
    .max(2 ** 31 - 1, { message: 'must be a run id (a whole number)' }),
});

const params = z.record(z.string(), z.unknown(), { message: 'must be a JSON object' });

/** POST /jobs/:name/run: `{ "params": { ... } }`, or no body */
export const runJobBody = z
  .object({ params: params.optional() })
  .optional()
  .transform((b) => b?.params ?? {});

/** POST /prediction/train|score|predict: the body itself, if any, is the job's parameters */
export const triggerBody = params.optional().transform((b) => b ?? {});

export const listQuery = z.object({
  job: jobNameParam.shape.name.optional(),
  status: z.enum(JOB_STATUSES, { message: `must be one of ${JOB_STATUSES.join(', ')}` }).optional(),
  trigger: z.enum(JOB_TRIGGERS, { message: `must be one of ${JOB_TRIGGERS.join(', ')}` }).optional(),
  limit: z.coerce.number({ message: 'must be a whole number from 1 to 200' }).int().min(1, { message: 'must be a whole number from 1 to 200' }).max(200, { message: 'must be a whole number from 1 to 200' }).default(50),
  cursor: runIdParam.shape.id.optional(),
});

export type ListQuery = z.infer<typeof listQuery>;

/** The JSON of a run: the stored record, dates as ISO strings (Express does that). */
export function runJson(r: JobRunRow) {
  return {
    id: r.id,
    job: r.job,
    trigger: r.trigger,
    params: r.params,
    status: r.status,
    queuedAt: r.queuedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    progress: r.progress,
    progressMessage: r.progressMessage,
    error: r.error,
    result: r.result,
    startedById: r.startedById,
    instanceId: r.instanceId,
    cancelRequested: r.cancelRequested,
    scheduledFor: r.scheduledFor,
    heartbeatAt: r.heartbeatAt,
  };
}

export function jobJson(j: JobSummary) {
  return { ...j, lastRun: j.lastRun && runJson(j.lastRun), activeRun: j.activeRun && runJson(j.activeRun) };
}

const LABELS: Record<string, string> = { retrain: 'Training', score: 'Scoring', predict: 'Prediction' };

/** The 202 answer of a trigger: the original API's `{message}` plus the run to follow. */
export function triggerJson(o: LaunchOutcome, base: string) {
  const label = LABELS[o.job] ?? `Job ${o.job}`;
  return {
    message: o.alreadyRunning ? `${label} is already queued or running (run ${o.runId})` : `${label} started (run ${o.runId})`,
    run_id: o.runId,
    job_run_id: o.runId,
    job: o.job,
    status: o.status,
    alreadyRunning: o.alreadyRunning,
    url: `${base}/jobs/${o.runId}`,
  };
}
