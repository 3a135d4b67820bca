/**
 * A real Postgres for a test file: a fresh embedded server in a temp dir, or a fresh database
 * on the server named by TEST_DATABASE_URL. Call `await db.stop()` in an `after` hook.
 */
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

export interface TestDatabase {
  connectionString: string;
  /** for embedded servers: the data root (what DATA_DIR would be) */
  dataDir?: string;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    const name = `cc_test_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(external);
    url.pathname = `/${name}`;
    return {
      connectionString: url.toString(),
      async stop() {
        const c = new pg.Client({ connectionString: external });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'candlecast-test-'));
  await chmod(dir, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: dir });
  return {
    connectionString: db.connectionString,
    dataDir: dir,
    async stop() {
      await db.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
