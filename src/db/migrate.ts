/**
 * Applies prisma/migrations the way `prisma migrate deploy` does, on `pg` alone, because
 * Prisma 7's migrate commands need a native schema engine that no package ships
 * (docs/decisions/002-migrations-without-native-engine.md). The rows written to
 * `_prisma_migrations` are the ones Prisma writes, so a machine that does have the native
 * engine can run `prisma migrate status|deploy|resolve` against the same database.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** Prisma's own key: holding it also keeps a concurrent native `prisma migrate deploy` out. */
export const MIGRATION_LOCK_KEY = 72707369;

/** Prisma's DDL for PostgreSQL, verbatim, so Prisma's CLI finds the table it expects. */
export const PRISMA_MIGRATIONS_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

/** What the runner needs from a logger; a pino Logger fits. */
export interface MigrationLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MigrateOptions {
  /** defaults to prisma/migrations of the package this file belongs to */
  migrationsDir?: string;
  log?: MigrationLogger;
  /**
   * How long to wait for another instance that holds the migration lock (it is applying
   * migrations, so waiting is right; hanging forever behind a stuck one is not).
   */
  lockTimeoutMs?: number;
}

export interface LocalMigration {
  name: string;
  file: string;
  /** the file as read: checksums are over these bytes, as Prisma's are */
  bytes: Buffer;
  script: string;
  checksum: string;
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

/**
 * The package root is the nearest folder up from this file that has a package.json and a
 * prisma/migrations folder. Walking up (rather than a fixed `../..`) keeps it right both for
 * src/db/migrate.ts under tsx and for dist/src/db/migrate.js after `tsc`, and skips a
 * package.json that a build may have copied into dist/.
 */
export function defaultMigrationsDir(from: string = fileURLToPath(import.meta.url)): string {
  let dir = path.dirname(from);
  let firstPackageRoot: string | undefined;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      firstPackageRoot ??= dir;
      const candidate = path.join(dir, 'prisma', 'migrations');
      if (isDirectory(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (firstPackageRoot) return path.join(firstPackageRoot, 'prisma', 'migrations');
  throw new MigrationError(`cannot find prisma/migrations: no package.json above ${path.dirname(from)}`);
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Prisma accepts an applied checksum when it matches the script as is or with its line
 * endings switched (git may have converted them), and, for tables written by old Prisma
 * versions, hex digits without zero padding. Mirror that so we warn exactly when Prisma would.
 */
export function checksumMatches(script: Buffer, checksum: string): boolean {
  const text = script.toString('utf8');
  const variants = [script, Buffer.from(text.replace(/\r\n/g, '\n')), Buffer.from(text.replace(/\n/g, '\r\n'))];
  return variants.some((v) => {
    const digest = createHash('sha256').update(v).digest();
    const hex = checksum.length !== 64 && checksum.length > 0 ? [...digest].map((b) => b.toString(16)).join('') : digest.toString('hex');
    return hex === checksum;
  });
}

/** Migration folders in Prisma's order (by name), each with its migration.sql. */
export async function readLocalMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  if (!isDirectory(migrationsDir)) {
    throw new MigrationError(`migrations folder ${migrationsDir} does not exist (create the first migration with npm run db:migrate:create -- init)`);
  }
  await checkLockfile(migrationsDir);
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(); // byte order, as Prisma sorts; folder names start with a UTC timestamp
  const out: LocalMigration[] = [];
  for (const name of names) {
    const file = path.join(migrationsDir, name, 'migration.sql');
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new MigrationError(`migration ${name} has no readable migration.sql (${(err as Error).message})`, name, { cause: err });
    }
    out.push({ name, file, bytes, script: bytes.toString('utf8'), checksum: sha256Hex(bytes) });
  }
  return out;
}

/** Prisma refuses to apply migrations written for another provider; so do we. */
async function checkLockfile(migrationsDir: string): Promise<void> {
  const lockfile = path.join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(lockfile)) return;
  const text = await readFile(lockfile, 'utf8');
  const m = /^\s*provider\s*=\s*"([^"]*)"/m.exec(text);
  if (m && m[1] !== 'postgresql') {
    throw new MigrationError(`${lockfile} says provider = "${m[1]}", but this database is PostgreSQL`);
  }
}

async function tableExists(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ t: string | null }>(`SELECT to_regclass('_prisma_migrations')::text AS t`);
  return r.rows[0]?.t != null;
}

