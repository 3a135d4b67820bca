/** autocannon at a fixed number of connections; requests/s, p50 and p99 in ms; CPU spent per request. */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** CPU time (user + system, all threads) each watched group of processes spent per request, in ms */
  cpuPerRequest?: Record<string, number>;
}

const TICK_MS = 10; // Linux USER_HZ is 100

/** CPU time used so far by these processes (user + system, all threads), in ms; Linux only. */
export function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      // gone
    }
  }
  return ticks * TICK_MS;
}

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);

export async function load(
  url: string,
  opts: { headers?: Record<string, string>; duration?: number; connections?: number; warmupS?: number; cpuOf?: Record<string, () => number[]> } = {},
): Promise<LoadResult> {
  const connections = opts.connections ?? CONNECTIONS;
  const warmup = opts.warmupS ?? 2;
  if (warmup > 0) await autocannon({ url, connections, duration: warmup, headers: opts.headers });
  const groups = Object.entries(opts.cpuOf ?? {}).map(([name, pids]) => ({ name, pids: pids() }));
  const before = groups.map((g) => cpuMs(g.pids));
  const r = await autocannon({ url, connections, duration: opts.duration ?? DURATION_S, headers: opts.headers });
  const used = groups.map((g, i) => cpuMs(g.pids) - before[i]!);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    ...(groups.length && r.requests.total ? { cpuPerRequest: Object.fromEntries(groups.map((g, i) => [g.name, used[i]! / r.requests.total])) } : {}),
  };
}
