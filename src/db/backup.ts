/**
 * Backup and restore of the whole database as one gzip-compressed, line-oriented file,
 * written by the app itself over `pg` (docs/decisions/118-backup-retention.md says why not
 * pg_dump: no pg_dump able to read the embedded PostgreSQL 18 ships on npm or Debian 12, and
 * pg_dump refuses a server newer than itself).
 *
 * Consistency: every table is read inside one REPEATABLE READ READ ONLY transaction, so the
 * file is one snapshot even while the server keeps ingesting. Rows travel as Postgres's own
 * `row_to_json` text and come back through `json_populate_recordset`, so every value is
 * converted by Postgres both ways (no float or bigint goes through a JS number).
 *
 * File layout (after gunzip), one record per line:
 *   {"format":"candlecast-backup","version":1,...header}   tables, row counts, migrations
 *   r<TAB>table<TAB>row-json                                 one per row, tables in FK order
 *   s<TAB>sequence<TAB>last_value                            sequence positions
 *   e<TAB>{"rows":N}                                         the end mark (a cut file lacks it)
 * The schema itself is not in the file: restore applies this install's migrations first and
 * refuses a backup that has migrations this install does not know.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import readline from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import pg from 'pg';

export const BACKUP_FORMAT = 'candlecast-backup';
export const BACKUP_VERSION = 1;
const MIGRATIONS_TABLE = '_prisma_migrations';
/** rows per INSERT on restore, and per FETCH on backup */
const BATCH_ROWS = 5000;
/** flush a restore batch early once its JSON passes this size (model artifacts are large) */
const BATCH_BYTES = 16 * 1024 * 1024;

export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  serverVersion: string;
  database: string;
  migrations: string[];
  tables: { name: string; rows: number }[];
}

export interface BackupSummary {
  file: string;
  tables: { name: string; rows: number }[];
  totalRows: number;
  bytes?: number;
}

export class BackupError extends Error {
  override name = 'BackupError';
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Base tables of the current schema, parents before children (by foreign keys). */
async function tablesInFkOrder(client: pg.ClientBase): Promise<string[]> {
  const t = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r','p') AND NOT c.relispartition AND c.relname <> $1
      ORDER BY c.relname`,
    [MIGRATIONS_TABLE],
  );
  const fk = await client.query<{ child: string; parent: string }>(
    `SELECT cc.relname AS child, pc.relname AS parent FROM pg_constraint k
       JOIN pg_class cc ON cc.oid = k.conrelid JOIN pg_class pc ON pc.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = cc.relnamespace
      WHERE k.contype = 'f' AND n.nspname = current_schema() AND cc.oid <> pc.oid`,
  );
  const names = t.rows.map((r) => r.name);
  const parents = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  for (const r of fk.rows) parents.get(r.child)?.add(r.parent);
  const out: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();
  const visit = (n: string) => {
    if (done.has(n)) return;
    if (visiting.has(n)) throw new BackupError(`foreign keys form a cycle through ${n}`);
    visiting.add(n);
    for (const p of parents.get(n) ?? []) if (parents.has(p)) visit(p);
    visiting.delete(n);
    done.add(n);
    out.push(n);
  };
  for (const n of names) visit(n);
  return out;
}

async function appliedMigrations(client: pg.ClientBase): Promise<string[]> {
  const exists = await client.query(`SELECT to_regclass($1) AS t`, [MIGRATIONS_TABLE]);
  if (!exists.rows[0]?.t) return [];
  const r = await client.query<{ migration_name: string }>(
    `SELECT migration_name FROM ${MIGRATIONS_TABLE} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return r.rows.map((x) => x.migration_name);
}

async function sequences(client: pg.ClientBase): Promise<{ name: string; value: string | null }[]> {
  const r = await client.query<{ name: string; value: string | null }>(
    `SELECT sequencename AS name, last_value::text AS value FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename`,
  );
  return r.rows;
}

/** Writes the backup to `file` (through a temporary file, renamed at the end). */
export async function writeBackup(connectionString: string, file: string, opts: { now?: Date; onTable?: (name: string, rows: number) => void } = {}): Promise<BackupSummary> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const tmp = `${file}.partial`;
  const out = createWriteStream(tmp, { mode: 0o600 });
  const gz = createGzip({ level: 6 });
  gz.pipe(out);
  const write = async (s: string) => {
    if (!gz.write(s)) await once(gz, 'drain');
  };
  let ok = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = await tablesInFkOrder(client);
    const counts: { name: string; rows: number }[] = [];
    for (const name of tables) {
      const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(name)}`);
      counts.push({ name, rows: Number(r.rows[0]!.n) });
    }
    const version = await client.query<{ v: string; db: string }>(`SELECT current_setting('server_version') AS v, current_database() AS db`);
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: (opts.now ?? new Date()).toISOString(),
      serverVersion: version.rows[0]!.v,
      database: version.rows[0]!.db,
      migrations: await appliedMigrations(client),
      tables: counts,
    };
    await write(JSON.stringify(header) + '\n');
    let total = 0;
    for (const name of tables) {
      const cursor = `cc_backup_${tables.indexOf(name)}`;
      await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS j FROM ${quoteIdent(name)} t`);
      let n = 0;
      for (;;) {
        const r = await client.query<{ j: string }>(`FETCH ${BATCH_ROWS} FROM ${cursor}`);
        for (const row of r.rows) await write(`r\t${name}\t${row.j}\n`);
        n += r.rows.length;
        if (r.rows.length < BATCH_ROWS) break;
      }
      await client.query(`CLOSE ${cursor}`);
      total += n;
      opts.onTable?.(name, n);
    }
    for (const s of await sequences(client)) if (s.value !== null) await write(`s\t${s.name}\t${s.value}\n`);
    await write(`e\t${JSON.stringify({ rows: total })}\n`);
    await client.query('COMMIT');
    gz.end();
    await once(out, 'close');
    await rename(tmp, file);
    ok = true;
    return { file, tables: counts, totalRows: total };
  } finally {
    if (!ok) {
      gz.destroy();
      out.destroy();
      await rm(tmp, { force: true });
      await client.query('ROLLBACK').catch(() => undefined);
    }
    await client.end().catch(() => undefined);
  }
}

