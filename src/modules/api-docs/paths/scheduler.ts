/** /api/jobs (administrators) and the original gateway's /prediction/train|score|predict triggers. */
import { z } from 'zod';
import { PREDICTION_TRIGGERS, schedulerSchemas as s } from '../../scheduler/index.js';
import type { DocRoute } from '../openapi.js';

const iso = z.string().openapi({ format: 'date-time' });
const status = z.enum(s.JOB_STATUSES);

const runExample = {
  id: 95,
  job: 'retrain',
  trigger: 'manual',
  params: {},
  status: 'running',
  queuedAt: '2026-11-29T18:50:00.000Z',
  startedAt: '2026-11-29T18:50:00.050Z',
  finishedAt: null,
  durationMs: null,
  progress: 0.35,
  progressMessage: 'training random-forest (3/7)',
  error: null,
  result: null,
  startedById: 1,
  instanceId: '0b7f3f0c-1d2e-4c3e-9a57-5f0c2a1e8d1b',
  cancelRequested: false,
  scheduledFor: null,
  heartbeatAt: '2026-11-29T18:50:10.000Z',
};
const run = z
  .object({
    id: z.number().int(),
    job: z.string(),
    trigger: z.enum(s.JOB_TRIGGERS),
    params: z.record(z.string(), z.unknown()),
    status,
    queuedAt: iso,
    startedAt: iso.nullable(),
    finishedAt: iso.nullable(),
    durationMs: z.number().nullable(),
    progress: z.number().openapi({ description: '0..1' }),
    progressMessage: z.string().nullable(),
    error: z.string().nullable(),
    result: z.unknown(),
    startedById: z.number().int().nullable(),
    instanceId: z.string().nullable(),
    cancelRequested: z.boolean(),
    scheduledFor: iso.nullable(),
    heartbeatAt: iso.nullable(),
  })
  .openapi('JobRun');

const job = z.object({
  name: z.string(),
  description: z.string(),
  schedule: z.string().nullable(),
  timezone: z.string(),
  paused: z.boolean(),
  pausedAt: iso.nullable(),
  pausedBy: z.number().int().nullable(),
  nextRunAt: iso.nullable(),
  scheduledHere: z.boolean(),
  runOnStartup: z.boolean(),
  paramScoped: z.boolean(),
  lastRun: run.nullable(),
  activeRun: run.nullable(),
});

const triggered = z
  .object({
    message: z.string(),
    run_id: z.number().int(),
    job_run_id: z.number().int(),
    job: z.string(),
    status,
    alreadyRunning: z.boolean(),
    url: z.string(),
  })
  .openapi('JobTriggered');
const triggeredExample = { message: 'Training started (run 95)', run_id: 95, job_run_id: 95, job: 'retrain', status: 'queued', alreadyRunning: false, url: '/api/jobs/95' };

const LABEL: Record<string, string> = { train: 'Retrain the models', score: 'Score past predictions against the candles that closed since', predict: 'Predict the next close of every tracked pair' };

export const schedulerPaths: DocRoute[] = [
  {
    method: 'get',
    path: '/jobs',
    tag: 'jobs',
    summary: 'The scheduler, its jobs and their runs (newest first, paged by cursor)',
    access: 'admin',
    query: s.listQuery,
    responses: {
      200: {
        description: 'Jobs and runs',
        schema: z.object({
          scheduler: z.object({ enabled: z.boolean(), instanceId: z.string(), isLeader: z.boolean(), leaderPresent: z.boolean(), timezone: z.string(), activeRunsHere: z.array(z.number().int()) }),
          jobs: z.array(job),
          runs: z.array(run),
          nextCursor: z.number().int().nullable(),
        }),
        example: {
          scheduler: { enabled: true, instanceId: runExample.instanceId, isLeader: true, leaderPresent: true, timezone: 'UTC', activeRunsHere: [95] },
          jobs: [{ name: 'retrain', description: 'Retrain the default model suite', schedule: '0 2 * * *', timezone: 'UTC', paused: false, pausedAt: null, pausedBy: null, nextRunAt: '2026-11-30T02:00:00.000Z', scheduledHere: true, runOnStartup: false, paramScoped: true, lastRun: null, activeRun: runExample }],
          runs: [runExample],
          nextCursor: null,
        },
      },
    },
  },
  {
    method: 'get',
    path: '/jobs/:id',
    tag: 'jobs',
    summary: 'One run, with its progress',
    access: 'admin',
    params: s.runIdParam,
    responses: { 200: { description: 'The run', schema: z.object({ run }), example: { run: runExample } } },
    errors: [404],
  },
  {
    method: 'post',
    path: '/jobs/:id/cancel',
    tag: 'jobs',
    summary: 'Cancel a queued or running run',
    access: 'admin',
    params: s.runIdParam,
    responses: { 202: { description: 'Cancelled, or being cancelled', schema: z.object({ message: z.string(), run }), example: { message: 'Cancelling run 95', run: { ...runExample, cancelRequested: true } } } },
    errors: [404, 409],
  },
  {
    method: 'post',
    path: '/jobs/:name/run',
    tag: 'jobs',
    summary: 'Run a job now (202 with the run to follow; the running run if one is going)',
    access: 'admin',
    params: s.jobNameParam,
    body: s.runJobBody,
    bodyRequired: false,
    bodyExample: { params: { pair: 'XBTUSD', interval: '1d' } },
    responses: { 202: { description: 'Started', headers: { Location: 'the run' }, schema: triggered, example: triggeredExample } },
    errors: [404, 409],
  },
  ...(['pause', 'resume'] as const).map(
    (action): DocRoute => ({
      method: 'post',
      path: `/jobs/:name/${action}`,
      tag: 'jobs',
      summary: action === 'pause' ? "Pause a job's schedule (manual runs still work)" : "Resume a paused job's schedule",
      access: 'admin',
      params: s.jobNameParam,
      responses: {
        200: {
          description: action === 'pause' ? 'Paused' : 'Resumed',
          schema: z.object({ message: z.string(), paused: z.boolean(), updatedAt: iso, updatedBy: z.number().int().nullable() }),
          example: { message: action === 'pause' ? 'Job retrain paused: scheduled ticks are skipped until it is resumed (manual triggers still run)' : 'Job retrain resumed', paused: action === 'pause', updatedAt: '2026-11-29T18:51:00.000Z', updatedBy: 1 },
        },
      },
      errors: [404],
    }),
  ),
  ...Object.keys(PREDICTION_TRIGGERS).map(
    (action): DocRoute => ({
      method: 'post',
      path: `/prediction/${action}`,
      tag: 'prediction',
      summary: `${LABEL[action] ?? action} (starts the job; 202 with the run to follow)`,
      description: 'The body, if any, is the job parameters, e.g. {"pair": "XBTUSD", "interval": "1d"}.',
      access: 'admin',
      original: true,
      body: s.triggerBody,
      bodyRequired: false,
      bodyExample: { pair: 'XBTUSD', interval: '1d' },
      responses: { 202: { description: 'Started (the original answered {message})', headers: { Location: 'the run' }, schema: triggered, example: triggeredExample } },
      errors: [409],
    }),
  ),
];
