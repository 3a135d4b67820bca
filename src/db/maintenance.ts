/**
 * A connection for maintenance commands (backup, restore). With DATABASE_URL it is that
 * server. With the embedded database it is the server already running on DATA_DIR when the
 * app is up (read from postmaster.pid, so a backup never stops the live server's Postgres),
 * else one started for the command and stopped after it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../platform/log.js';
import { startEmbeddedPostgres } from './embedded.js';
import { applyMigrations } from './migrate.js';

export interface MaintenanceConnection {
  connectionString: string;
  /** how the database was reached, for the command's output */
  where: string;
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The connection string of an embedded server that is already running on `dataDir`, if any. */
export async function runningEmbedded(dataDir: string): Promise<string | undefined> {
  const root = path.resolve(dataDir);
  const pidFile = path.join(root, 'postgres', 'postmaster.pid');
  const credFile = path.join(root, 'postgres-credentials.json');
  if (!existsSync(pidFile) || !existsSync(credFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  const creds = JSON.parse(await readFile(credFile, 'utf8')) as { user: string; password: string };
  return `postgresql://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/candlecast`;
}

export async function openMaintenanceConnection(config: Config, log: Logger, opts: { migrate: boolean }): Promise<MaintenanceConnection> {
  let connectionString: string;
  let where: string;
  let stop = async () => undefined as void;
  if (config.DATABASE_URL) {
    connectionString = config.DATABASE_URL;
    where = `the database in DATABASE_URL (${new URL(config.DATABASE_URL).host})`;
  } else {
    const running = await runningEmbedded(config.DATA_DIR);
    if (running) {
      connectionString = running;
      where = `the running embedded database under ${config.DATA_DIR}`;
    } else {
      const emb = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, log });
      connectionString = emb.connectionString;
      where = `the embedded database under ${config.DATA_DIR}`;
      stop = () => emb.stop();
    }
  }
  try {
    if (opts.migrate) await applyMigrations(connectionString, { log });
  } catch (err) {
    await stop();
    throw err;
  }
  return { connectionString, where, close: stop };
}
