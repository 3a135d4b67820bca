/**
 * Formula injection in the CSVs the app writes: a text cell that a spreadsheet would run as a
 * formula gets a leading `'`, a number stays a number (both the shared writer and the candle export).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, csvLine } from '../../../src/platform/csv.js';
import { toCsv } from '../../../src/modules/market/market.routes.js';
import type { StoredCandle } from '../../../src/modules/market/market.repo.js';

test('text cells starting with = + - @ tab or CR are prefixed with a quote mark', () => {
  assert.equal(csvCell('=1+1'), "'=1+1");
  assert.equal(csvCell('+cmd'), "'+cmd");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvCell('\t=1+1'), "'\t=1+1");
  assert.equal(csvCell('\r=1+1'), `"'\r=1+1"`);
  // starts like a number but is a formula: Excel evaluates -1+2 (the old check let it through)
  assert.equal(csvCell('-1+2'), "'-1+2");
  assert.equal(csvCell('-2e3+cmd|calc'), "'-2e3+cmd|calc");
  assert.equal(csvCell('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
});

test('numbers in numeric columns stay numbers', () => {
  assert.equal(csvCell(-12.5), '-12.5');
  assert.equal(csvCell('-12.5'), '-12.5');
  assert.equal(csvCell('-0.00012'), '-0.00012');
  assert.equal(csvCell(-1e-7), '-1e-7');
  assert.equal(csvCell('42'), '42');
  assert.equal(csvCell(0), '0');
  assert.equal(csvLine([1, -2.5, 'ok', null, '-x']), "1,-2.5,ok,,'-x");
});

test('the candle export escapes its text cells and keeps negative numbers', () => {
  const candle: StoredCandle = {
    time: 1_700_000_000,
    open: '-12.5',
    high: '1',
    low: '-13',
    close: '0.5',
    volume: '3',
    trades: 4,
    vwap: '-12.25',
    source: 'import',
    anomaly: true,
    anomalyReason: '=HYPERLINK("http://evil.example","x")',
  } as StoredCandle;
  const [header, line] = toCsv([candle]).trim().split('\n');
  assert.match(header!, /^dtutc,time,open/);
  const cells = line!.split(',');
  assert.equal(cells[2], '-12.5');
  assert.equal(cells[4], '-13');
  assert.equal(cells[8], '-12.25');
  assert.ok(line!.endsWith(`"'=HYPERLINK(""http://evil.example"",""x"")"`), line);
});
