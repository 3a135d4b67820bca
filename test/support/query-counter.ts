/**
 * Counts the SQL one request sends: pg's Client#query is wrapped in this process (the app runs
 * in-process; Prisma's adapter and the pool use the same pg module) and only queries made inside
 * the request's log context (its X-Request-Id) are kept, so background work does not count.
 */
import pg from 'pg';
import { logContext } from '../../src/platform/log.js';

export interface QueryCounter {
  /** the queries made while `fn` ran on behalf of request id `id` */
  during<T>(id: string, fn: () => Promise<T>): Promise<{ result: T; queries: string[] }>;
  uninstall(): void;
}

export function installQueryCounter(): QueryCounter {
  const original = pg.Client.prototype.query;
  let counting: string | undefined;
  let queries: string[] = [];
  pg.Client.prototype.query = function countingQuery(this: pg.Client, ...args: unknown[]) {
    if (counting && logContext.getStore()?.requestId === counting) {
      const q = args[0] as string | { text?: string };
      queries.push((typeof q === 'string' ? q : (q?.text ?? '?')).replace(/\s+/g, ' '));
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
  return {
    async during(id, fn) {
      queries = [];
      counting = id;
      try {
        const result = await fn();
        return { result, queries: [...queries] };
      } finally {
        counting = undefined;
      }
    },
    uninstall() {
      pg.Client.prototype.query = original;
    },
  };
}
