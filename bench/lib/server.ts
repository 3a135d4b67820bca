/**
 * The benchmarks' server: candlecast started the way `npm start` starts it (a child process
 * running src/server.ts through tsx, embedded Postgres in a fresh data dir, the bundled data
 * imported on first boot), with NODE_ENV=production and generated secrets, plus an admin
 * account and its access token. The rate limits and the per-user anomaly rule are raised, as
 * for a load test behind a gateway: otherwise 64 connections from one address measure the 429s.
 */
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnReady, type ServerProcess } from '../../test/support/process.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ADMIN = { username: 'loadadmin', password: 'Load test passphrase 42!' };

export async function freshDataDir(tag = 'bench'): Promise<string> {
  // embedded Postgres runs as user postgres when we are root: the dir must be enterable
  const d = await mkdtemp(path.join(os.tmpdir(), `candlecast-${tag}-`));
  await chmod(d, 0o755);
  return d;
}

/** The environment of a benchmark server (production mode, limits raised for load). */
export function benchEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    JWT_SECRET: randomBytes(48).toString('base64'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    ADMIN_EMAIL: 'ops@example.com',
    SCHEDULER_ENABLED: 'false',
    BUNDLED_DATA: 'true',
    RATE_LIMIT_PER_MINUTE: '1000000',
    RATE_LIMIT_PER_IP_PER_MINUTE: '1000000',
    ANOMALY_RATE_FLOOR_PER_MINUTE: '1000000',
    KRAKEN_API_URL: 'http://127.0.0.1:9/0/public',
    ...extra,
  };
}

/**
 * How the server runs: `tsx` is `npm start` (TypeScript compiled on the fly); `dist` is
 * `npm run start:prod` (compiled by tsc, what the Dockerfile runs), built by buildDist().
 */
export type Runtime = 'tsx' | 'dist';
export const DIST_DIR = path.join(ROOT, 'bench', 'results', 'dist');

