/**
 * The scheduler module: node-cron jobs with run history, manual triggers, no overlap and one
 * leader among instances. src/modules.ts creates it FIRST and hands `jobs` (the Jobs port) to
 * the other modules, which define their jobs on it; it pushes `wiring` LAST, so the scheduler
 * starts after every module and stops before them.
 */
import type { ModuleWiring } from '../../app.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { Jobs } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import type { Metrics } from '../monitoring/index.js';
import { createNodeCron, isValidTimezone, type Cron } from './cron.js';
import { createLeaderElection, type LeaderElection } from './leader.js';
import { createSchedulerRepo } from './scheduler.repo.js';
import { createSchedulerApiRouter, createSchedulerInternalRouter } from './scheduler.routes.js';
import { createSchedulerService, type SchedulerService } from './scheduler.service.js';

export type { SchedulerService, JobSummary, LaunchOutcome, TickOutcome, SchedulerStatus } from './scheduler.service.js';
export type { JobRunRow } from './scheduler.repo.js';
export type { Cron, CronTask, CronSpec } from './cron.js';
export { ManualCron, createNodeCron } from './cron.js';
export { INTERRUPTED_MESSAGE, SHUTDOWN_MESSAGE } from './scheduler.service.js';
export { PREDICTION_TRIGGERS } from './scheduler.routes.js';
/** input schemas, for the OpenAPI document (src/modules/api-docs) */
export * as schedulerSchemas from './scheduler.schemas.js';

export interface SchedulerModuleDeps {
  config: Config;
  log: Logger;
  db: Database;
  metrics: Metrics;
  instanceId: string;
  /** node-cron by default; tests may pass a ManualCron */
  cron?: Cron;
}

export interface Scheduler {
  /** the port other modules define and launch their jobs on */
  jobs: Jobs;
  /** everything else: list, cancel, pause/resume, status (routes, CLI, tests) */
  service: SchedulerService;
  /** the leader election, when SCHEDULER_ENABLED */
  leader: LeaderElection | undefined;
  wiring: ModuleWiring;
}

export function createScheduler(deps: SchedulerModuleDeps): Scheduler {
  const { config, db, metrics, instanceId } = deps;
  const log = deps.log.child({ module: 'scheduler' });
  if (!isValidTimezone(config.CRON_TIMEZONE)) throw new Error(`CRON_TIMEZONE "${config.CRON_TIMEZONE}" is not a time zone this Node.js knows (use an IANA name such as UTC or Europe/Paris)`);
  const service = createSchedulerService({
    repo: createSchedulerRepo(db.prisma),
    cron: deps.cron ?? createNodeCron(log),
    log,
    metrics,
    instanceId,
    settings: {
      enabled: config.SCHEDULER_ENABLED,
      timezone: config.CRON_TIMEZONE,
      heartbeatMs: config.JOB_HEARTBEAT_MS,
      staleAfterMs: config.JOB_STALE_AFTER_MS,
      lockKey: config.LEADER_LOCK_KEY,
      stopWaitMs: Math.max(100, Math.floor(config.SHUTDOWN_TIMEOUT_MS / 2)),
    },
  });
  const leader = config.SCHEDULER_ENABLED
    ? createLeaderElection({
        connectionString: db.connectionString,
        lockKey: config.LEADER_LOCK_KEY,
        retryMs: config.LEADER_RETRY_MS,
        instanceId,
        log,
        onElected: () => service.becomeLeader(),
        onDemoted: (reason) => service.stepDown(reason),
      })
    : undefined;

  const wiring: ModuleWiring = {
    name: 'scheduler',
    api: createSchedulerApiRouter(service),
    internal: createSchedulerInternalRouter(service),
    async start() {
      await service.start();
      await leader?.start();
      log.info({ enabled: config.SCHEDULER_ENABLED, leader: leader?.isLeader() ?? false, instanceId }, 'scheduler started');
    },
    async stop() {
      // Order: no new runs or ticks and abort the running ones, hand the leader lock over at
      // once, then wait (bounded) for the aborted runs to record how they ended.
      await service.beginStop();
      await leader?.stop();
      await service.finishStop();
    },
  };
  return { jobs: service.jobs, service, leader, wiring };
}
