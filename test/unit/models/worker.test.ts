import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, test } from 'node:test';
import { AppError } from '../../../src/platform/errors.js';
import type { ProgressEvent, TrainResult } from '../../../src/modules/models/index.js';
import { createWorkerPool, runInWorker, runTask } from '../../../src/modules/models/index.js';
import { parseFeatureConfig, warmupCandles } from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const candles = loadBundledCandles('btcDaily');
const input = { candles, interval: 1440, algorithm: 'ridge', validation: { walkForward: { maxFolds: 3 } } } as const;

/** Durations differ between runs; everything else must be identical. */
function stable(r: TrainResult) {
  const { durationMs: _d, timings: _t, metrics, ...rest } = r;
  return { ...rest, metrics: { ...metrics, walkForward: { ...metrics.walkForward, folds: metrics.walkForward.folds.map(({ fitMs: _f, ...f }) => f) } } };
}

describe('runInWorker', () => {
  test('trains in a worker thread (under tsx) with the same result as in-process, with progress', async () => {
    const events: ProgressEvent[] = [];
    const inWorker = await runInWorker({ kind: 'train', input }, { onProgress: (e) => events.push(e) });
    const local = await runTask({ kind: 'train', input });
    assert.deepEqual(stable(inWorker), stable(local));
    assert.equal(events.length, events[0]!.totalSteps);
    assert.equal(events.at(-1)!.stage, 'final');
  });

  test('errors cross the thread boundary with status and code', async () => {
    await assert.rejects(runInWorker({ kind: 'train', input: { ...input, candles: candles.slice(0, 50) } }), (e: unknown) => e instanceof AppError && e.status === 422 && /Not enough data/.test(e.message));
  });

  test('aborting terminates the worker mid-training', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = runInWorker(
      { kind: 'train', input: { ...input, algorithm: 'random-forest', params: { nEstimators: 200, maxSamples: 1500 } } },
      { signal: ac.signal, onProgress: (e) => e.stage === 'holdout' || ac.abort() },
    );
    await assert.rejects(p, { name: 'AbortError' });
    // That forest would take well over a minute; the abort lands right after the first progress message.
    assert.ok(performance.now() - started < 15_000);
    await assert.rejects(runInWorker({ kind: 'train', input }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  test('a pool of one runs tasks one after the other; a queued task can be cancelled', async () => {
    const pool = createWorkerPool({ size: 1 });
    const order: string[] = [];
    const ac = new AbortController();
    const a = pool.run({ kind: 'train', input: { ...input, algorithm: 'naive' } }).then(() => order.push('a'));
    const b = pool.run({ kind: 'train', input: { ...input, algorithm: 'mean-drift' } }, { signal: ac.signal });
    const c = pool.run({ kind: 'backtest', input: { serializedModel: (await runTask({ kind: 'train', input })).model, candles: candles.slice(-400) } }).then((pts) => {
      order.push('c');
      return pts;
    });
    assert.equal(pool.active, 1);
    assert.equal(pool.queued, 2);
    ac.abort();
    await assert.rejects(b, { name: 'AbortError' });
    const [, pts] = await Promise.all([a, c]);
    assert.deepEqual(order, ['a', 'c']);
    assert.equal(pts.length, 400 - warmupCandles(parseFeatureConfig({})));
    await pool.close();
    await assert.rejects(pool.run({ kind: 'train', input }), /closed/);
  });
});

describe('runInWorker after a tsc build (plain .js, no tsx)', () => {
  const dir = `${ROOT}.tmp/worker-build-${process.pid}`;
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the compiled module finds and runs the compiled worker', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      `${dir}/tsconfig.json`,
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { outDir: './out', rootDir: '../..', noEmit: false, sourceMap: false, incremental: false },
        include: ['../../src/modules/models/**/*.ts', '../../src/types/ml.d.ts'],
      }),
    );
    await run(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${dir}/tsconfig.json`], { cwd: ROOT });
    const driver = `${dir}/driver.mjs`;
    writeFileSync(
      driver,
      `import { readFileSync } from 'node:fs';
const { runInWorker } = await import(${JSON.stringify(`${dir}/out/src/modules/models/index.js`)});
const candles = readFileSync(${JSON.stringify(`${ROOT}data/bundled/XBTUSD_1440.csv`)}, 'utf8').trim().split('\\n').map((l) => {
  const [time, open, high, low, close, volume, trades] = l.split(',').map(Number);
  return { time, open, high, low, close, volume, trades };
});
let progress = 0;
const r = await runInWorker({ kind: 'train', input: { candles, interval: 1440, algorithm: 'naive', validation: { walkForward: { maxFolds: 2 } } } }, { onProgress: () => progress++ });
console.log(JSON.stringify({ progress, algorithm: r.algorithm, skill: r.metrics.walkForward.model.skillVsNaive, loaders: process.execArgv }));
`,
    );
    // No --import tsx here: exactly how `node dist/...` runs in production.
    const { stdout } = await run(process.execPath, [driver], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    const out = JSON.parse(stdout.trim()) as { progress: number; algorithm: string; skill: number; loaders: string[] };
    assert.equal(out.algorithm, 'naive');
    assert.equal(out.skill, 0);
    assert.equal(out.progress, 5);
    assert.deepEqual(out.loaders, []);
  });
});
