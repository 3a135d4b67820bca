import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectReturnAnomalies, mergeFlags, ohlcProblem } from '../../../src/modules/market/quality.js';
import { mergeSegments } from '../../../src/modules/market/backfill.service.js';
import { parseTimeParam } from '../../../src/modules/market/market.schemas.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const H = 3600;

/** A deterministic wobble of about +-1% per hour. */
function series(n: number, start = 100): { time: number; close: number }[] {
  const out = [];
  let p = start;
  for (let i = 0; i < n; i++) {
    p *= 1 + 0.01 * Math.sin(i * 1.7) * Math.cos(i * 0.3);
    out.push({ time: i * H, close: p });
  }
  return out;
}

/** The rule written the slow, obvious way: sort the window for every point. */
function naive(points: { time: number; close: number }[], intervalMinutes: number, window = 60, minSamples = 20, threshold = 10, minScale = 0.002): number[] {
  const rs: number[] = [];
  const flagged: number[] = [];
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  for (let i = 1; i < points.length; i++) {
    const k = Math.max(1, Math.round((points[i]!.time - points[i - 1]!.time) / (intervalMinutes * 60)));
    const r = Math.log(points[i]!.close / points[i - 1]!.close) / Math.sqrt(k);
    const prev = rs.slice(-window);
    if (prev.length >= minSamples) {
      const m = med(prev);
      const scale = Math.max(1.4826 * med(prev.map((x) => Math.abs(x - m))), minScale);
      if (Math.abs(r - m) / scale > threshold) flagged.push(points[i]!.time);
    }
    rs.push(r);
  }
  return flagged;
}

test('a jump far outside the recent returns is flagged with a readable reason; ordinary moves are not', () => {
  const pts = series(200);
  assert.deepEqual(detectReturnAnomalies(pts, 60, -Infinity), []);
  pts[150]!.close *= 1.3;
  for (let i = 151; i < pts.length; i++) pts[i]!.close *= 1.3;
  const flags = detectReturnAnomalies(pts, 60, -Infinity);
  assert.deepEqual(flags.map((f) => f.time), [150 * H]);
  assert.match(flags[0]!.reason, /^return \+\d+\.\d% is \d+\.\d robust SD from the median of the previous 60 returns \(threshold 10\)$/);
});

test('only points from evaluateFrom on are judged; too little history means no judgement', () => {
  const pts = series(200);
  pts[10]!.close *= 2;
  pts[150]!.close *= 2;
  // point 10 has 9 returns before it: fewer than 20
  assert.deepEqual(detectReturnAnomalies(pts, 60, -Infinity).map((f) => f.time), [150 * H, 151 * H]);
  assert.deepEqual(detectReturnAnomalies(pts, 60, 151 * H).map((f) => f.time), [151 * H]);
});

test('a return across a gap is scaled by the square root of the intervals it spans', () => {
  const pts = series(120);
  // 25 hours missing, then a 12% move: about 2.4% per hour over the gap, not an outlier
  const gapped = [...pts.slice(0, 100), ...pts.slice(100).map((p) => ({ time: p.time + 24 * H, close: p.close * 1.12 }))];
  assert.deepEqual(detectReturnAnomalies(gapped, 60, -Infinity), []);
  // the same move within one hour is
  const direct = [...pts.slice(0, 100), ...pts.slice(100).map((p) => ({ time: p.time, close: p.close * 1.12 }))];
  assert.equal(detectReturnAnomalies(direct, 60, -Infinity).length, 1);
});

test('a flat stretch does not make every tick an outlier (the scale has a floor)', () => {
  const pts = Array.from({ length: 100 }, (_, i) => ({ time: i * H, close: 100 }));
  pts.push({ time: 100 * H, close: 100.5 });
  assert.deepEqual(detectReturnAnomalies(pts, 60, -Infinity), []);
});

test('the incremental window gives exactly the flags of the obvious implementation on real data', () => {
  for (const [name, iv] of [['btcDaily', 1440], ['ethDaily', 1440]] as const) {
    const c = loadBundledCandles(name);
    assert.deepEqual(detectReturnAnomalies(c, iv, -Infinity).map((f) => f.time), naive(c, iv), name);
  }
  const hourly = loadBundledCandles('btcHourly').slice(0, 15_000);
  assert.deepEqual(detectReturnAnomalies(hourly, 60, -Infinity).map((f) => f.time), naive(hourly, 60));
});

test('OHLC problems and merged reasons', () => {
  assert.equal(ohlcProblem({ open: '10', high: '9', low: '8', close: '9' }), 'high is below open or close');
  assert.equal(ohlcProblem({ open: '10', high: '12', low: '8', close: '9' }), null);
  assert.deepEqual(mergeFlags([{ time: 2, reason: 'a' }], [{ time: 1, reason: 'b' }, { time: 2, reason: 'c' }]), [
    { time: 1, reason: 'b' },
    { time: 2, reason: 'a; c' },
  ]);
});

test('mergeSegments joins overlapping and close stretches only', () => {
  const s = [
    { from: 100, to: 200 },
    { from: 0, to: 50 },
    { from: 210, to: 300 },
    { from: 150, to: 180 },
    { from: 400, to: 400 },
  ];
  assert.deepEqual(mergeSegments(s, 0), [
    { from: 0, to: 50 },
    { from: 100, to: 200 },
    { from: 210, to: 300 },
  ]);
  assert.deepEqual(mergeSegments(s, 10), [
    { from: 0, to: 50 },
    { from: 100, to: 300 },
  ]);
});

test('time parameters: ISO dates and datetimes (UTC without a zone), Unix seconds', () => {
  assert.equal(parseTimeParam('2024-01-31'), Date.UTC(2024, 0, 31) / 1000);
  assert.equal(parseTimeParam('2024-01-31T12:00:00'), Date.UTC(2024, 0, 31, 12) / 1000);
  assert.equal(parseTimeParam('2024-01-31T12:00:00+02:00'), Date.UTC(2024, 0, 31, 10) / 1000);
  assert.equal(parseTimeParam('1700000000'), 1700000000);
  assert.equal(parseTimeParam('yesterday'), undefined);
});
