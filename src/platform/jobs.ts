/**
 * The narrow port between the capability modules and the scheduler. Modules define jobs
 * (ingest, predict, score, retrain, backfill, ...) and launch them by name; the scheduler
 * module implements both, records every run, schedules them with node-cron on the leader
 * instance and never lets a job overlap itself. Modules import only these types, never the
 * scheduler module, so the dependency still points one way.
 */
import type { Logger } from './log.js';

/** What started a job run, and the states a run goes through: the one list (issue 17). */
export const JOB_TRIGGERS = ['schedule', 'manual', 'api', 'drift', 'startup', 'event'] as const;
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobContext {
  runId: number;
  job: string;
  trigger: JobTrigger;
  params: Record<string, unknown>;
  startedById?: number;
  /** aborted when someone cancels the run or the process shuts down */
  signal: AbortSignal;
  /** fraction 0..1 and an optional message, stored on the run (throttled) */
  progress(fraction: number, message?: string): Promise<void>;
  log: Logger;
}

export interface JobDefinition {
  name: string;
  description: string;
  /** the config value of its cron expression ("off" or undefined: not scheduled) */
  schedule?: string;
  /** validates and normalises the params of a manual trigger; throw a ValidationError to refuse */
  parseParams?(params: unknown): Record<string, unknown>;
  /**
   * Param-scoped jobs (backfill of one pair) return a key from their params: runs with different
   * keys may run side by side, runs with the same key never overlap. Default: one key for the
   * whole job, so the job never overlaps itself.
   */
  concurrencyKey?(params: Record<string, unknown>): string;
  /** launch once (trigger 'startup') when this instance first becomes the scheduler leader */
  runOnStartup?: boolean;
  /** returns a JSON-serialisable summary stored on the run */
  run(ctx: JobContext): Promise<unknown>;
}

export interface LaunchOptions {
  trigger: JobTrigger;
  startedById?: number;
  /** wait for the run to finish before resolving (CLI, tests); default false */
  wait?: boolean;
}

/**
 * The reason a run's signal was aborted (`ctx.signal.reason`): someone cancelled it, the process
 * is shutting down, or the run was closed by another instance (its heartbeat went stale).
 */
export class JobAbortError extends Error {
  constructor(
    readonly kind: 'cancelled' | 'shutdown' | 'lost',
    message: string,
  ) {
    super(message);
    this.name = 'JobAbortError';
  }
}

export interface LaunchResult {
  runId: number;
  /** true when a run of this job (with the same params) was already queued or running: that one is returned */
  alreadyRunning: boolean;
  status: JobStatus;
}

/**
 * Background work that only the scheduler leader runs (the Kraken WebSocket feed): started when
 * this instance becomes leader, stopped when it steps down or shuts down.
 */
export interface LeaderTask {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface Jobs {
  define(def: JobDefinition): void;
  /** runs `task` while this instance is the scheduler leader (never when SCHEDULER_ENABLED is off) */
  whileLeader(task: LeaderTask): void;
  launch(name: string, params?: Record<string, unknown>, opts?: LaunchOptions): Promise<LaunchResult>;
}
