/**
 * The one prediction a live run makes: the close after the last candle given. Small windows
 * are predicted inline (a few milliseconds); long ones (hourly series trained on years of
 * candles: features over ~70k rows take 0.3-2 s of CPU) in a worker, through predictSeries on
 * the last row, so the event loop stays free. Both are the same pure code (predictRows on the
 * same feature frame) and give the same numbers to the bit.
 */
import type { Candle } from '../../platform/candle.js';
import { ValidationError } from '../../platform/errors.js';
import { predictNext, type LoadedPipeline, type Prediction, type WorkerPool } from '../models/index.js';

/** Above this many candles a live prediction is computed in a worker thread. */
export const INLINE_PREDICTION_MAX_CANDLES = 5000;

export async function predictAfterLast(model: LoadedPipeline, candles: readonly Candle[], pool: WorkerPool | undefined, inlineMax = INLINE_PREDICTION_MAX_CANDLES, signal?: AbortSignal): Promise<Prediction> {
  if (!pool || candles.length <= inlineMax) return predictNext({ serializedModel: model, candles });
  const last = candles[candles.length - 1]!.time;
  const [p] = await pool.run({ kind: 'backtest', input: { serializedModel: model.meta, candles, from: last, to: last } }, { signal });
  if (!p) throw new ValidationError(`Not enough candle history to predict: the newest candle has no complete features (the model needs about ${model.meta.requiredHistory} candles)`);
  const { actualValue: _actual, ...prediction } = p;
  return prediction;
}
