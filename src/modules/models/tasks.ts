import type { Candle } from '../../platform/candle.js';
import { AppError } from '../../platform/errors.js';
import type { SuiteEntry } from './default-suite.js';
import type { TrainSpecInput } from './models.schemas.js';
import type { BacktestPoint, PredictInput } from './prediction.js';
import { predictSeries } from './prediction.js';
import type { ProgressEvent, RunHooks } from './progress.js';
import { checkpoint } from './progress.js';
import type { TrainInput, TrainResult } from './training.js';
import { trainModel } from './training.js';
import type { TuneInput, TuneResult } from './tuning.js';
import { tuneModel } from './tuning.js';

/** Several models on the same candles in one task, so a worker is started once per suite. */
export interface SuiteInput extends Omit<TrainSpecInput, 'algorithm' | 'params'> {
  candles: readonly Candle[];
  suite: readonly SuiteEntry[];
}

/** Heavy work that may run off the event loop. Plain data only: tasks cross a thread boundary. */
export type WorkerTask =
  | { kind: 'train'; input: TrainInput }
  | { kind: 'train-suite'; input: SuiteInput }
  | { kind: 'tune'; input: TuneInput }
  | { kind: 'backtest'; input: PredictInput & { from?: number; to?: number } };

export interface TaskResults {
  train: TrainResult;
  'train-suite': TrainResult[];
  tune: TuneResult;
  backtest: BacktestPoint[];
}
export type WorkerTaskResult<T extends WorkerTask> = TaskResults[T['kind']];

/** Runs a task in the current thread; the worker calls exactly this, so both paths agree. */
export async function runTask<T extends WorkerTask>(task: T, hooks: RunHooks = {}): Promise<WorkerTaskResult<T>> {
  switch (task.kind) {
    case 'train':
      return (await trainModel(task.input, hooks)) as WorkerTaskResult<T>;
    case 'tune':
      return (await tuneModel(task.input, hooks)) as WorkerTaskResult<T>;
    case 'backtest':
      await checkpoint(hooks.signal);
      return predictSeries(task.input) as WorkerTaskResult<T>;
    case 'train-suite': {
      const { suite, ...common } = task.input;
      const out: TrainResult[] = [];
      for (const [i, entry] of suite.entries()) {
        out.push(
          await trainModel(
            { ...common, algorithm: entry.algorithm, params: entry.params },
            {
              ...hooks,
              onProgress: (e) => hooks.onProgress?.({ ...e, message: `${entry.algorithm} (${i + 1}/${suite.length}): ${e.message}` }),
            },
          ),
        );
      }
      return out as WorkerTaskResult<T>;
    }
    default:
      throw new TypeError(`unknown task kind ${(task as { kind?: unknown }).kind as string}`);
  }
}

/** What a worker posts to its parent. */
export type WorkerMessage = { type: 'progress'; event: ProgressEvent } | { type: 'result'; result: unknown } | { type: 'error'; error: SerializedError };

/** An error as plain data, so AppErrors keep status/code/details across the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  status?: number;
  code?: string;
  details?: unknown;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof AppError) return { name: err.name, message: err.message, stack: err.stack, status: err.status, code: err.code, details: safeClone(err.details) };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

function safeClone(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return undefined;
  }
}

export function deserializeError(e: SerializedError): Error {
  const err = e.status !== undefined && e.code !== undefined ? new AppError(e.status, e.code, e.message, { details: e.details }) : new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
