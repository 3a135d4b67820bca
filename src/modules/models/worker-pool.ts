import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ProgressEvent } from './progress.js';
import type { WorkerMessage, WorkerTask, WorkerTaskResult } from './tasks.js';
import { deserializeError } from './tasks.js';

export interface RunInWorkerOptions {
  onProgress?: (e: ProgressEvent) => void;
  /** Aborting terminates the worker at once (mid-fit) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

// Under tsx this module is a .ts file and the worker must be too; after `tsc` both are .js.
const HERE = import.meta.url;
const IS_TS = HERE.endsWith('.ts');
const WORKER_URL = new URL(`./train.worker${IS_TS ? '.ts' : '.js'}`, HERE);

function spawnWorker(task: WorkerTask): Worker {
  const workerData = { task };
  if (!IS_TS) return new Worker(WORKER_URL, { workerData });
  // Node 20 resolves a worker's entry before `execArgv: ['--import', 'tsx']` hooks apply, so a
  // .ts entry fails with ERR_UNKNOWN_FILE_EXTENSION (tsx issue #354). A tiny eval'd bootstrap
  // registers tsx's ESM hooks first and then imports the .ts worker.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Runs one task in a fresh worker thread, off the event loop. */
export function runInWorker<T extends WorkerTask>(task: T, opts: RunInWorkerOptions = {}): Promise<WorkerTaskResult<T>> {
  const { signal, onProgress } = opts;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<WorkerTaskResult<T>>((resolve, reject) => {
    const worker = spawnWorker(task);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      // A finished worker exits on its own; terminating makes sure an aborted or failed one does too.
      void worker.terminate();
    };
    const onAbort = () => finish(() => reject(abortReason(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') onProgress?.(m.event);
      else if (m.type === 'result') finish(() => resolve(m.result as WorkerTaskResult<T>));
      else if (m.type === 'error') finish(() => reject(deserializeError(m.error)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`training worker exited with code ${code} before reporting a result`))));
  });
}

export interface WorkerPool {
  readonly size: number;
  readonly active: number;
  readonly queued: number;
  run<T extends WorkerTask>(task: T, opts?: RunInWorkerOptions): Promise<WorkerTaskResult<T>>;
  /** Rejects queued tasks and terminates running ones. */
  close(): Promise<void>;
}

/**
 * Bounds how many training workers run at once (default: cores - 1, at least 1) so training
 * never starves the HTTP server of CPU; extra tasks wait in FIFO order.
 */
export function createWorkerPool(opts: { size?: number } = {}): WorkerPool {
  const size = Math.max(1, opts.size ?? availableParallelism() - 1);
  let active = 0;
  let closed = false;
  const queue: { start: () => void; cancel: (reason: unknown) => void }[] = [];
  const running = new Set<AbortController>();

  const next = () => {
    while (active < size && queue.length > 0) queue.shift()!.start();
  };

  return {
    size,
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    run<T extends WorkerTask>(task: T, ro: RunInWorkerOptions = {}): Promise<WorkerTaskResult<T>> {
      if (closed) return Promise.reject(new Error('worker pool is closed'));
      return new Promise<WorkerTaskResult<T>>((resolve, reject) => {
        const ctl = new AbortController();
        const outer = ro.signal;
        const onOuterAbort = () => {
          const i = queue.indexOf(item);
          if (i >= 0) {
            queue.splice(i, 1);
            reject(abortReason(outer!));
          } else ctl.abort(abortReason(outer!));
        };
        const item = {
          start: () => {
            active++;
            running.add(ctl);
            runInWorker(task, { onProgress: ro.onProgress, signal: ctl.signal })
              .then(resolve, reject)
              .finally(() => {
                outer?.removeEventListener('abort', onOuterAbort);
                running.delete(ctl);
                active--;
                next();
              });
          },
          cancel: (reason: unknown) => {
            outer?.removeEventListener('abort', onOuterAbort);
            reject(reason);
          },
        };
        if (outer?.aborted) return reject(abortReason(outer));
        outer?.addEventListener('abort', onOuterAbort, { once: true });
        queue.push(item);
        next();
      });
    },
    async close() {
      closed = true;
      const err = new Error('worker pool closed');
      for (const item of queue.splice(0)) item.cancel(err);
      for (const ctl of running) ctl.abort(err);
    },
  };
}
