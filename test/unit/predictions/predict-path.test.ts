/** A live prediction computed inline and in a worker are the same numbers, on real hourly BTC candles. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkerPool, loadPipeline, predictSeries, trainModel } from '../../../src/modules/models/index.js';
import { predictAfterLast } from '../../../src/modules/predictions/predict-path.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

test('predictAfterLast: inline (short windows) and in a worker (long windows) agree to the bit, and equal the backtest of that row', async () => {
  const candles = loadBundledCandles('btcHourly').slice(-3000);
  const trained = await trainModel({ candles, interval: 60, algorithm: 'ridge', params: { lambda: 30 }, validation: { walkForward: { maxFolds: 2 } } });
  const model = loadPipeline(trained.model);
  const pool = createWorkerPool({ size: 1 });
  try {
    const inline = await predictAfterLast(model, candles, pool);
    const worker = await predictAfterLast(model, candles, pool, 100);
    assert.deepEqual(worker, inline);
    assert.equal(inline.baseTime, candles[candles.length - 1]!.time);
    assert.equal(inline.targetTime, candles[candles.length - 1]!.time + 3600);
    const [bt] = predictSeries({ serializedModel: model, candles, from: inline.baseTime, to: inline.baseTime });
    assert.equal(bt!.value, inline.value);
    assert.equal(bt!.actualValue, null);
  } finally {
    await pool.close();
  }
});
