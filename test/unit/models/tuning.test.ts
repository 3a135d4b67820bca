import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../../src/platform/errors.js';
import { chronologicalSplit, gridCandidates, prepareData, tuneModel, zoo } from '../../../src/modules/models/index.js';
import { parseFeatureConfig } from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const candles = loadBundledCandles('btcDaily');
const base = { candles, interval: 1440, validation: { walkForward: { maxFolds: 4 } } } as const;

describe('tuneModel', () => {
  test('grid search stores every trial, respects the budget and picks the lowest walk-forward MAE', async () => {
    const r = await tuneModel({ ...base, algorithm: 'ridge', search: { strategy: 'grid', maxTrials: 5 } });
    const grid = zoo.ridge.paramGrid.lambda!;
    assert.equal(r.candidates, grid.length);
    assert.equal(r.trials.length, 5);
    assert.equal(r.truncated, true);
    assert.deepEqual(r.trials.map((t) => t.params), grid.slice(0, 5).map((lambda) => ({ lambda })));
    for (const t of r.trials) {
      assert.ok(t.score !== null && t.metrics !== null && t.durationMs >= 0);
      assert.equal(t.score, t.metrics.model.price.mae);
      assert.equal(t.metrics.naive.price.mae, r.trials[0]!.metrics!.naive.price.mae, 'every trial is scored on the same points');
    }
    const min = Math.min(...r.trials.map((t) => t.score!));
    assert.equal(r.best!.score, min);
    assert.equal(new Set(r.trials.map((t) => t.score)).size, 5, 'different lambdas score differently');
  });

  test('random search is seeded, distinct, within budget; tuning never sees the holdout rows', async () => {
    const a = await tuneModel({ ...base, algorithm: 'polynomial', seed: 9, search: { strategy: 'random', maxTrials: 4 } });
    const b = await tuneModel({ ...base, algorithm: 'polynomial', seed: 9, search: { strategy: 'random', maxTrials: 4 } });
    const c = await tuneModel({ ...base, algorithm: 'polynomial', seed: 10, search: { strategy: 'random', maxTrials: 4 } });
    assert.equal(a.trials.length, 4);
    assert.equal(a.candidates, 18);
    assert.deepEqual(a.trials.map((t) => t.params), b.trials.map((t) => t.params));
    assert.notDeepEqual(a.trials.map((t) => t.params), c.trials.map((t) => t.params));
    assert.equal(new Set(a.trials.map((t) => JSON.stringify(t.params))).size, 4);
    const rows = prepareData(candles, 1440, parseFeatureConfig({})).rows.length;
    assert.equal(a.rows, chronologicalSplit(rows, 0.2).train.end);
  });

  test('a grid smaller than the budget runs once per candidate; bad grid values are refused', async () => {
    const r = await tuneModel({ ...base, algorithm: 'mean-drift', search: { strategy: 'grid', maxTrials: 50 } });
    assert.equal(r.trials.length, 4);
    assert.equal(r.truncated, false);
    assert.throws(() => gridCandidates('ridge', { lambda: [1, -5] }), (e: unknown) => e instanceof AppError && e.status === 422);
    await assert.rejects(tuneModel({ ...base, algorithm: 'ridge', search: { maxTrials: 0 } }), (e: unknown) => e instanceof AppError && e.status === 422);
  });

  test('cancels between trials', async () => {
    const ac = new AbortController();
    let trials = 0;
    await assert.rejects(
      tuneModel({ ...base, algorithm: 'ridge', search: { strategy: 'grid', maxTrials: 6 } }, { signal: ac.signal, onProgress: () => ++trials === 2 && ac.abort() }),
      { name: 'AbortError' },
    );
    assert.equal(trials, 2);
  });
});