async function readRows(client: pg.ClientBase): Promise<MigrationRow[]> {
  const r = await client.query<MigrationRow>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
       FROM _prisma_migrations ORDER BY started_at, migration_name`,
  );
  return r.rows;
}

/** Rows Prisma counts as applied: finished and not marked rolled back. */
function isApplied(row: MigrationRow): boolean {
  return row.finished_at !== null && row.rolled_back_at === null;
}

/** Rows Prisma counts as failed (P3009): never finished and not resolved as rolled back. */
function isFailed(row: MigrationRow): boolean {
  return row.finished_at === null && row.rolled_back_at === null;
}

function failedMessage(rows: MigrationRow[]): string {
  const lines = rows.map((r) => {
    const logs = r.logs ? `\n    ${r.logs.trim().split('\n').join('\n    ')}` : '';
    return `  - ${r.migration_name} (started ${r.started_at.toISOString()})${logs}`;
  });
  const first = rows[0]?.migration_name ?? '<name>';
  return (
    `refusing to apply migrations: ${rows.length} migration(s) failed earlier and may have left the database half-changed:\n` +
    `${lines.join('\n')}\n` +
    `Check the database by hand, finish or undo that migration's changes, then mark it resolved: ` +
    `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${first}' AND finished_at IS NULL ` +
    `(what \`prisma migrate resolve --rolled-back ${first}\` does) to have it applied again, ` +
    `or set finished_at = now(), applied_steps_count = 1 instead if its changes are complete.`
  );
}

/**
 * A script with its own BEGIN/COMMIT (Prisma writes those for enum value removals) cannot
 * be wrapped in our transaction: its COMMIT would end ours half-way. Such scripts are run
 * exactly the way Prisma runs every script. Comments, quoted strings and dollar-quoted
 * bodies are dropped first, so plpgsql's `BEGIN ... END;` blocks do not count.
 */
export function managesOwnTransaction(script: string): boolean {
  return /(?:^|;)\s*(?:BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b[^;]*;/i.test(stripLiteralsAndComments(script));
}

/** SQL with comments, strings, quoted identifiers and dollar-quoted bodies blanked out. */
export function stripLiteralsAndComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      out += ' ';
    } else if (c === "'" || c === '"') {
      // a doubled quote inside is an escaped quote, which this loop simply steps over
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j++;
      i = j + 1;
      out += ' ';
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end === -1 ? sql.length : end + tag.length;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function describePgError(err: unknown): string {
  const e = err as pg.DatabaseError;
  const parts = [e.message];
  if (e.code) parts.push(`(SQLSTATE ${e.code})`);
  if (e.detail) parts.push(`detail: ${e.detail}`);
  if (e.hint) parts.push(`hint: ${e.hint}`);
  if (e.where) parts.push(`where: ${e.where}`);
  if (e.position) parts.push(`at character ${e.position}`);
  return parts.join(' ');
}

async function connect(connectionString: string, log?: MigrationLogger): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, application_name: 'candlecast-migrate' });
  // A connection dropped between queries is reported as an 'error' event, which would crash
  // the process if nobody listened; the next query rejects anyway and says what happened.
  client.on('error', (err) => log?.warn({ err }, 'migration connection lost'));
  await client.connect();
  return client;
}

async function acquireLock(client: pg.Client, timeoutMs: number, log?: MigrationLogger): Promise<void> {
  const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MIGRATION_LOCK_KEY]);
  if (got.rows[0]?.ok) return;
  log?.info({ lockKey: MIGRATION_LOCK_KEY, timeoutMs }, 'another instance is applying migrations; waiting for it');
  // lock_timeout bounds the wait and wakes us the moment the lock is released, unlike polling.
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  } catch (err) {
    if ((err as pg.DatabaseError).code === '55P03') {
      throw new MigrationError(
        `timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${MIGRATION_LOCK_KEY})); ` +
          `another process holds it: find it with SELECT pid, application_name, state, query FROM pg_stat_activity ` +
          `WHERE pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ${MIGRATION_LOCK_KEY})`,
        undefined,
        { cause: err },
      );
    }
    throw err;
  } finally {
    await client.query('RESET lock_timeout').catch(() => undefined);
  }
}