/** Compiles src/ into bench/results/dist (not the shared dist/); returns an error message or undefined. */
export function buildDist(): string | undefined {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', DIST_DIR], { cwd: ROOT, encoding: 'utf8' });
  const entry = path.join(DIST_DIR, 'src', 'server.js');
  if (!existsSync(entry)) return `tsc did not emit ${entry}: ${(r.stdout + r.stderr).slice(0, 300)}`;
  // the generated Prisma client's non-TS files sit beside the compiled JS (as scripts/copy-assets.mjs does for dist/)
  const copy = (from: string, to: string) => {
    for (const name of readdirSync(from)) {
      const a = path.join(from, name);
      if (statSync(a).isDirectory()) copy(a, path.join(to, name));
      else if (!name.endsWith('.ts')) cpSync(a, path.join(to, name));
    }
  };
  const gen = path.join(ROOT, 'src', 'generated', 'prisma');
  if (existsSync(gen)) copy(gen, path.join(DIST_DIR, 'src', 'generated', 'prisma'));
  if (r.status !== 0) console.warn(`  (tsc reported type errors, output emitted anyway: ${r.stdout.split('\n').filter(Boolean).length} line(s))`);
  console.log(`  built ${path.relative(ROOT, DIST_DIR)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return undefined;
}

/**
 * The runtimes to measure: tsx always; dist too when it builds (once per `npm run bench`:
 * bench/all.ts builds it and sets BENCH_DIST_READY=1). BENCH_RUNTIMES=tsx skips the build.
 */
export function runtimes(): Runtime[] {
  if (process.env.BENCH_RUNTIMES === 'tsx') return ['tsx'];
  if (process.env.BENCH_DIST_READY === '1' && existsSync(path.join(DIST_DIR, 'src', 'server.js'))) return ['tsx', 'dist'];
  const err = buildDist();
  if (err) {
    console.warn(`  compiled build unavailable, measuring tsx only: ${err}`);
    return ['tsx'];
  }
  process.env.BENCH_DIST_READY = '1';
  return ['tsx', 'dist'];
}

export const RUNTIME_LABEL: Record<Runtime, string> = { tsx: 'npm start (tsx)', dist: 'npm run start:prod (compiled)' };

export type { ServerProcess };

/** Spawns the server like `npm start` (tsx) or `npm run start:prod` (dist) and waits for its ready line. */
export function spawnCandlecast(env: Record<string, string>, runtime: Runtime = 'tsx', timeoutMs = 120_000): Promise<ServerProcess> {
  const args = runtime === 'tsx' ? ['--import', 'tsx', 'src/server.ts'] : ['--max-semi-space-size=8', path.join(DIST_DIR, 'src', 'server.js')];
  return spawnReady(args, { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', ...(runtime === 'tsx' ? {} : { MALLOC_ARENA_MAX: '2' }), ...env }, timeoutMs);
}

export interface BenchServer {
  proc: ServerProcess;
  url: string;
  pid: number;
  dataDir: string;
  token: string;
  stop(): Promise<void>;
}

export async function login(url: string, username = ADMIN.username, password = ADMIN.password): Promise<{ token: string; cookie: string }> {
  const r = await fetch(new URL('/api/auth/login', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, cookie: true }),
  });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${await r.text()}`);
  const body = (await r.json()) as { access_token: string };
  const cookie = (r.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  return { token: body.access_token, cookie };
}

/** Starts candlecast on a fresh data dir (first boot) or an existing one (restart). */
export async function startServer(opts: { dataDir?: string; env?: Record<string, string>; keepDataDir?: boolean; runtime?: Runtime } = {}): Promise<BenchServer> {
  const dataDir = opts.dataDir ?? (await freshDataDir());
  const ownsDir = !opts.dataDir && !opts.keepDataDir;
  const proc = await spawnCandlecast(benchEnv(dataDir, opts.env), opts.runtime ?? 'tsx');
  const { token } = await login(proc.url);
  return {
    proc,
    url: proc.url,
    pid: proc.child.pid!,
    dataDir,
    token,
    async stop() {
      await stopChild(proc.child, proc.exited);
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

/** A bare Express app with one "hello" route, started the same way (child process, tsx, production). */
export async function startHello(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/hello-server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((c) => reject(new Error(`hello server exited with ${c}`)));
  });
  return { url, pid: child.pid!, stop: () => stopChild(child, exited) };
}

/** The embedded Postgres serving a data dir: its postmaster and the postmaster's children. */
export function postgresPids(dataDir: string): number[] {
  try {
    const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
    const rows = ps.split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => r.length >= 3);
    const pm = rows.find((r) => r.slice(2).join(' ').includes('postgres') && r.slice(2).join(' ').includes(dataDir));
    if (!pm) return [];
    return [Number(pm[0]), ...rows.filter((r) => r[1] === pm[0]).map((r) => Number(r[0]))];
  } catch {
    return [];
  }
}

/** Resident memory of a process in MB (VmRSS), Linux only. */
export async function rssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 100): { stop(): Promise<number | null> } {
  let peak: number | null = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      const v = await rssMb(pid);
      if (v !== null) peak = Math.max(peak ?? 0, v);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

export async function getJson<T = unknown>(url: string, pathname: string, token?: string): Promise<{ status: number; body: T }> {
  const r = await fetch(new URL(pathname, url), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: body as T };
}

export async function postJson<T = unknown>(url: string, pathname: string, token: string, json: unknown = {}): Promise<{ status: number; body: T }> {
  const r = await fetch(new URL(pathname, url), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(json) });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: body as T };
}

/** Waits for a job run to end; returns its final record. */
export async function waitForRun(url: string, token: string, runId: number, timeoutMs = 300_000): Promise<{ status: string; error: string | null; durationMs: number | null }> {
  const t0 = Date.now();
  for (;;) {
    const { status, body } = await getJson<{ run: { status: string; error: string | null; durationMs: number | null } }>(url, `/api/jobs/${runId}`, token);
    if (status !== 200) throw new Error(`GET /api/jobs/${runId}: ${status}`);
    if (!['queued', 'running'].includes(body.run.status)) return body.run;
    if (Date.now() - t0 > timeoutMs) throw new Error(`run ${runId} still ${body.run.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
