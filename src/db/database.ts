/**
 * The database behind the app: the server in DATABASE_URL, or a real embedded Postgres under
 * DATA_DIR. Migrations are applied before anything else touches it.
 */
import type { Config } from '../config.js';
import type { Logger } from '../platform/log.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js';
import { applyMigrations, migrationStatus } from './migrate.js';
import { createPrisma, type PrismaClient } from './prisma.js';
import type pg from 'pg';

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  connectionString: string;
  embedded: boolean;
  /** true when the database answers and no migration is pending or failed */
  ready(): Promise<{ ok: boolean; reason?: string }>;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, log: Logger, opts: { migrate?: boolean } = {}): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let connectionString = config.DATABASE_URL;
  if (!connectionString) {
    const t0 = Date.now();
    embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, log });
    connectionString = embedded.connectionString;
    log.info({ port: embedded.port, dataDir: embedded.dataDir, ms: Date.now() - t0 }, 'embedded Postgres started');
  }
  try {
    if (opts.migrate !== false) {
      const t0 = Date.now();
      const r = await applyMigrations(connectionString, { log });
      log.info({ applied: r.applied.length, ms: Date.now() - t0 }, 'migrations up to date');
    }
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  const { prisma, pool } = createPrisma(connectionString, config.DATABASE_POOL_MAX);
  const cs = connectionString;
  let closed = false;
  return {
    prisma,
    pool,
    connectionString: cs,
    embedded: !!embedded,
    async ready() {
      try {
        await pool.query('SELECT 1');
        const st = await migrationStatus(cs);
        if (st.failed.length) return { ok: false, reason: `failed migrations: ${st.failed.join(', ')}` };
        if (st.pending.length) return { ok: false, reason: `pending migrations: ${st.pending.join(', ')}` };
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: `database unreachable: ${(err as Error).message}` };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}