async function* backupLines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file).pipe(createGunzip());
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (err) {
    throw new BackupError(`${file} is not a readable candlecast backup (${(err as Error).message})`);
  }
}

/** Reads only the header (for `restore --dry-run` and checks). */
export async function readBackupHeader(file: string): Promise<BackupHeader> {
  for await (const line of backupLines(file)) return parseHeader(line, file);
  throw new BackupError(`${file} is empty`);
}

function parseHeader(line: string, file: string): BackupHeader {
  let h: BackupHeader;
  try {
    h = JSON.parse(line) as BackupHeader;
  } catch {
    throw new BackupError(`${file} is not a candlecast backup (no header)`);
  }
  if (h.format !== BACKUP_FORMAT) throw new BackupError(`${file} is not a candlecast backup`);
  if (h.version !== BACKUP_VERSION) throw new BackupError(`${file} is backup format version ${h.version}; this candlecast reads version ${BACKUP_VERSION}`);
  return h;
}

/** Tables of the target that hold rows (the migrations table aside). */
export async function nonEmptyTables(connectionString: string): Promise<string[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const out: string[] = [];
    for (const t of await tablesInFkOrder(client)) {
      const r = await client.query(`SELECT 1 FROM ${quoteIdent(t)} LIMIT 1`);
      if (r.rowCount) out.push(t);
    }
    return out;
  } finally {
    await client.end();
  }
}

/**
 * Loads a backup into a database whose schema is already migrated. Refuses a database that
 * holds rows unless `force` (then its tables are emptied first, in the same transaction), and
 * a backup taken with migrations this install lacks. All in one transaction: a failure leaves
 * the target as it was.
 */
