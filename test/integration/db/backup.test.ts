/**
 * Backup and restore through the operator CLI, on real Postgres servers: a populated install
 * (candles, a trained model, live predictions, users) is backed up while its server runs, a
 * fresh data directory is restored from the file, and every table's row count and a checksum
 * of all candles match. A non-empty target is refused (unless --force) and a cut file restores
 * nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, chmod, readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startWorld, btcDailyLines, SMALL_SUITE, QUICK_VALIDATION, type World } from '../predictions/setup.js';
import { startEmbeddedPostgres } from '../../../src/db/embedded.js';
import { runCli } from '../../support/cli.js';

// every column of every candle, as Postgres prints it, in key order
const CANDLE_SUM = `SELECT md5(string_agg(c::text, ';' ORDER BY "pairId", interval, time)) AS h, count(*)::int AS n FROM candles c`;

async function snapshot(connectionString: string): Promise<{ counts: Record<string, number>; candles: { h: string; n: number }; seq: string }> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    const tables = await c.query<{ relname: string }>(`SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND relkind = 'r' AND relname <> '_prisma_migrations' ORDER BY relname`);
    const counts: Record<string, number> = {};
    for (const t of tables.rows) counts[t.relname] = (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.relname}"`)).rows[0]!.n;
    const candles = (await c.query<{ h: string; n: number }>(CANDLE_SUM)).rows[0]!;
    const seq = (await c.query<{ v: string }>(`SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = 'predictions_id_seq'`)).rows[0]?.v ?? '';
    return { counts, candles, seq };
  } finally {
    await c.end();
  }
}

describe('backup and restore (CLI)', { timeout: 600_000 }, () => {
  let w: World;
  let tmp: string;
  let file: string;
  let source: Awaited<ReturnType<typeof snapshot>>;
  /** env that points the CLI at the running source install */
  let sourceEnv: Record<string, string | undefined>;

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'candlecast-backup-'));
    await chmod(tmp, 0o755);
    const lines = btcDailyLines();
    w = await startWorld({ lines: lines.slice(0, 900) });
    const r = await w.send('POST', '/api/prediction/train', { pair: 'BTC/USD', interval: '1d', suite: SMALL_SUITE, validation: QUICK_VALIDATION });
    assert.equal(r.status, 202);
    const run = await w.waitRun(r.body.run_id);
    assert.equal(run.status, 'succeeded');
    await w.importLines(lines.slice(900, 960)); // live predictions and scores
    // The embedded source is reached through its data dir (the running server is found, not
    // restarted); an external one through DATABASE_URL.
    sourceEnv = w.app.db.dataDir ? { DATA_DIR: w.app.db.dataDir } : { DATABASE_URL: w.app.db.connectionString, DATA_DIR: w.app.dataDir };
    file = path.join(tmp, 'all.ccbak');
    source = await snapshot(w.app.db.connectionString);
    assert.ok(source.candles.n >= 960);
    assert.ok(source.counts.predictions! > 0 && source.counts.model_runs! > 0 && source.counts.users! >= 2);
  });
  after(async () => {
    await w?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  test('backup writes a gzip file while the server runs, and the server keeps answering', async () => {
    const r = await runCli(['backup', file], sourceEnv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /backed up .* tables, [\d,]+ rows/);
    const raw = await readFile(file);
    assert.equal(raw[0], 0x1f);
    assert.equal(raw[1], 0x8b);
    const header = JSON.parse(gunzipSync(raw).toString('utf8').split('\n')[0]!);
    assert.equal(header.format, 'candlecast-backup');
    assert.equal(header.tables.find((t: { name: string }) => t.name === 'candles').rows, source.candles.n);
    assert.ok(header.migrations.length > 0);
    assert.equal((await w.get('/api/prediction/best-model')).status, 200, 'the server still serves after the backup');
  });

  test('restore into a fresh data directory brings back every row count and the candle checksum', async () => {
    const fresh = path.join(tmp, 'fresh');
    const r = await runCli(['restore', file], { DATA_DIR: fresh });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restored \d+ tables/);
    const db = await startEmbeddedPostgres({ dataDir: fresh });
    try {
      const restored = await snapshot(db.connectionString);
      assert.deepEqual(restored.counts, source.counts);
      assert.deepEqual(restored.candles, source.candles);
      assert.equal(restored.seq, source.seq, 'sequences continue where the source was');
    } finally {
      await db.stop();
    }

    // a second restore into the now populated directory is refused and changes nothing
    const again = await runCli(['restore', file], { DATA_DIR: fresh });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty .* --force/);

    // --force replaces the contents: the counts are the backup's, not doubled
    const forced = await runCli(['restore', file, '--force'], { DATA_DIR: fresh });
    assert.equal(forced.code, 0, forced.stderr);
    const db2 = await startEmbeddedPostgres({ dataDir: fresh });
    try {
      assert.deepEqual((await snapshot(db2.connectionString)).counts, source.counts);
    } finally {
      await db2.stop();
    }
  });

  test('a cut or foreign file is refused and leaves the target empty', async () => {
    const text = gunzipSync(await readFile(file)).toString('utf8');
    const cut = path.join(tmp, 'cut.ccbak');
    await writeFile(cut, gzipSync(text.slice(0, Math.floor(text.length / 2)).replace(/\n[^\n]*$/, '\n')));
    const target = path.join(tmp, 'target-cut');
    const r = await runCli(['restore', cut], { DATA_DIR: target });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cut short|announced/);
    const db = await startEmbeddedPostgres({ dataDir: target });
    try {
      const s = await snapshot(db.connectionString);
      assert.equal(s.candles.n, 0);
      assert.ok(Object.values(s.counts).every((n) => n === 0), 'nothing was restored');
    } finally {
      await db.stop();
    }
    const foreign = path.join(tmp, 'foreign.ccbak');
    await writeFile(foreign, gzipSync('{"hello":1}\n'));
    const f = await runCli(['restore', foreign], { DATA_DIR: target });
    assert.equal(f.code, 1);
    assert.match(f.stderr, /not a candlecast backup/);
    const missing = await runCli(['restore', path.join(tmp, 'nope.ccbak')], { DATA_DIR: target });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such backup file/);
  });
});