/** Applies every migration folder not yet applied, in name order, holding Prisma's lock. */
export async function applyMigrations(
  connectionString: string,
  opts: MigrateOptions = {},
): Promise<{ applied: string[]; alreadyApplied: number }> {
  const { log } = opts;
  const migrationsDir = opts.migrationsDir ?? defaultMigrationsDir();
  const local = await readLocalMigrations(migrationsDir);
  const client = await connect(connectionString, log);
  let locked = false;
  try {
    await acquireLock(client, opts.lockTimeoutMs ?? 60_000, log);
    locked = true;
    // Under the lock: another instance may have created the table or applied everything
    // while we waited, so everything is read afresh here.
    if (!(await tableExists(client))) await client.query(PRISMA_MIGRATIONS_DDL);
    const rows = await readRows(client);

    const failed = rows.filter(isFailed);
    if (failed.length) throw new MigrationError(failedMessage(failed), failed[0]?.migration_name);

    const appliedRows = new Map<string, MigrationRow>();
    for (const row of rows) if (isApplied(row)) appliedRows.set(row.migration_name, row);
    const localNames = new Set(local.map((m) => m.name));

    let alreadyApplied = 0;
    const pending: LocalMigration[] = [];
    for (const m of local) {
      const row = appliedRows.get(m.name);
      if (!row) {
        pending.push(m);
        continue;
      }
      alreadyApplied++;
      if (!checksumMatches(m.bytes, row.checksum)) {
        log?.warn(
          { migration: m.name, file: m.file, recorded: row.checksum, current: m.checksum },
          'an applied migration was edited after it ran; the edit is NOT applied. Undo the edit and add a new migration instead',
        );
      }
    }
    const missing = [...appliedRows.keys()].filter((n) => !localNames.has(n));
    if (missing.length) {
      log?.warn({ migrations: missing, migrationsDir }, 'the database has applied migrations that are not in the migrations folder (is this an older build?)');
    }

    const applied: string[] = [];
    for (const m of pending) {
      const t0 = Date.now();
      await applyOne(client, m);
      applied.push(m.name);
      log?.info({ migration: m.name, ms: Date.now() - t0 }, 'applied migration');
    }
    return { applied, alreadyApplied };
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function applyOne(client: pg.Client, m: LocalMigration): Promise<void> {
  if (managesOwnTransaction(m.script)) return applyLikePrisma(client, m);

  // The script and its row commit together: there is no moment at which the schema has
  // changed but the table says otherwise, and a failure leaves the schema untouched.
  await client.query('BEGIN');
  // The database's clock, like Prisma's rows; now() is the start of this transaction.
  const startedAt = (await client.query<{ t: Date }>('SELECT now() AS t')).rows[0]?.t ?? new Date();
  try {
    // No parameters: pg then sends a simple query, which may hold many statements (and
    // plpgsql bodies), so the file is never split on semicolons.
    await client.query(m.script);
    await client.query(
      `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, $4, 1)`,
      [randomUUID(), m.checksum, m.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const reason = describePgError(err);
    // Nothing of the script stayed, so the row is written as rolled back: an audit trail that
    // neither we nor Prisma treat as blocking, and the fixed migration runs again next time.
    await client
      .query(
        `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
         VALUES ($1, $2, NULL, $3, $4, now(), $5, 0)`,
        [randomUUID(), m.checksum, m.name, reason, startedAt],
      )
      .catch(() => undefined);
    throw new MigrationError(`migration ${m.name} failed and was rolled back, the database is unchanged: ${reason} (file ${m.file})`, m.name, {
      cause: err,
    });
  }
}

/**
 * Prisma's own protocol: a started row first, then the script, then finished_at. A failure
 * leaves the row unfinished with the error in `logs`, which blocks later runs until a person
 * has looked, because part of such a script may have been committed.
 */
async function applyLikePrisma(client: pg.Client, m: LocalMigration): Promise<void> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
    [id, m.checksum, m.name],
  );
  try {
    await client.query(m.script);
  } catch (err) {
    const reason = describePgError(err);
    await client.query('ROLLBACK').catch(() => undefined); // in case the script left a transaction open
    await client.query('UPDATE _prisma_migrations SET logs = $2 WHERE id = $1', [id, reason]).catch(() => undefined);
    throw new MigrationError(
      `migration ${m.name} failed; it manages its own transactions, so part of it may have been committed: ${reason} (file ${m.file}). ` +
        `Later runs are blocked until it is resolved.`,
      m.name,
      { cause: err },
    );
  }
  await client.query('UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = 1 WHERE id = $1', [id]);
}

/**
 * Read-only view for /readyz and the CLI: which local migrations are applied, pending or
 * failed. Takes no lock and creates nothing.
 */
export async function migrationStatus(
  connectionString: string,
  opts: Pick<MigrateOptions, 'migrationsDir'> = {},
): Promise<{ pending: string[]; applied: string[]; failed: string[] }> {
  const local = await readLocalMigrations(opts.migrationsDir ?? defaultMigrationsDir());
  const client = await connect(connectionString);
  try {
    const rows = (await tableExists(client)) ? await readRows(client) : [];
    const applied = new Set(rows.filter(isApplied).map((r) => r.migration_name));
    const failed = [...new Set(rows.filter(isFailed).map((r) => r.migration_name))];
    return {
      pending: local.filter((m) => !applied.has(m.name)).map((m) => m.name),
      applied: local.filter((m) => applied.has(m.name)).map((m) => m.name),
      failed,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
