/**
 * `npm run bench:ingest`: imports the 70k hourly BTC candles (test/fixtures/kraken/XBTUSD_60.csv)
 * through the real import path (read, parse and validate every row, one transaction of batched
 * INSERT ... SELECT FROM unnest ... ON CONFLICT DO NOTHING, anomaly checks) and, beside it, a
 * server-side COPY of the same rows into the same table of the same Postgres (embedded, fresh
 * temp dir). Each is run on an empty table, alternately, ROUNDS times; the medians are printed.
 * Goal: the import takes at most 3x the COPY.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { createMarketModule } from '../src/modules/market/index.js';
import { parseCandleCsv } from '../src/modules/market/candles/index.js';
import { createMetrics } from '../src/modules/monitoring/index.js';
import { systemClock } from '../src/platform/clock.js';
import { EventBus } from '../src/platform/events.js';
import { createLogger } from '../src/platform/log.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FILE = path.join(ROOT, 'test/fixtures/kraken/XBTUSD_60.csv');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'candlecast-bench-'));
  await chmod(dir, 0o755);
  const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: '0'.repeat(64), DATA_DIR: path.join(dir, 'data'), BUNDLED_DATA: 'false', LOG_LEVEL: 'warn' });
  const log = createLogger({ level: 'warn', destination: process.stderr });
  const db = await openDatabase(config, log);
  try {
    const market = createMarketModule({ config, log, db, clock: systemClock, metrics: createMetrics(), events: new EventBus(log), root: ROOT });
    const { pair } = await market.service.ensurePair('XBTUSD');

    // The same rows as COPY input: the table's columns, written once before any timing.
    const parsed = parseCandleCsv(await readFile(FILE), { intervalMinutes: 60 });
    if (!parsed.ok) throw new Error('the fixture does not parse');
    const rows = parsed.candles.length;
    const copyFile = path.join(dir, 'candles.copy.csv');
    await writeFile(
      copyFile,
      parsed.candles.map((c) => `${pair.id},60,${new Date(c.time * 1000).toISOString()},${c.open},${c.high},${c.low},${c.close},${c.volume},${c.trades},,import`).join('\n') + '\n',
    );
    await chmod(copyFile, 0o644);

    const copyMs: number[] = [];
    const importMs: number[] = [];
    const parts: { parse: number; store: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await db.pool.query('TRUNCATE candles');
      await db.pool.query('CHECKPOINT');
      let t0 = performance.now();
      const copied = await db.pool.query(
        `COPY candles ("pairId", "interval", "time", "open", "high", "low", "close", "volume", "trades", "vwap", "source") FROM '${copyFile.replace(/'/g, "''")}' WITH (FORMAT csv)`,
      );
      copyMs.push(performance.now() - t0);
      if (copied.rowCount !== rows) throw new Error(`COPY stored ${copied.rowCount} rows, expected ${rows}`);

      await db.pool.query('TRUNCATE candles');
      await db.pool.query('CHECKPOINT');
      let parsedAt = 0;
      t0 = performance.now();
      const text = await readFile(FILE);
      const r = await market.importer.importCsv(pair, 60, text, {
        onProgress: (p) => {
          if (p.phase === 'parse') parsedAt = performance.now();
        },
      });
      const t1 = performance.now();
      importMs.push(t1 - t0);
      parts.push({ parse: parsedAt - t0, store: t1 - parsedAt });
      if (r.inserted !== rows) throw new Error(`the import stored ${r.inserted} rows, expected ${rows}`);
    }
    const imp = median(importMs);
    const copy = median(copyMs);
    const part = parts[importMs.indexOf(imp)]!;
    console.log(`rows            ${rows}`);
    console.log(`import ms       ${imp.toFixed(0)}   (read+parse+validate ${part.parse.toFixed(0)}, store+anomalies ${part.store.toFixed(0)}; median of ${ROUNDS})`);
    console.log(`COPY ms         ${copy.toFixed(0)}   (median of ${ROUNDS})`);
    console.log(`ratio           ${(imp / copy).toFixed(2)}   (goal <= 3)`);
    console.log(`import rows/s   ${Math.round(rows / (imp / 1000))}`);
    console.log(`COPY rows/s     ${Math.round(rows / (copy / 1000))}`);
    console.log(`all rounds      import ${importMs.map((x) => x.toFixed(0)).join(', ')}; COPY ${copyMs.map((x) => x.toFixed(0)).join(', ')}`);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
