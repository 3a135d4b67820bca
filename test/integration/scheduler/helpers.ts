/** Helpers shared by the scheduler's integration tests (not a test file itself). */
import assert from 'node:assert/strict';
import type { TestApp } from '../../support/app.js';
import type { SchedulerService } from '../../../src/modules/scheduler/index.js';

export function schedulerOf(app: TestApp): SchedulerService {
  const svc = app.running.app.services.scheduler as SchedulerService | undefined;
  assert.ok(svc, 'the app exposes services.scheduler');
  return svc;
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Polls fn until it returns something other than undefined/false; fails after timeoutMs. */
export async function waitUntil<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves when the signal aborts, rejecting with its reason (what a well-behaved job does). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export async function getRun(app: TestApp, id: number, token?: string): Promise<any> {
  const res = await app.fetch(token ? `/api/jobs/${id}` : `/internal/jobs/${id}`, { token });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { run: any }).run;
}

export function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const labelPart = line.slice(name.length + 1, line.indexOf('}'));
    if (want.every((w) => labelPart.split(',').includes(w))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return undefined;
}
