/**
 * Worker-thread entry: runs one task from workerData and reports progress, then the result
 * (or the error) to the parent. One task per worker: a forest's memory goes with the thread,
 * and cancelling is simply terminating it.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { WorkerMessage, WorkerTask } from './tasks.js';
import { runTask, serializeError } from './tasks.js';

const port = parentPort;
if (isMainThread || !port) throw new Error('train.worker.ts must be started as a worker thread (see runInWorker)');

const { task } = workerData as { task: WorkerTask };
const post = (m: WorkerMessage) => port.postMessage(m);

runTask(task, { onProgress: (event) => post({ type: 'progress', event }) }).then(
  (result) => post({ type: 'result', result }),
  (err: unknown) => post({ type: 'error', error: serializeError(err) }),
);
