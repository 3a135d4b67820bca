import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCsvErrors, parseCandleCsv, type CandleCsvResult } from '../../../src/modules/market/candles/csv.js';
import type { ExactCandle } from '../../../src/platform/candle.js';
import { norm, readProjectFile } from './market-helpers.js';

const BTC_DAILY = readProjectFile('data/bundled/XBTUSD_1440.csv');

function ok(r: CandleCsvResult): ExactCandle[] {
  if (!r.ok) assert.fail(`expected a good parse, got:\n${formatCsvErrors(r.errors, r.truncated)}`);
  return r.candles;
}

function errors(r: CandleCsvResult) {
  assert.equal(r.ok, false, 'expected the parse to fail');
  return (r as Extract<CandleCsvResult, { ok: false }>).errors;
}

const iso = (t: number) => new Date(t * 1000).toISOString();

// ---- good files --------------------------------------------------------------------------

test('reads the bundled Kraken OHLCVT files as published', () => {
  const r = parseCandleCsv(BTC_DAILY, { intervalMinutes: 1440 });
  const candles = ok(r);
  assert.equal(r.ok && r.format, 'kraken-ohlcvt');
  assert.equal(r.ok && r.order, 'ascending');
  assert.equal(candles.length, 3727);
  assert.deepEqual(candles[0], { time: 1381017600, open: '122.0', high: '122.0', low: '122.0', close: '122.0', volume: '0.1', trades: 1 });
  assert.deepEqual(candles.at(-1), { time: 1703980800, open: '42150.1', high: '42874.4', low: '41991.1', close: '42241.1', volume: '1509.62365704', trades: 15673 });

  const eth = ok(parseCandleCsv(readProjectFile('data/bundled/ETHUSD_1440.csv'), { intervalMinutes: 1440 }));
  assert.equal(eth.length, 3063);
  // The file writes one volume as 4E+2; it is kept exact, in plain notation.
  assert.equal(eth.find((c) => c.time === 1443744000)?.volume, '400');

  const hourly = ok(parseCandleCsv(readProjectFile('test/fixtures/kraken/XBTUSD_60.csv'), { intervalMinutes: 60 }));
  assert.equal(hourly.length, 70253);
});

test('reads the 6-column Kraken variant without trade counts', () => {
  const text = BTC_DAILY.split('\n')
    .slice(0, 40)
    .map((l) => l.split(',').slice(0, 6).join(','))
    .join('\n');
  const r = parseCandleCsv(text, { intervalMinutes: 1440 });
  const candles = ok(r);
  assert.equal(r.ok && r.format, 'kraken-ohlcv');
  assert.equal(candles.length, 40);
  assert.ok(candles.every((c) => c.trades === 0));
});

test('reads a header CSV in any column order, descending, with ISO dates', () => {
  const source = ok(parseCandleCsv(BTC_DAILY, { intervalMinutes: 1440 })).slice(1000, 1100);
  const lines = ['Volume,close,Date,low,open,High,Trades'];
  for (const c of [...source].reverse()) lines.push([c.volume, c.close, iso(c.time).slice(0, 10), c.low, c.open, c.high, c.trades].join(','));
  const r = parseCandleCsv(lines.join('\n'), { intervalMinutes: 1440 });
  const candles = ok(r);
  assert.equal(r.ok && r.format, 'header');
  assert.equal(r.ok && r.order, 'descending');
  assert.deepEqual(candles.map((c) => norm(c)), source.map((c) => norm(c)));
});

test('reads unix milliseconds, quoted headers, a BOM, CRLF and a unit-named volume column', () => {
  const text =
    '\ufeff"timestamp","open","high","low","close","Volume BTC"\r\n' +
    '1672531200000,"16541.2",16628.0,16499.9,16616.4,1043.8\r\n' +
    '1672617600000,16616.4,16770.2,16584.9,16672.9,1818.6\r\n';
  const candles = ok(parseCandleCsv(text, { intervalMinutes: 1440 }));
  assert.deepEqual(candles.map((c) => [c.time, c.open, c.volume, c.trades]), [
    [1672531200, '16541.2', '1043.8', 0],
    [1672617600, '16616.4', '1818.6', 0],
  ]);
});