export async function restoreBackup(connectionString: string, file: string, opts: { force?: boolean; onTable?: (name: string, rows: number) => void } = {}): Promise<BackupSummary> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  let inTx = false;
  try {
    const lines = backupLines(file);
    const first = await lines.next();
    if (first.done) throw new BackupError(`${file} is empty`);
    const header = parseHeader(first.value, file);

    const known = new Set(await appliedMigrations(client));
    const unknown = header.migrations.filter((m) => !known.has(m));
    if (unknown.length) {
      throw new BackupError(`the backup was taken by a newer candlecast (migrations this install lacks: ${unknown.join(', ')}); upgrade first, then restore`);
    }
    const targetTables = await tablesInFkOrder(client);
    const targetSet = new Set(targetTables);
    const missing = header.tables.map((t) => t.name).filter((t) => !targetSet.has(t));
    if (missing.length) throw new BackupError(`the backup has tables this database lacks: ${missing.join(', ')}`);

    await client.query('BEGIN');
    inTx = true;
    const busy: string[] = [];
    for (const t of targetTables) {
      const r = await client.query(`SELECT 1 FROM ${quoteIdent(t)} LIMIT 1`);
      if (r.rowCount) busy.push(t);
    }
    if (busy.length && !opts.force) {
      throw new BackupError(`the target database is not empty (rows in ${busy.join(', ')}); restore into an empty data directory or database, or pass --force to replace its contents`);
    }
    if (busy.length) await client.query(`TRUNCATE ${targetTables.map(quoteIdent).join(', ')} RESTART IDENTITY CASCADE`);

    const columns = new Map<string, string[]>();
    const colsOf = async (table: string) => {
      let c = columns.get(table);
      if (!c) {
        const r = await client.query<{ attname: string }>(
          `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
          [quoteIdent(table)],
        );
        c = r.rows.map((x) => x.attname);
        columns.set(table, c);
      }
      return c;
    };
    // Only the columns the backup carries are inserted, so a backup from an older schema gets
    // the defaults of columns added since.
    const flush = async (table: string, rows: string[]) => {
      if (!rows.length) return;
      const present = Object.keys(JSON.parse(rows[0]!) as object);
      const cols = await colsOf(table);
      const extra = present.filter((c) => !cols.includes(c));
      if (extra.length) throw new BackupError(`the backup's ${table} has columns this database lacks: ${extra.join(', ')}`);
      const list = present.map(quoteIdent).join(', ');
      await client.query(`INSERT INTO ${quoteIdent(table)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${quoteIdent(table)}, $1::json)`, [`[${rows.join(',')}]`]);
    };

    const loaded = new Map<string, number>();
    let current = '';
    let batch: string[] = [];
    let bytes = 0;
    let ended = false;
    for await (const line of lines) {
      const kind = line.slice(0, 2);
      if (kind === 'r\t') {
        const tab = line.indexOf('\t', 2);
        const table = line.slice(2, tab);
        const json = line.slice(tab + 1);
        if (table !== current) {
          await flush(current, batch);
          if (current) opts.onTable?.(current, loaded.get(current) ?? 0);
          batch = [];
          bytes = 0;
          current = table;
          if (!targetSet.has(table)) throw new BackupError(`the backup has rows for an unknown table ${table}`);
        }
        batch.push(json);
        bytes += json.length;
        loaded.set(table, (loaded.get(table) ?? 0) + 1);
        if (batch.length >= BATCH_ROWS || bytes >= BATCH_BYTES) {
          await flush(current, batch);
          batch = [];
          bytes = 0;
        }
      } else if (kind === 's\t') {
        await flush(current, batch);
        batch = [];
        const [, name, value] = line.split('\t');
        await client.query('SELECT setval($1::regclass, $2::bigint, true)', [quoteIdent(name!), value]);
      } else if (kind === 'e\t') {
        ended = true;
      } else if (line.length) {
        throw new BackupError(`${file} has an unreadable line`);
      }
    }
    await flush(current, batch);
    if (current) opts.onTable?.(current, loaded.get(current) ?? 0);
    if (!ended) throw new BackupError(`${file} is cut short (no end mark): it was not written to the end; nothing was restored`);
    for (const t of header.tables) {
      const got = loaded.get(t.name) ?? 0;
      if (got !== t.rows) throw new BackupError(`${t.name}: the backup announced ${t.rows} rows but holds ${got}; nothing was restored`);
    }
    await client.query('COMMIT');
    inTx = false;
    const total = header.tables.reduce((s, t) => s + t.rows, 0);
    return { file, tables: header.tables, totalRows: total };
  } finally {
    if (inTx) await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
