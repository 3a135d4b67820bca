import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartSeries, chartTime, jsonForScript, summarize, zonedDayStart } from '../../../src/modules/pages/analysis.js';
import type { Candle } from '../../../src/platform/candle.js';

const day = 86_400;
const candles: Candle[] = [100, 110, 99, 120, 60, 90].map((close, i) => ({
  time: 1_700_006_400 + i * day,
  open: i === 0 ? 100 : [100, 110, 99, 120, 60][i - 1]!,
  high: close + 5,
  low: close - 5,
  close,
  volume: 10 + i,
  trades: 1,
}));

test('summary statistics of a small daily series', () => {
  const s = summarize(candles, 1440);
  assert.equal(s.candles, 6);
  assert.equal(s.first?.close, 100);
  assert.equal(s.last?.close, 90);
  assert.ok(Math.abs(s.change! - -0.1) < 1e-12);
  assert.equal(s.minClose, 60);
  assert.equal(s.maxClose, 120);
  assert.equal(s.highest, 125);
  assert.equal(s.lowest, 55);
  assert.ok(Math.abs(s.maxDrawdown! - -0.5) < 1e-12, 'from 120 to 60');
  assert.ok(Math.abs(s.best!.ret - 0.5) < 1e-12, '60 -> 90');
  assert.ok(Math.abs(s.worst!.ret - -0.5) < 1e-12, '120 -> 60');
  assert.equal(s.upShare, 3 / 5);
  assert.equal(s.totalVolume, 10 + 11 + 12 + 13 + 14 + 15);
  assert.ok(s.annualVolatility! > s.stdReturn!, 'annualised by sqrt(365)');
  assert.ok(Math.abs(s.annualVolatility! / s.stdReturn! - Math.sqrt(365)) < 1e-9);
  assert.equal(summarize([], 60).first, null);
});

test('chart series: times in the viewer zone, returns in percent, volatility aligned', () => {
  const s = chartSeries(candles, { intervalMinutes: 1440, timeZone: 'Asia/Tokyo', pair: 'X/Y' });
  assert.equal(s.t.length, 6);
  assert.equal(s.t[0], chartTime(candles[0]!.time, 'Asia/Tokyo'));
  assert.match(s.t[0]!, /^\d{4}-\d{2}-\d{2} 09:00$/, 'midnight UTC is 09:00 in Tokyo');
  assert.deepEqual(s.returnsPct.map((v) => Math.round(v)), [10, -10, 21, -50, 50]);
  assert.equal(s.volatilityPct.length, 6);
  assert.ok(s.volatilityPct.every((v) => v === null), 'a 30-candle window is not full yet');
  assert.equal(chartTime(0, 'UTC'), '1970-01-01 00:00');
});

test('JSON for a script block cannot close the element', () => {
  const out = jsonForScript({ name: '</script><script>alert(1)</script>', amp: 'a & b', ls: '\u2028' });
  assert.ok(!out.includes('</script>'));
  assert.ok(!out.includes('<'));
  assert.deepEqual(JSON.parse(out), { name: '</script><script>alert(1)</script>', amp: 'a & b', ls: '\u2028' });
});

test('a date means midnight in the viewer zone, across DST changes', () => {
  assert.equal(zonedDayStart('2024-03-01', 'UTC'), Date.UTC(2024, 2, 1) / 1000);
  assert.equal(zonedDayStart('2024-07-01', 'Europe/Paris'), Date.UTC(2024, 5, 30, 22) / 1000);
  assert.equal(zonedDayStart('2024-01-15', 'Europe/Paris'), Date.UTC(2024, 0, 14, 23) / 1000);
  assert.equal(zonedDayStart('2024-03-31', 'Europe/Paris'), Date.UTC(2024, 2, 30, 23) / 1000, 'the day the clocks go forward');
  assert.equal(zonedDayStart('2024-11-03', 'America/New_York'), Date.UTC(2024, 10, 3, 4) / 1000);
  assert.equal(zonedDayStart('not a date', 'UTC'), undefined);
});
