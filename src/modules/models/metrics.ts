import { priceFromReturn } from './intervals.js';

/** Error metrics. null where a metric is undefined (no variance, no directional calls, ...). */
export interface ErrorMetrics {
  n: number;
  mse: number;
  rmse: number;
  mae: number;
  /** Mean absolute percentage error in percent; null for returns, whose near-zero actuals make it meaningless. */
  mape: number | null;
  /** 1 - SS_res / SS_tot; null when the actuals are constant. */
  r2: number | null;
}

export function errorMetrics(actual: ArrayLike<number>, predicted: ArrayLike<number>, opts: { mape?: boolean } = {}): ErrorMetrics {
  const n = actual.length;
  if (n !== predicted.length) throw new RangeError(`actual has ${n} points but predicted has ${predicted.length}`);
  if (n === 0) return { n: 0, mse: NaN, rmse: NaN, mae: NaN, mape: null, r2: null };
  let sse = 0;
  let sae = 0;
  let sape = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i]!;
  mean /= n;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i]!;
    const e = a - predicted[i]!;
    sse += e * e;
    sae += Math.abs(e);
    if (opts.mape !== false) sape += Math.abs(e / a);
    sst += (a - mean) * (a - mean);
  }
  const mse = sse / n;
  return {
    n,
    mse,
    rmse: Math.sqrt(mse),
    mae: sae / n,
    mape: opts.mape === false ? null : (100 * sape) / n,
    r2: sst > 0 ? 1 - sse / sst : null,
  };
}

/**
 * Share of calls whose sign matches the actual move. A prediction of exactly 0 makes no call
 * (the naive model never calls, so its accuracy is null rather than a misleading 0 or 50 %);
 * a call against a flat actual (return 0) counts as a miss.
 */
export function directionalAccuracy(actualReturns: ArrayLike<number>, predictedReturns: ArrayLike<number>): { accuracy: number | null; calls: number } {
  let calls = 0;
  let hits = 0;
  for (let i = 0; i < actualReturns.length; i++) {
    const p = predictedReturns[i]!;
    if (p === 0) continue;
    calls++;
    if (Math.sign(p) === Math.sign(actualReturns[i]!)) hits++;
  }
  return { accuracy: calls > 0 ? hits / calls : null, calls };
}

export interface EvalMetrics {
  n: number;
  price: ErrorMetrics;
  returns: ErrorMetrics;
  directionalAccuracy: number | null;
  directionalCalls: number;
  /** 1 - MAE(price) / MAE(naive price) on the same points; > 0 beats "next = last". */
  skillVsNaive: number | null;
}

/** The points a model was scored on: base close, realised next log return, predicted log return. */
export interface ScoredPoints {
  baseClose: ArrayLike<number>;
  actualReturn: ArrayLike<number>;
  predictedReturn: ArrayLike<number>;
}

export function evaluatePoints(p: ScoredPoints): EvalMetrics {
  const n = p.baseClose.length;
  if (p.actualReturn.length !== n || p.predictedReturn.length !== n) throw new RangeError('scored point arrays differ in length');
  const actualPrice = new Float64Array(n);
  const predictedPrice = new Float64Array(n);
  let naiveAbs = 0;
  for (let i = 0; i < n; i++) {
    const base = p.baseClose[i]!;
    actualPrice[i] = priceFromReturn(base, p.actualReturn[i]!);
    predictedPrice[i] = priceFromReturn(base, p.predictedReturn[i]!);
    naiveAbs += Math.abs(actualPrice[i]! - base);
  }
  const price = errorMetrics(actualPrice, predictedPrice);
  const returns = errorMetrics(p.actualReturn, p.predictedReturn, { mape: false });
  const dir = directionalAccuracy(p.actualReturn, p.predictedReturn);
  const naiveMae = n > 0 ? naiveAbs / n : NaN;
  return {
    n,
    price,
    returns,
    directionalAccuracy: dir.accuracy,
    directionalCalls: dir.calls,
    skillVsNaive: naiveMae > 0 ? 1 - price.mae / naiveMae : null,
  };
}

/** The naive model's metrics on the same points, for side-by-side display. */
export function evaluateNaive(p: Omit<ScoredPoints, 'predictedReturn'>): EvalMetrics {
  return evaluatePoints({ ...p, predictedReturn: new Float64Array(p.baseClose.length) });
}
