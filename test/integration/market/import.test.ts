/**
 * CSV import through the admin API and the CLI: Kraken OHLCVT files and CSVs with a header
 * (any column order, ascending or descending); a file with a bad row changes nothing and
 * names the bad lines; rows already stored are left as they are.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertEqualsSource } from './compare.js';
import { startMarketWorld, ts, type MarketWorld } from './setup.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

async function upload(w: MarketWorld, pair: string, interval: string, body: string, account = w.admin) {
  const r = await w.app.fetch(`/api/crypto/assets/${encodeURIComponent(pair)}/import?interval=${interval}`, { method: 'POST', token: account.token, headers: { 'content-type': 'text/csv' }, body });
  return { status: r.status, body: (await r.json()) as any };
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('candle CSV import', () => {
  let w: MarketWorld;
  let tmp: string;
  const daily = () => w.kraken.sourceCandles('XBTUSD', 1440);
  const count = async (pair: string, interval: number) => (await w.market.service.getExactCandles(pair, interval)).length;

  before(async () => {
    w = await startMarketWorld();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'candlecast-import-'));
    assert.equal((await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', backfill: false })).status, 201);
  });
  after(async () => {
    await w?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test("a Kraken OHLCVT file through the API: stored exactly, source 'import'", async () => {
    const rows = daily().filter((c) => c.time >= ts('2019-01-01') && c.time < ts('2020-01-01'));
    const csv = rows.map((c) => [c.time, c.open, c.high, c.low, c.close, c.volume, c.trades].join(',')).join('\n') + '\n';
    const r = await upload(w, 'XBTUSD', '1d', csv);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.format, 'kraken-ohlcvt');
    assert.equal(r.body.rows, 365);
    assert.equal(r.body.inserted, 365);
    assert.equal(r.body.existing, 0);
    await assertEqualsSource(w, 'XBTUSD', 1440, ts('2019-01-01'), ts('2020-01-01'));
    const stored = await w.market.service.getExactCandles('XBTUSD', 1440, ts('2019-01-01'), ts('2020-01-01'));
    assert.ok(stored.every((c) => c.source === 'import'));
  });

  test('a CSV with a header in another column order, newest first, with ISO dates; overlapping rows are left alone', async () => {
    const rows = daily().filter((c) => c.time >= ts('2019-12-01') && c.time < ts('2020-03-01'));
    const lines = ['Close,Volume,Date,Open,High,Low,Trades'];
    for (const c of [...rows].reverse()) lines.push([c.close, c.volume, new Date(c.time * 1000).toISOString().slice(0, 10), c.open, c.high, c.low, c.trades].join(','));
    const r = await upload(w, 'XBT/USD', '1d', lines.join('\r\n'));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.format, 'header');
    assert.equal(r.body.order, 'descending');
    assert.equal(r.body.rows, rows.length);
    assert.equal(r.body.existing, 31);
    assert.equal(r.body.inserted, rows.length - 31);
    await assertEqualsSource(w, 'XBTUSD', 1440, ts('2019-01-01'), ts('2020-03-01'));
  });

  test('a file with bad rows changes nothing and names each bad line', async () => {
    const before = await count('XBTUSD', 60);
    const good = w.kraken.sourceCandles('XBTUSD', 60).slice(100, 160);
    const lines = good.map((c) => [c.time, c.open, c.high, c.low, c.close, c.volume, c.trades].join(','));
    lines[9] = lines[9]!.replace(/^(\d+),([^,]+),([^,]+),/, '$1,$2,0.5,'); // high below the open
    lines[29] = lines[29]!.replace(/,(\d+)$/, ',many'); // trades not a number
    lines[44] = `${good[44]!.time + 60},1,1,1,1,1,1`; // not on the hour
    const r = await upload(w, 'XBTUSD', '1h', lines.join('\n') + '\n');
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'invalid_csv');
    assert.deepEqual(r.body.error.details.errors.map((e: any) => e.line), [10, 30, 45]);
    assert.match(r.body.error.details.errors[0].reason, /high .* is below/);
    assert.match(r.body.error.details.errors[1].reason, /trades "many"/);
    assert.match(r.body.error.details.errors[2].reason, /not aligned/);
    assert.match(r.body.error.message, /nothing changed/);
    assert.equal(await count('XBTUSD', 60), before);
  });

  test('a candle whose interval has not ended is not stored; users may not import; unknown pairs and intervals are refused', async () => {
    const now = w.kraken.now();
    const open = Math.floor(now / 3600) * 3600;
    const src = w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time < open).slice(-2);
    const lines = [...src.map((c) => [c.time, c.open, c.high, c.low, c.close, c.volume, c.trades].join(',')), `${open},100,101,99,100,1,3`];
    const r = await upload(w, 'XBTUSD', '1h', lines.join('\n'));
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.skipped_open, 1);
    assert.equal(r.body.inserted, 2);
    assert.equal((await upload(w, 'XBTUSD', '1h', lines.join('\n'), w.user)).status, 403);
    assert.equal((await upload(w, 'DOGEUSD', '1h', lines.join('\n'))).status, 404);
    assert.equal((await upload(w, 'XBTUSD', '5m', lines.join('\n'))).status, 422);
    assert.equal((await upload(w, 'XBTUSD', '1h', '')).status, 400);
  });

  test('npm run cli -- import-csv: a whole Kraken file with its summary; a bad file exits 1 naming the lines', async () => {
    const env = { DATABASE_URL: w.app.db.connectionString, DATA_DIR: tmp, KRAKEN_API_URL: w.kraken.url, BUNDLED_DATA: 'false', SCHEDULER_ENABLED: 'false' };
    const eth = path.join(ROOT, 'data/bundled/ETHUSD_1440.csv');
    const ok = await runCli(['import-csv', '--pair', 'ETHUSD', '--interval', '1d', eth], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /3063 rows \(kraken-ohlcvt, ascending\)/);
    assert.match(ok.stdout, /3063 candles added to ETHUSD 1d, 0 already stored/);
    // the app's clock is the stand-in's (2023-01-07): reads stop there, the CLI (wall clock) stored all rows
    const n = await assertEqualsSource(w, 'ETHUSD', 1440, 0, ts('2023-01-07'));
    assert.equal(n, w.kraken.sourceCandles('ETHUSD', 1440).filter((c) => c.time < ts('2023-01-07')).length);
    // anomalies found while importing are visible in the API
    const flagged = await w.get('/api/crypto/assets/ETHUSD/anomalies');
    assert.equal(flagged.status, 200);
    assert.ok(flagged.body.length > 0);
    assert.ok(flagged.body.every((c: any) => c.anomaly === true && /robust SD/.test(c.anomaly_reason)));
    const history = await w.get(`/api/crypto/asset_history/ETHUSD?start_date=${flagged.body[0].dtutc}&limit=1`);
    assert.equal(history.body[0].anomaly, true);

    const again = await runCli(['import-csv', '--pair', 'ETHUSD', '--interval', '1d', eth], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 candles added to ETHUSD 1d, 3063 already stored/);

    const text = await readFile(eth, 'utf8');
    const lines = text.split('\n');
    lines[2] = lines[2]!.replace(/,[^,]+,([^,]+),([^,]+),([^,]+),([^,]+),(\d+)$/, ',-1,$1,$2,$3,$4,$5');
    const bad = path.join(tmp, 'bad.csv');
    await writeFile(bad, lines.join('\n'));
    const before = await count('XBTUSD', 1440);
    const refused = await runCli(['import-csv', '--pair', 'XBTUSD', '--interval', '1d', bad], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /was not imported \(nothing changed\)/);
    assert.match(refused.stderr, /line 3: open -1 must be greater than 0/);
    assert.equal(await count('XBTUSD', 1440), before);
  });
});