test('reads ISO datetimes with and without zone as UTC, hourly', () => {
  const text = ['time,open,high,low,close,volume', '2023-01-01 01:00:00,1,2,1,2,5', '2023-01-01T02:00:00Z,2,2,1,1,5', '2023-01-01T04:00:00+01:00,1,1,1,1,1'].join('\n');
  const candles = ok(parseCandleCsv(text, { intervalMinutes: 60 }));
  assert.deepEqual(
    candles.map((c) => c.time),
    [1672534800, 1672538400, 1672542000],
  );
});

test('sorts an unordered file and says so', () => {
  const text = ['1381190400,123.91,124.19,123.9,124.18,3.9916,4', '1381017600,122.0,122.0,122.0,122.0,0.1,1', '1381104000,123.61,123.61,123.61,123.61,0.1,1'].join('\n');
  const r = parseCandleCsv(text, { intervalMinutes: 1440 });
  assert.deepEqual(
    ok(r).map((c) => c.time),
    [1381017600, 1381104000, 1381190400],
  );
  assert.equal(r.ok && r.order, 'unordered');
});

// ---- bad files: every rule, with the line a person would look at ---------------------------

const GOOD = '1381017600,122.0,122.0,122.0,122.0,0.1,1';
function withBadLine(bad: string, before = 2): string {
  const rows = [GOOD];
  for (let i = 1; i < before; i++) rows.push(`${1381017600 + i * 86400},122.0,122.0,122.0,122.0,0.1,1`);
  rows.push(bad);
  return rows.join('\n');
}

test('high below open or close', () => {
  const e = errors(parseCandleCsv(withBadLine('1381190400,123.91,124.0,123.9,124.18,3.9916,4'), { intervalMinutes: 1440 }));
  assert.deepEqual(e, [{ line: 3, reason: 'high 124.0 is below close 124.18' }]);
});

test('low above open or close', () => {
  const e = errors(parseCandleCsv(withBadLine('1381363200,123.91,124.19,124.0,124.18,3.9916,4', 4), { intervalMinutes: 1440 }));
  assert.deepEqual(e, [{ line: 5, reason: 'low 124.0 is above open 123.91' }]);
});

test('prices must be positive, volume not negative', () => {
  const e = errors(parseCandleCsv([GOOD, '1381104000,0,1,0,1,1,1', '1381190400,1,1,1,1,-0.5,1'].join('\n'), { intervalMinutes: 1440 }));
  assert.deepEqual(e, [
    { line: 2, reason: 'open 0 must be greater than 0' },
    { line: 2, reason: 'low 0 must be greater than 0' },
    { line: 3, reason: 'volume -0.5 must not be negative' },
  ]);
});

test('time aligned to the interval', () => {
  const e = errors(parseCandleCsv(withBadLine('1381105800,122.0,122.0,122.0,122.0,0.1,1'), { intervalMinutes: 1440 }));
  assert.equal(e.length, 1);
  assert.equal(e[0]!.line, 3);
  assert.match(e[0]!.reason, /1381105800 \(2013-10-07T00:30:00Z\) is not aligned to the 1440-minute interval/);
});

test('no duplicate times, naming the first line', () => {
  const e = errors(parseCandleCsv([GOOD, '1381104000,1,1,1,1,1,1', GOOD].join('\n'), { intervalMinutes: 1440 }));
  assert.deepEqual(e, [{ line: 3, reason: 'duplicate time 1381017600 (2013-10-06T00:00:00Z), first on line 1' }]);
});

