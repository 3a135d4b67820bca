/**
 * Prediction intervals from walk-forward out-of-sample residuals. Residuals are taken on the
 * log return (actual - predicted), not on price: ten years of BTC span $100 to $60k, so price
 * residuals from 2017 would say nothing about a $40k day, while return residuals scale with
 * the price through exp().
 */
export interface ResidualQuantiles {
  n: number;
  q025: number;
  q10: number;
  q50: number;
  q90: number;
  q975: number;
}

/** Linear interpolation between order statistics (type 7, the default of R and NumPy). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 1) return sorted[n - 1]!;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function residualQuantiles(residuals: ArrayLike<number>): ResidualQuantiles {
  const s = Float64Array.from(residuals).filter(Number.isFinite).sort();
  return {
    n: s.length,
    q025: quantileSorted(s, 0.025),
    q10: quantileSorted(s, 0.1),
    q50: quantileSorted(s, 0.5),
    q90: quantileSorted(s, 0.9),
    q975: quantileSorted(s, 0.975),
  };
}

/** Models predict the next log return r; the price it implies is lastClose * exp(r). */
export function priceFromReturn(lastClose: number, logReturn: number): number {
  return lastClose * Math.exp(logReturn);
}

export interface PredictionInterval {
  lower80: number;
  upper80: number;
  lower95: number;
  upper95: number;
}

/** price = lastClose * exp(r + residual quantile): empirical 80 % and 95 % intervals. */
export function predictionInterval(lastClose: number, predictedReturn: number, q: ResidualQuantiles): PredictionInterval {
  return {
    lower80: priceFromReturn(lastClose, predictedReturn + q.q10),
    upper80: priceFromReturn(lastClose, predictedReturn + q.q90),
    lower95: priceFromReturn(lastClose, predictedReturn + q.q025),
    upper95: priceFromReturn(lastClose, predictedReturn + q.q975),
  };
}

/** Fraction of actual returns inside [pred + qLo, pred + qHi]: the empirical coverage check. */
export function intervalCoverage(actual: ArrayLike<number>, predicted: ArrayLike<number>, qLo: number, qHi: number): number {
  let inside = 0;
  for (let i = 0; i < actual.length; i++) {
    const r = actual[i]! - predicted[i]!;
    if (r >= qLo && r <= qHi) inside++;
  }
  return actual.length ? inside / actual.length : NaN;
}
