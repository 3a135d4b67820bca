/**
 * node-cron behind a small interface. The scheduler service never calls `cron.schedule` itself:
 * it gets a `Cron`, so tests can use second-level schedules on the real one or drive ticks by
 * hand with `ManualCron`.
 *
 * Tick times are wall-clock times (node-cron reads the system clock); the tick a callback
 * receives is the scheduled slot (whole second), not the moment the timer fired, so every
 * instance names the same tick with the same Date.
 */
import nodeCron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../../platform/log.js';

export interface CronTask {
  /** the next tick, or null once stopped */
  nextRun(): Date | null;
  stop(): Promise<void>;
}

export interface CronSpec {
  name: string;
  expression: string;
  timezone: string;
}

export interface Cron {
  /** undefined when valid, otherwise a readable reason */
  validate(expression: string): string | undefined;
  /** starts a task that calls onTick(slot) on every matching second; onTick must not throw */
  schedule(spec: CronSpec, onTick: (slot: Date) => Promise<void>): CronTask;
  /** the next `count` ticks after now (wall clock) */
  nextRuns(expression: string, timezone: string, count: number): Date[];
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The real thing: node-cron 4, its warnings routed to our JSON log. */
export function createNodeCron(log: Logger): Cron {
  const cronLog = log.child({ component: 'cron' });
  const logger = {
    info: (m: string) => cronLog.info(m),
    warn: (m: string) => cronLog.warn(m),
    error: (m: string | Error, err?: Error) => cronLog.error({ err: err ?? (m instanceof Error ? m : undefined) }, typeof m === 'string' ? m : m.message),
    debug: (m: string | Error) => cronLog.debug(typeof m === 'string' ? m : m.message),
  };
  return {
    validate(expression) {
      const r = nodeCron.validateDetailed(expression);
      if (r.valid) return undefined;
      return r.errors.map((e) => `${e.field}${e.value !== undefined ? ` "${e.value}"` : ''}: ${e.message}`).join('; ') || 'not a valid cron expression';
    },
    schedule(spec, onTick) {
      const task: ScheduledTask = nodeCron.schedule(spec.expression, (ctx) => onTick(ctx.date), {
        name: spec.name,
        timezone: spec.timezone,
        logger,
        // The timer must not keep a stopping process alive; the server keeps it alive anyway.
        unref: true,
      });
      let stopped = false;
      return {
        nextRun: () => (stopped ? null : task.getNextRun()),
        async stop() {
          if (stopped) return;
          stopped = true;
          await task.destroy();
        },
      };
    },
    nextRuns(expression, timezone, count) {
      // createTask builds the matcher without starting a timer.
      const task = nodeCron.createTask(expression, () => undefined, { timezone, logger });
      try {
        return task.getNextRuns(count);
      } finally {
        void task.destroy();
      }
    },
  };
}

/**
 * A cron whose ticks are fired by the caller (`fire(name, slot)`), for tests that need exact
 * control over time. Validation and next-run arithmetic are node-cron's.
 */
export class ManualCron implements Cron {
  private readonly real: Cron;
  private readonly tasks = new Map<string, { spec: CronSpec; onTick: (slot: Date) => Promise<void> }>();
  constructor(log: Logger) {
    this.real = createNodeCron(log);
  }
  validate(expression: string): string | undefined {
    return this.real.validate(expression);
  }
  nextRuns(expression: string, timezone: string, count: number): Date[] {
    return this.real.nextRuns(expression, timezone, count);
  }
  schedule(spec: CronSpec, onTick: (slot: Date) => Promise<void>): CronTask {
    const entry = { spec, onTick };
    this.tasks.set(spec.name, entry);
    return {
      nextRun: () => (this.tasks.get(spec.name) === entry ? (this.real.nextRuns(spec.expression, spec.timezone, 1)[0] ?? null) : null),
      stop: async () => {
        if (this.tasks.get(spec.name) === entry) this.tasks.delete(spec.name);
      },
    };
  }
  /** names of the tasks currently scheduled */
  scheduled(): string[] {
    return [...this.tasks.keys()];
  }
  /** fires a tick of a scheduled task; resolves when its callback has finished. False when not scheduled. */
  async fire(name: string, slot: Date): Promise<boolean> {
    const t = this.tasks.get(name);
    if (!t) return false;
    await t.onTick(slot);
    return true;
  }
}