test('numbers, columns and times that cannot be read', () => {
  const text = [
    GOOD,
    '1381104000,abc,1,1,1,1,1', // line 2
    '1381190400,1,1,1,1,1', // line 3: 6 columns in a 7-column file
    '', // blank lines are skipped but still counted
    'yesterday,1,1,1,1,1,1', // line 5
    '1381276800,1,1,1,1,1,2.5', // line 6
  ].join('\n');
  const e = errors(parseCandleCsv(text, { intervalMinutes: 1440 }));
  assert.deepEqual(
    e.map((x) => x.line),
    [2, 3, 5, 6],
  );
  assert.match(e[0]!.reason, /open "abc" is not a number/);
  assert.match(e[1]!.reason, /expected 7 columns, found 6/);
  assert.match(e[2]!.reason, /not unix seconds, unix milliseconds or an ISO date/);
  assert.match(e[3]!.reason, /trades "2.5" is not a whole number/);
});

test('header problems: missing column, ambiguous volume, no header at all', () => {
  assert.deepEqual(errors(parseCandleCsv('date,open,high,low,volume\n2023-01-01,1,1,1,1', { intervalMinutes: 1440 })), [
    { line: 1, reason: 'missing column: close (found: date, open, high, low, volume)' },
  ]);
  const amb = errors(parseCandleCsv('date,open,high,low,close,Volume BTC,Volume USD\n2023-01-01,1,1,1,1,1,1', { intervalMinutes: 1440 }));
  assert.match(amb[0]!.reason, /ambiguous/);
  const none = errors(parseCandleCsv('2023-01-01,1,1,1,1,1\n', { intervalMinutes: 1440 }));
  assert.match(none[0]!.reason, /no header found/);
  assert.match(errors(parseCandleCsv('1,2,3\n', { intervalMinutes: 1440 }))[0]!.reason, /6 or 7 columns/);
  assert.deepEqual(errors(parseCandleCsv('\n\n', { intervalMinutes: 1440 })), [{ line: 1, reason: 'the file has no rows' }]);
  assert.deepEqual(errors(parseCandleCsv('time,open,high,low,close,volume\n', { intervalMinutes: 1440 })), [{ line: 2, reason: 'the file has no candle rows' }]);
});

test('dates: invalid calendar days, mixed formats, fractional seconds', () => {
  const text = [
    'date,open,high,low,close,volume',
    '2023-02-28,1,1,1,1,1', // 2
    '2023-02-30,1,1,1,1,1', // 3
    '1677628800,1,1,1,1,1', // 4: unix seconds after ISO dates
    '2023-03-02T00:00:00.5Z,1,1,1,1,1', // 5
  ].join('\n');
  const e = errors(parseCandleCsv(text, { intervalMinutes: 1440 }));
  assert.deepEqual(
    e.map((x) => x.line),
    [3, 4, 5],
  );
  assert.match(e[0]!.reason, /not a valid date/);
  assert.match(e[1]!.reason, /is unix seconds, but line 2 used ISO date/);
  assert.match(e[2]!.reason, /fractions of a second/);
});

test('all or nothing: a single bad row among thousands rejects the file, and errors are capped', () => {
  const lines = BTC_DAILY.trimEnd().split('\n');
  lines[2000] = lines[2000]!.replace(/^(\d+),([^,]+),([^,]+)/, '$1,$2,0.5');
  const e = errors(parseCandleCsv(lines.join('\n'), { intervalMinutes: 1440 }));
  assert.equal(e.length, 1);
  assert.equal(e[0]!.line, 2001);

  const many = Array.from({ length: 50 }, (_, i) => `${1381017600 + i * 86400},1,1,1,1,-1,1`).join('\n');
  const r = parseCandleCsv(many, { intervalMinutes: 1440, maxErrors: 5 });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.errors.length, 5);
  assert.equal(!r.ok && r.truncated, true);
  assert.match(formatCsvErrors(!r.ok ? r.errors : [], true), /^line 1: volume -1 must not be negative\n[\s\S]*\(more errors not shown\)$/);
});
