/**
 * bench:train: trains the default model suite on real BTC daily candles with walk-forward
 * validation and prints the total wall time and one row per model.
 *   npm run bench:train                 2 worker threads (the suite split by expected cost)
 *   npm run bench:train -- --workers 0  everything in this thread
 */
import { availableParallelism, cpus } from 'node:os';
import { DEFAULT_SUITE, createWorkerPool, runTask } from '../src/modules/models/index.js';
import type { SuiteEntry, TrainResult } from '../src/modules/models/index.js';
import { loadBundledCandles } from '../test/support/bundled-candles.js';
import { balanceLanes, formatTable } from './lib/table.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} wants a number >= 0`);
  return v;
}

const workers = arg('workers', Math.min(2, availableParallelism()));
const candles = loadBundledCandles('btcDaily');
const common = { candles, interval: 1440, seed: 42 } as const;
// Relative cost measured on this data (forest and kernel dominate); used only to balance lanes.
const COST: Record<string, number> = { 'random-forest': 6, 'kernel-ridge': 3 };
const cost = (e: SuiteEntry) => COST[e.algorithm] ?? 1;

console.log(`bench:train  node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log(`data: BTC/USD daily, ${candles.length} candles, ${new Date(candles[0]!.time * 1000).toISOString().slice(0, 10)} .. ${new Date(candles.at(-1)!.time * 1000).toISOString().slice(0, 10)}`);
console.log(`suite: ${DEFAULT_SUITE.map((e) => e.algorithm).join(', ')}; ${workers > 0 ? `${workers} worker thread(s)` : 'in-process'}`);

const t0 = performance.now();
let results: TrainResult[];
if (workers === 0) {
  results = await runTask({ kind: 'train-suite', input: { ...common, suite: DEFAULT_SUITE } });
} else {
  const pool = createWorkerPool({ size: workers });
  const lanes = balanceLanes(DEFAULT_SUITE, cost, workers);
  const done = await Promise.all(lanes.map((suite) => pool.run({ kind: 'train-suite', input: { ...common, suite } })));
  await pool.close();
  const byAlgo = new Map(done.flat().map((r) => [r.algorithm, r]));
  results = DEFAULT_SUITE.map((e) => byAlgo.get(e.algorithm)!);
}
const totalMs = performance.now() - t0;

const first = results[0]!;
const wf = first.validation.walkForward;
console.log(
  `validation: walk-forward ${wf.mode}, ${wf.folds} folds of ${wf.testSize} rows after ${wf.initialTrain} training rows (${first.oos.times.length} out-of-sample days ` +
    `from ${new Date(first.oos.times[0]! * 1000).toISOString().slice(0, 10)}); holdout = last ${first.validation.holdout.testRows} rows`,
);
console.log('metrics: walk-forward out-of-sample on price (USD); skill = 1 - MAE / MAE(naive) on the same days\n');

const f = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));
const rows = results.map((r) => {
  const m = r.metrics.walkForward.model;
  return [
    r.algorithm,
    f(m.price.mae, 2),
    f(m.price.rmse, 2),
    m.directionalAccuracy === null ? '-' : `${(100 * m.directionalAccuracy).toFixed(1)} %`,
    f(m.skillVsNaive, 4),
    f(r.metrics.test.model.skillVsNaive, 4),
    `${r.durationMs.toFixed(0)} ms`,
  ];
});
console.log(
  formatTable(['model', 'test MAE', 'test RMSE', 'direction', 'skill vs naive', 'holdout skill', 'train time'], rows, [false, true, true, true, true, true, true]),
);
console.log(`\nnaive walk-forward MAE ${first.metrics.walkForward.naive.price.mae.toFixed(2)} USD; 80 % interval of the next-day return from residuals: ` +
  `[${(100 * first.residualQuantiles.q10).toFixed(2)} %, ${(100 * first.residualQuantiles.q90).toFixed(2)} %] (naive)`);
console.log(`total: ${(totalMs / 1000).toFixed(2)} s wall for ${results.length} models (sum of train times ${(results.reduce((s, r) => s + r.durationMs, 0) / 1000).toFixed(2)} s)`);
