/**
 * Causal rolling indicators on Float64Array: the value at i uses x[0..i] only, and windows
 * that are not yet full (or contain NaN) give NaN. Hot paths of feature building: danfojs has
 * no rolling(); its best substitute (cumSum and a difference) measured ~20x slower than this
 * loop on 70k closes, one window at a time through iloc ~1000x (docs/decisions/010).
 */

/** r[i] = ln(x[i] / x[i-1]); r[0] = NaN. */
export function logReturns(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  if (x.length > 0) out[0] = NaN;
  for (let i = 1; i < x.length; i++) out[i] = Math.log(x[i]! / x[i - 1]!);
  return out;
}

/** ln(x[i] / x[i-n]). */
export function logChange(x: Float64Array, n: number): Float64Array {
  const out = new Float64Array(x.length).fill(NaN);
  for (let i = n; i < x.length; i++) out[i] = Math.log(x[i]! / x[i - n]!);
  return out;
}

/** out[i] = x[i-k] (NaN for i < k). */
export function lag(x: Float64Array, k: number): Float64Array {
  const out = new Float64Array(x.length).fill(NaN);
  for (let i = k; i < x.length; i++) out[i] = x[i - k]!;
  return out;
}

/** Simple moving average over x[i-n+1..i], O(length) with a running sum. */
export function rollingMean(x: Float64Array, n: number): Float64Array {
  const len = x.length;
  const out = new Float64Array(len).fill(NaN);
  let sum = 0;
  let nans = 0;
  for (let i = 0; i < len; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) nans++;
    else sum += v;
    if (i >= n) {
      const old = x[i - n]!;
      if (Number.isNaN(old)) nans--;
      else sum -= old;
    }
    // The running sum drifts by rounding; re-anchoring periodically keeps it at float64 accuracy.
    if (i >= n - 1 && i % 4096 === 0) {
      sum = 0;
      for (let j = i - n + 1; j <= i; j++) if (!Number.isNaN(x[j]!)) sum += x[j]!;
    }
    if (i >= n - 1 && nans === 0) out[i] = sum / n;
  }
  return out;
}

/**
 * Rolling standard deviation (sample, ddof = 1) computed two-pass per window: windows are
 * short (<= a few hundred) and two-pass avoids the cancellation of sum-of-squares updates.
 */
export function rollingStd(x: Float64Array, n: number): Float64Array {
  const len = x.length;
  const out = new Float64Array(len).fill(NaN);
  const mean = rollingMean(x, n);
  for (let i = n - 1; i < len; i++) {
    const m = mean[i]!;
    if (Number.isNaN(m)) continue;
    let ss = 0;
    for (let j = i - n + 1; j <= i; j++) {
      const d = x[j]! - m;
      ss += d * d;
    }
    out[i] = Math.sqrt(ss / (n - 1));
  }
  return out;
}

/** (x[i] - mean) / std over the trailing window including i; 0 when the window is flat. */
export function rollingZScore(x: Float64Array, n: number): Float64Array {
  const mean = rollingMean(x, n);
  const std = rollingStd(x, n);
  const out = new Float64Array(x.length).fill(NaN);
  for (let i = 0; i < x.length; i++) {
    const m = mean[i]!;
    const s = std[i]!;
    if (Number.isNaN(m) || Number.isNaN(s)) continue;
    out[i] = s > 0 ? (x[i]! - m) / s : 0;
  }
  return out;
}

/**
 * Exponential moving average, alpha = 2 / (n + 1), seeded with the SMA of the first n values
 * (the usual charting convention), so the first value is at index n - 1. It depends on where
 * the series starts; that effect decays as (1 - alpha)^k and is below 1e-6 after ~7n candles,
 * which is why predictions are fed a long history (see pipeline requiredHistory).
 */
export function ema(x: Float64Array, n: number): Float64Array {
  const len = x.length;
  const out = new Float64Array(len).fill(NaN);
  if (len < n) return out;
  const alpha = 2 / (n + 1);
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i]!;
  let prev = s / n;
  out[n - 1] = prev;
  for (let i = n; i < len; i++) {
    prev = alpha * x[i]! + (1 - alpha) * prev;
    out[i] = prev;
  }
  return out;
}

/** Wilder's RSI in [0, 100]; first value at index n. Flat windows give 50. */
export function rsi(close: Float64Array, n: number): Float64Array {
  const len = close.length;
  const out = new Float64Array(len).fill(NaN);
  if (len <= n) return out;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= n; i++) {
    const d = close[i]! - close[i - 1]!;
    if (d > 0) gain += d;
    else loss -= d;
  }
  gain /= n;
  loss /= n;
  out[n] = rsiValue(gain, loss);
  for (let i = n + 1; i < len; i++) {
    const d = close[i]! - close[i - 1]!;
    gain = (gain * (n - 1) + (d > 0 ? d : 0)) / n;
    loss = (loss * (n - 1) + (d < 0 ? -d : 0)) / n;
    out[i] = rsiValue(gain, loss);
  }
  return out;
}

function rsiValue(gain: number, loss: number): number {
  if (gain === 0 && loss === 0) return 50;
  if (loss === 0) return 100;
  return 100 - 100 / (1 + gain / loss);
}
