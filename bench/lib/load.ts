/** autocannon at a fixed number of connections; requests/s, p50 and p99 in ms. */
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
export const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);

export async function load(url: string, opts: { headers?: Record<string, string>; duration?: number; connections?: number; warmupS?: number } = {}): Promise<LoadResult> {
  const connections = opts.connections ?? CONNECTIONS;
  const warmup = opts.warmupS ?? 2;
  if (warmup > 0) await autocannon({ url, connections, duration: warmup, headers: opts.headers });
  const r = await autocannon({ url, connections, duration: opts.duration ?? DURATION_S, headers: opts.headers });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors };
}
