/**
 * The migration runner and the migrate-create script on a real Postgres. "Prisma-compatible"
 * is checked against Prisma's own migrate logic: the WASM build of its schema engine reads
 * the rows our runner writes, and our runner reads the rows it writes.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { startTestDatabase, type TestDatabase } from '../../support/postgres.js';
import {
  applyMigrations,
  defaultMigrationsDir,
  migrationStatus,
  MIGRATION_LOCK_KEY,
  PRISMA_MIGRATIONS_DDL,
} from '../../../src/db/migrate.js';
import { createMigration, diffSchemaAgainstMigrations } from '../../../scripts/migrate-create.js';
import { createSchemaEngine, type SchemaEngine } from '../../../scripts/lib/schema-engine.js';

const root = path.resolve(import.meta.dirname, '../../..');
const committedDir = path.join(root, 'prisma', 'migrations');
const schemaPath = path.join(root, 'prisma', 'schema.prisma');
const noFilters = { externalTables: [], externalEnums: [] };

let server: TestDatabase;
let tmp: string;

/** A new empty database on the test server, so tests do not see each other's tables. */
async function freshDatabase(): Promise<string> {
  const name = `mig_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.connectionString });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server.connectionString);
  url.pathname = `/${name}`;
  return url.toString();
}

async function query<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function committedNames(): Promise<string[]> {
  return (await readdir(committedDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** A migrations folder of our own, with one migration.sql per entry. */
async function migrationsFolder(entries: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, 'migrations-'));
  for (const [name, sql] of Object.entries(entries)) {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

/** A real pino logger whose lines are kept for assertions. */
function capturingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines, warnings: () => lines.filter((l) => l.level === 40) };
}

/** The input Prisma's engine takes for a migrations folder, as its CLI builds it. */
async function prismaMigrationsList(dir: string) {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lock = path.join(dir, 'migration_lock.toml');
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lock) ? await readFile(lock, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: await readFile(path.join(dir, name, 'migration.sql'), 'utf8') } },
      })),
    ),
  };
}

async function withEngine<T>(url: string, fn: (e: SchemaEngine) => Promise<T>): Promise<T> {
  const { engine, close } = await createSchemaEngine(url);
  try {
    return await fn(engine);
  } finally {
    await close();
  }
}

describe('database migrations', () => {
  before(async () => {
    server = await startTestDatabase();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'candlecast-migrate-test-'));
  });
  after(async () => {
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the default migrations folder is the repo one, from src/ under tsx and from the compiled dist/src/db/', () => {
    assert.equal(defaultMigrationsDir(), committedDir);
    assert.equal(defaultMigrationsDir(path.join(root, 'dist', 'src', 'db', 'migrate.js')), committedDir);
  });

  test('an empty database gets every committed migration; a second run applies none and keeps the data', async () => {
    const url = await freshDatabase();
    const names = await committedNames();
    assert.ok(names.length >= 1, 'there is at least the initial migration');

    const first = await applyMigrations(url);
    assert.deepEqual(first, { applied: names, alreadyApplied: 0 });
    const tables = (await query<{ t: string }>(url, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`)).map((r) => r.t);
    for (const t of ['_prisma_migrations', 'users', 'pairs', 'candles', 'predictions', 'job_runs', 'deliveries']) assert.ok(tables.includes(t), `table ${t} exists`);
    assert.deepEqual(await migrationStatus(url), { pending: [], applied: names, failed: [] });

    await query(url, `INSERT INTO users (username, email, "passwordHash", "updatedAt") VALUES ('ada', 'ada@example.com', 'x', now())`);
    const second = await applyMigrations(url);
    assert.deepEqual(second, { applied: [], alreadyApplied: names.length });
    assert.equal((await query(url, 'SELECT * FROM users')).length, 1);
    assert.equal((await query(url, 'SELECT * FROM _prisma_migrations')).length, names.length);
  });

  test('_prisma_migrations has Prisma\'s exact DDL and rows shaped as Prisma writes them', async () => {
    // The DDL is the very text inside Prisma's schema engine.
    const wasm = await readFile(path.join(root, 'node_modules', '@prisma', 'schema-engine-wasm', 'schema_engine_bg.wasm'));
    assert.ok(wasm.includes(Buffer.from(`${PRISMA_MIGRATIONS_DDL}\n`)), 'our DDL is byte-identical to Prisma\'s');

    const url = await freshDatabase();
    await applyMigrations(url);
    const cols = await query<{ column_name: string; data_type: string; len: number | null; nullable: string; def: string | null }>(
      url,
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable AS nullable, column_default AS def
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    assert.deepEqual(
      cols.map((c) => [c.column_name, c.data_type, c.len, c.nullable, c.def]),
      [
        ['id', 'character varying', 36, 'NO', null],
        ['checksum', 'character varying', 64, 'NO', null],
        ['finished_at', 'timestamp with time zone', null, 'YES', null],
        ['migration_name', 'character varying', 255, 'NO', null],
        ['logs', 'text', null, 'YES', null],
        ['rolled_back_at', 'timestamp with time zone', null, 'YES', null],
        ['started_at', 'timestamp with time zone', null, 'NO', 'now()'],
        ['applied_steps_count', 'integer', null, 'NO', '0'],
      ],
    );
    const pk = await query<{ a: string }>(
      url,
      `SELECT a.attname AS a FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = '_prisma_migrations'::regclass AND i.indisprimary`,
    );
    assert.deepEqual(pk.map((r) => r.a), ['id']);

    const rows = await query<{ id: string; checksum: string; migration_name: string; started_at: Date; finished_at: Date; logs: null; rolled_back_at: null; applied_steps_count: number }>(
      url,
      'SELECT * FROM _prisma_migrations ORDER BY migration_name',
    );
    const names = await committedNames();
    assert.deepEqual(rows.map((r) => r.migration_name), names);
    for (const r of rows) {
      assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const bytes = await readFile(path.join(committedDir, r.migration_name, 'migration.sql'));
      assert.equal(r.checksum, createHash('sha256').update(bytes).digest('hex'));
      assert.ok(r.finished_at instanceof Date && r.finished_at >= r.started_at);
      assert.equal(r.logs, null);
      assert.equal(r.rolled_back_at, null);
      assert.equal(r.applied_steps_count, 1);
    }
  });

  test('Prisma\'s own migrate logic accepts our history, and we accept its history', async () => {
    const list = await prismaMigrationsList(committedDir);
    const names = await committedNames();

    const ours = await freshDatabase();
    await applyMigrations(ours);
    await withEngine(ours, async (engine) => {
      const d = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: noFilters });
      assert.deepEqual(d, { editedMigrationNames: [], failedMigrationNames: [], hasMigrationsTable: true, history: null });
      // `prisma migrate deploy`'s engine call: nothing left to apply
      assert.deepEqual(await engine.applyMigrations({ migrationsList: list, filters: noFilters }), { appliedMigrationNames: [] });
    });

    const theirs = await freshDatabase();
    await withEngine(theirs, async (engine) => {
      assert.deepEqual(await engine.applyMigrations({ migrationsList: list, filters: noFilters }), { appliedMigrationNames: names });
    });
    const { log, warnings } = capturingLogger();
    assert.deepEqual(await migrationStatus(theirs), { pending: [], applied: names, failed: [] });
    assert.deepEqual(await applyMigrations(theirs, { log }), { applied: [], alreadyApplied: names.length });
    assert.deepEqual(warnings(), []);
  });

  test('several instances migrating at once apply each migration exactly once', async () => {
    const dir = await migrationsFolder({
      '20260101000000_a': 'CREATE TABLE a (id int PRIMARY KEY);\nSELECT pg_sleep(0.3);\n',
      '20260101000001_b': 'CREATE TABLE b (id int PRIMARY KEY);\nINSERT INTO a VALUES (1);\n',
    });
    const url = await freshDatabase();
    const runs = await Promise.all([1, 2, 3].map(() => applyMigrations(url, { migrationsDir: dir })));
    const appliedAll = runs.flatMap((r) => r.applied).sort();
    assert.deepEqual(appliedAll, ['20260101000000_a', '20260101000001_b']);
    assert.equal(runs.filter((r) => r.applied.length === 2).length, 1, 'one instance did the work');
    assert.deepEqual(runs.map((r) => r.alreadyApplied).sort(), [0, 2, 2]);
    const rows = await query<{ migration_name: string; n: string }>(url, 'SELECT migration_name, count(*)::text AS n FROM _prisma_migrations GROUP BY 1 ORDER BY 1');
    assert.deepEqual(rows, [
      { migration_name: '20260101000000_a', n: '1' },
      { migration_name: '20260101000001_b', n: '1' },
    ]);
    assert.deepEqual(await query(url, 'SELECT * FROM a'), [{ id: 1 }]);
  });

  test('an instance that cannot get the lock in time gives up with a message that says who to look for', async () => {
    const url = await freshDatabase();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const { log, lines } = capturingLogger();
      const t0 = Date.now();
      await assert.rejects(applyMigrations(url, { log, lockTimeoutMs: 300 }), /timed out after 300 ms waiting for the migration lock .*pg_advisory_lock\(72707369\)/);
      assert.ok(Date.now() - t0 < 5_000);
      assert.ok(lines.some((l) => /another instance is applying migrations/.test(l.msg)));
    } finally {
      await holder.end();
    }
    assert.deepEqual((await applyMigrations(url)).alreadyApplied, 0, 'works once the lock is free');
  });

  test('an applied migration that was edited is warned about (as Prisma would), not re-run; a CRLF copy is not an edit', async () => {
    const sql = 'CREATE TABLE t (id int PRIMARY KEY);\nCREATE TABLE u (id int PRIMARY KEY);\n';
    const dir = await migrationsFolder({ '20260101000000_t': sql });
    const url = await freshDatabase();
    await applyMigrations(url, { migrationsDir: dir });

    const file = path.join(dir, '20260101000000_t', 'migration.sql');
    await writeFile(file, sql.replace(/\n/g, '\r\n'));
    const crlf = capturingLogger();
    assert.deepEqual(await applyMigrations(url, { migrationsDir: dir, log: crlf.log }), { applied: [], alreadyApplied: 1 });
    assert.deepEqual(crlf.warnings(), []);

    await writeFile(file, `${sql}ALTER TABLE t ADD COLUMN extra int;\n`);
    const edited = capturingLogger();
    assert.deepEqual(await applyMigrations(url, { migrationsDir: dir, log: edited.log }), { applied: [], alreadyApplied: 1 });
    const w = edited.warnings();
    assert.equal(w.length, 1);
    assert.equal(w[0]!.migration, '20260101000000_t');
    assert.match(w[0]!.msg, /edited after it ran/);
    const cols = await query(url, `SELECT 1 FROM information_schema.columns WHERE table_name = 't' AND column_name = 'extra'`);
    assert.equal(cols.length, 0, 'the edit is not applied');
    // Prisma's engine flags the very same migration
    await withEngine(url, async (engine) => {
      const d = await engine.diagnoseMigrationHistory({ migrationsList: await prismaMigrationsList(dir), optInToShadowDatabase: false, filters: noFilters });
      assert.deepEqual(d.editedMigrationNames, ['20260101000000_t']);
    });
  });

  test('a failed migration row (as Prisma leaves one) blocks further runs with a clear message until resolved', async () => {
    const dir = await migrationsFolder({
      '20260101000000_ok': 'CREATE TABLE ok (id int);\n',
      '20260101000001_broken': 'CREATE TABLE half (id int);\nALTER TABLE nope ADD COLUMN x int;\n',
      '20260101000002_later': 'CREATE TABLE later (id int);\n',
    });
    const url = await freshDatabase();
    // Prisma's own deploy logic fails on the broken one and records it as failed.
    await withEngine(url, async (engine) => {
      await assert.rejects(engine.applyMigrations({ migrationsList: await prismaMigrationsList(dir), filters: noFilters }));
    });
    const [failedRow] = await query<{ finished_at: Date | null; rolled_back_at: Date | null; logs: string | null }>(
      url,
      `SELECT finished_at, rolled_back_at, logs FROM _prisma_migrations WHERE migration_name = '20260101000001_broken'`,
    );
    assert.equal(failedRow?.finished_at, null);
    assert.equal(failedRow?.rolled_back_at, null);

    await assert.rejects(applyMigrations(url, { migrationsDir: dir }), (err: Error) => {
      assert.match(err.message, /refusing to apply migrations: 1 migration\(s\) failed earlier/);
      assert.match(err.message, /20260101000001_broken/);
      assert.match(err.message, /rolled_back_at = now\(\)/);
      return true;
    });
    assert.deepEqual(await migrationStatus(url, { migrationsDir: dir }), {
      pending: ['20260101000001_broken', '20260101000002_later'],
      applied: ['20260101000000_ok'],
      failed: ['20260101000001_broken'],
    });
    assert.equal((await query(url, `SELECT to_regclass('later') AS t`))[0]!.t, null, 'nothing after the failed one ran');

    // What a person does after cleaning up: fix the file, mark the failed attempt rolled back.
    await query(url, 'DROP TABLE IF EXISTS half');
    await writeFile(path.join(dir, '20260101000001_broken', 'migration.sql'), 'CREATE TABLE half (id int);\n');
    await query(url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '20260101000001_broken' AND finished_at IS NULL`);
    assert.deepEqual(await applyMigrations(url, { migrationsDir: dir }), { applied: ['20260101000001_broken', '20260101000002_later'], alreadyApplied: 1 });
  });

  test('a migration that fails here is rolled back whole, recorded as rolled back, and runs again once fixed', async () => {
    const dir = await migrationsFolder({ '20260101000000_bad': 'CREATE TABLE first (id int);\nSELECT 1/0;\n' });
    const url = await freshDatabase();
    await assert.rejects(applyMigrations(url, { migrationsDir: dir }), /migration 20260101000000_bad failed and was rolled back, the database is unchanged: division by zero \(SQLSTATE 22012\)/);
    assert.equal((await query(url, `SELECT to_regclass('first') AS t`))[0]!.t, null);
    const rows = await query<{ finished_at: Date | null; rolled_back_at: Date | null; logs: string }>(url, 'SELECT finished_at, rolled_back_at, logs FROM _prisma_migrations');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.finished_at, null);
    assert.ok(rows[0]!.rolled_back_at instanceof Date);
    assert.match(rows[0]!.logs, /division by zero/);
    assert.deepEqual(await migrationStatus(url, { migrationsDir: dir }), { pending: ['20260101000000_bad'], applied: [], failed: [] });
    // Prisma does not count it as failed either
    await withEngine(url, async (engine) => {
      const d = await engine.diagnoseMigrationHistory({ migrationsList: await prismaMigrationsList(dir), optInToShadowDatabase: false, filters: noFilters });
      assert.deepEqual(d.failedMigrationNames, []);
    });

    await writeFile(path.join(dir, '20260101000000_bad', 'migration.sql'), 'CREATE TABLE first (id int);\n');
    assert.deepEqual((await applyMigrations(url, { migrationsDir: dir })).applied, ['20260101000000_bad']);
  });

  test('plpgsql bodies are not split on semicolons, and a script with its own BEGIN/COMMIT is run as Prisma runs it', async () => {
    const dir = await migrationsFolder({
      '20260101000000_fn': `CREATE TABLE t (id int, touched int DEFAULT 0);
CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.touched := NEW.touched + 1; -- a comment; with a semicolon
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();
`,
      '20260101000001_enum': `CREATE TYPE "Kind" AS ENUM ('a', 'b', 'c');
-- AlterEnum
BEGIN;
CREATE TYPE "Kind_new" AS ENUM ('a', 'b');
ALTER TYPE "Kind" RENAME TO "Kind_old";
ALTER TYPE "Kind_new" RENAME TO "Kind";
DROP TYPE "Kind_old";
COMMIT;
`,
    });
    const url = await freshDatabase();
    assert.deepEqual((await applyMigrations(url, { migrationsDir: dir })).applied, ['20260101000000_fn', '20260101000001_enum']);
    await query(url, 'INSERT INTO t (id) VALUES (1)');
    assert.deepEqual(await query(url, 'SELECT touched FROM t'), [{ touched: 1 }]);
    assert.deepEqual(await query(url, `SELECT enum_range(NULL::"Kind")::text AS r`), [{ r: '{a,b}' }]);
    const rows = await query<{ finished_at: Date | null; applied_steps_count: number }>(url, 'SELECT finished_at, applied_steps_count FROM _prisma_migrations');
    assert.ok(rows.every((r) => r.finished_at instanceof Date && r.applied_steps_count === 1));
  });

  test('migrationStatus on a database never migrated lists everything as pending and creates nothing', async () => {
    const url = await freshDatabase();
    assert.deepEqual(await migrationStatus(url), { pending: await committedNames(), applied: [], failed: [] });
    assert.equal((await query(url, `SELECT to_regclass('_prisma_migrations') AS t`))[0]!.t, null);
  });

  test('npm run db:migrate:check passes on the committed migrations (own embedded Postgres)', () => {
    const env = { ...process.env };
    delete env.TEST_DATABASE_URL;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/migrate-create.ts', '--check'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stderr, /migrations match prisma\/schema\.prisma/);
  });

  test('the check fails, printing the missing SQL, for a schema with a model no migration covers', async () => {
    const schema = await readFile(schemaPath, 'utf8');
    const extra = path.join(tmp, 'extra.prisma');
    await writeFile(extra, `${schema}\nmodel ExtraThing {\n  id    Int    @id @default(autoincrement())\n  label String @unique\n\n  @@map("extra_things")\n}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/migrate-create.ts', '--check', '--schema', extra, '--url', server.connectionString], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 1, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /CREATE TABLE "extra_things"/);
    assert.match(r.stdout, /CREATE UNIQUE INDEX "extra_things_label_key"/);
    assert.doesNotMatch(r.stdout, /CREATE TABLE "users"/, 'only the uncovered change is printed');
    assert.match(r.stderr, /has changes that no migration covers/);
    const leftovers = await query(server.connectionString, `SELECT datname FROM pg_database WHERE datname LIKE 'cc_migrate_%'`);
    assert.deepEqual(leftovers, [], 'the scratch database was dropped');
  });

  test('create writes a new migration for the change that then checks clean, and writes nothing when there is no change', async () => {
    const dir = path.join(tmp, 'create-migrations');
    await cp(committedDir, dir, { recursive: true });
    const schema = await readFile(schemaPath, 'utf8');
    const extra = path.join(tmp, 'create.prisma');
    await writeFile(extra, `${schema}\nmodel Note {\n  id   Int    @id @default(autoincrement())\n  text String\n\n  @@map("notes")\n}\n`);
    const opts = { schemaPath: extra, migrationsDir: dir, serverUrl: server.connectionString };

    const created = await createMigration('add notes!', { ...opts, now: new Date('2000-01-01T00:00:00Z') });
    assert.ok(created.file);
    const folder = path.basename(path.dirname(created.file));
    assert.match(folder, /^\d{14}_add_notes$/);
    const names = await readdir(dir);
    assert.equal([...names].filter((n) => /^\d{14}_/.test(n)).sort().at(-1), folder, 'sorts after the existing ones even with a clock in the past');
    assert.match(await readFile(created.file, 'utf8'), /CREATE TABLE "notes"/);

    assert.equal((await diffSchemaAgainstMigrations(opts)).changed, false);
    const again = await createMigration('nothing', opts);
    assert.equal(again.file, null);
    assert.equal((await readdir(dir)).length, names.length, 'nothing written');
  });
});
