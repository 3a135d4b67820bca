/**
 * Measures danfojs-node against plain float64 loops for the feature operations candlecast
 * needs, on the real bundled data. The numbers back docs/decisions/010.
 * Run: npx tsx bench/lib/features-compare.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBundledCandles, parseOhlcvt, BUNDLED } from '../../test/support/bundled-candles.js';
import {
  applyStandardScaler,
  buildFeatures,
  cleanCandles,
  fitStandardScaler,
  gatherRows,
  loadDanfo,
  parseFeatureConfig,
  resampleCandles,
  rollingMean,
  trainableRows,
} from '../../src/modules/features/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function time<T>(label: string, fn: () => T, reps = 5): { label: string; ms: number; value: T } {
  let value = fn(); // warm-up (JIT)
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    value = fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { label, ms: ms[Math.floor(ms.length / 2)]!, value };
}

async function timeAsync<T>(label: string, fn: () => Promise<T>, reps = 3): Promise<{ label: string; ms: number; value: T }> {
  let value = await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    value = await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { label, ms: ms[Math.floor(ms.length / 2)]!, value };
}

const rows: { op: string; typed: string; danfo: string; note: string }[] = [];
const fmt = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

const t0 = performance.now();
const dfd = await loadDanfo();
const importMs = performance.now() - t0;

const hourly = loadBundledCandles('btcHourly');
const daily = loadBundledCandles('btcDaily');
console.log(`danfojs-node import: ${importMs.toFixed(0)} ms; data: ${hourly.length} hourly, ${daily.length} daily BTC candles`);

// 1. Loading the CSV.
{
  const text = () => readFileSync(ROOT + BUNDLED.btcHourly, 'utf8');
  const a = time('typed', () => parseOhlcvt(text()));
  const b = await timeAsync('danfo', () => dfd.readCSV(ROOT + BUNDLED.btcHourly, { header: false } as never) as Promise<unknown>);
  rows.push({ op: `load CSV (${hourly.length} rows)`, typed: fmt(a.ms), danfo: fmt(b.ms), note: 'split+Number vs readCSV (papaparse)' });
}

// 2. Cleaning: sort, dedupe, drop invalid.
{
  const shuffled = [...hourly].reverse();
  const a = time('typed', () => cleanCandles(shuffled, 60).candles.length);
  const df = new dfd.DataFrame(shuffled);
  const b = time('danfo', () => {
    const sorted = df.sortValues('time');
    const valid = sorted.query(sorted['low'].gt(0).and(sorted['high'].ge(sorted['low'])));
    const dedup = valid.dropNa();
    return dedup.shape[0];
  }, 3);
  rows.push({ op: `clean: sort+validate (+dedupe) ${hourly.length} rows`, typed: fmt(a.ms), danfo: fmt(b.ms), note: `danfo has no drop_duplicates on frames; typed kept ${a.value}, danfo ${b.value}` });
}

// 3. 20-period rolling mean of close (danfojs has no rolling(): cumSum + difference is its fastest form).
{
  const close = Float64Array.from(hourly, (c) => c.close);
  const a = time('typed', () => rollingMean(close, 20));
  const s = new dfd.Series(Array.from(close));
  const b = time('danfo', () => {
    const cs = s.cumSum().values as number[];
    const out = new Float64Array(cs.length).fill(NaN);
    for (let i = 19; i < cs.length; i++) out[i] = (cs[i]! - (i >= 20 ? cs[i - 20]! : 0)) / 20;
    return out;
  });
  // The literal way: one window per row through iloc + mean; timed on 2,000 rows and scaled.
  const sub = new dfd.Series(Array.from(close.slice(0, 2000)));
  const c = time('danfo-iloc', () => {
    const out: number[] = [];
    for (let i = 19; i < 2000; i++) out.push(sub.iloc([`${i - 19}:${i + 1}`]).mean());
    return out;
  }, 1);
  let maxRel = 0;
  for (let i = 19; i < close.length; i++) maxRel = Math.max(maxRel, Math.abs(a.value[i]! - b.value[i]!) / a.value[i]!);
  rows.push({
    op: `rolling mean(20) of ${close.length} closes`,
    typed: fmt(a.ms),
    danfo: `${fmt(b.ms)} (cumSum); ~${fmt((c.ms * close.length) / 2000)} (iloc per window, extrapolated)`,
    note: `max rel. diff typed vs danfo cumSum ${maxRel.toExponential(1)}`,
  });
}

// 4. 1h -> 1d resample.
{
  const clean = cleanCandles(hourly, 60).candles;
  const a = time('typed', () => resampleCandles(clean, 1440));
  const df = new dfd.DataFrame(clean.map((c) => ({ ...c, day: Math.floor(c.time / 86400) * 86400 })));
  const b = time('danfo', () => {
    const g = df.groupby(['day']);
    const hi = g.col(['high']).max();
    const lo = g.col(['low']).min();
    const op = g.col(['open']).first();
    const cl = g.col(['close']).last();
    const vol = g.col(['volume', 'trades']).sum();
    return [hi.shape[0], lo.shape[0], op.shape[0], cl.shape[0], vol.shape[0]];
  }, 3);
  rows.push({ op: `resample 1h->1d (${clean.length} -> ${a.value.length})`, typed: fmt(a.ms), danfo: fmt(b.ms), note: 'one pass over sorted rows vs 5 groupby aggregations' });
}

// 5. Standard scaling of the BTC daily feature matrix.
{
  const cfg = parseFeatureConfig({});
  const clean = cleanCandles(daily, 1440).candles;
  const frame = buildFeatures(clean, 1440, cfg);
  const trows = trainableRows(frame);
  const X = gatherRows(frame, trows, frame.names.map((_, j) => j));
  const a = time('typed', () => applyStandardScaler(fitStandardScaler(X), X));
  const df = new dfd.DataFrame(X);
  const b = time('danfo', () => {
    const sc = new dfd.StandardScaler();
    sc.fit(df);
    return sc.transform(df).values as number[][];
  }, 3);
  let maxAbs = 0;
  for (let i = 0; i < X.length; i++) for (let j = 0; j < X[0]!.length; j++) maxAbs = Math.max(maxAbs, Math.abs(a.value[i]![j]! - b.value[i]![j]!));
  rows.push({ op: `standard scaler fit+transform ${X.length}x${X[0]!.length}`, typed: fmt(a.ms), danfo: fmt(b.ms), note: `max abs diff of z-scores ${maxAbs.toExponential(1)} (danfo stores float32)` });

  // 6. Summary statistics.
  const c = time('typed', () => {
    const out = [];
    for (let j = 0; j < X[0]!.length; j++) {
      const col = Float64Array.from(X, (r) => r[j]!).sort();
      let s = 0;
      for (const v of col) s += v;
      const m = s / col.length;
      let ss = 0;
      for (const v of col) ss += (v - m) ** 2;
      out.push({ mean: m, std: Math.sqrt(ss / (col.length - 1)), min: col[0], median: col[col.length >> 1], max: col[col.length - 1] });
    }
    return out;
  });
  const d = time('danfo', () => df.describe().shape[0], 3);
  rows.push({ op: `describe ${X.length}x${X[0]!.length}`, typed: fmt(c.ms), danfo: fmt(d.ms), note: 'one call in danfo; ~20 lines by hand' });
}

console.log('\n| operation | float64 loops | danfojs-node 1.2.0 | note |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.op} | ${r.typed} | ${r.danfo} | ${r.note} |`);
