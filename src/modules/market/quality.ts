/**
 * Data quality, pure: which candles look wrong. A flagged candle is kept (it is what the
 * exchange published) and marked, so models and people can decide; nothing is deleted or
 * invented here. Missing candles are found by the gap finder in candles/gaps.ts.
 *
 * A return is "far outside the pair's recent distribution" when it lies more than
 * `threshold` robust standard deviations (1.4826 x the median absolute deviation) from the
 * median of the previous `window` returns. Median and MAD, not mean and standard deviation,
 * so one crash does not widen the band enough to hide the next one, and a quiet stretch does
 * not make every ordinary move an outlier (the scale has a floor).
 */
import { checkOhlc } from './candles/index.js';

export interface AnomalyOptions {
  /** previous returns compared against; default 60 */
  window?: number;
  /** fewer previous returns than this: no judgement; default 20 */
  minSamples?: number;
  /** robust z-score above which a return is an anomaly; default 10 */
  threshold?: number;
  /** floor of the robust scale (log-return units per interval), so flat stretches do not flag every tick; default 0.002 */
  minScale?: number;
}

export interface AnomalyFlag {
  time: number;
  reason: string;
}

export interface ClosePoint {
  time: number;
  close: number;
}

export const ANOMALY_DEFAULTS = { window: 60, minSamples: 20, threshold: 10, minScale: 0.002 } as const;

/** Median of an ascending array's first n values. */
function medianSorted(a: Float64Array, n: number): number {
  const mid = n >> 1;
  return n % 2 === 1 ? a[mid]! : (a[mid - 1]! + a[mid]!) / 2;
}

/**
 * Median absolute deviation from m of an ascending array: the deviations left of m, read
 * right to left, and those right of m, read left to right, are two ascending runs; merging
 * them up to the middle gives the median without sorting.
 */
function madSorted(a: Float64Array, n: number, m: number): number {
  let j = 0;
  while (j < n && a[j]! < m) j++;
  let i = j - 1;
  const want = n >> 1;
  let prev = 0;
  let cur = 0;
  for (let k = 0; k <= want; k++) {
    const left = i >= 0 ? m - a[i]! : Infinity;
    const right = j < n ? a[j]! - m : Infinity;
    prev = cur;
    if (left <= right) {
      cur = left;
      i--;
    } else {
      cur = right;
      j++;
    }
  }
  return n % 2 === 1 ? cur : (prev + cur) / 2;
}

/** Index of the first element >= v in the ascending first n values. */
function lowerBound(a: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function pct(logReturn: number): string {
  const p = (Math.exp(logReturn) - 1) * 100;
  return `${p >= 0 ? '+' : ''}${p.toFixed(1)}%`;
}

/**
 * Flags closes whose log return (per interval; a return across a gap of k intervals is
 * divided by sqrt(k)) is an outlier against the previous returns. Only points with
 * time >= evaluateFrom are judged; earlier points are context. `points` must be ascending.
 */
export function detectReturnAnomalies(points: readonly ClosePoint[], intervalMinutes: number, evaluateFrom: number, opts: AnomalyOptions = {}): AnomalyFlag[] {
  const window = opts.window ?? ANOMALY_DEFAULTS.window;
  const minSamples = opts.minSamples ?? ANOMALY_DEFAULTS.minSamples;
  const threshold = opts.threshold ?? ANOMALY_DEFAULTS.threshold;
  const minScale = opts.minScale ?? ANOMALY_DEFAULTS.minScale;
  const step = intervalMinutes * 60;
  const out: AnomalyFlag[] = [];
  // the previous normalised returns, in arrival order (ring) and sorted (for median and MAD)
  const ring = new Float64Array(window);
  const sorted = new Float64Array(window);
  let n = 0;
  let head = 0;
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1]!;
    const cur = points[i]!;
    if (!(prev.close > 0) || !(cur.close > 0)) continue;
    const k = Math.max(1, Math.round((cur.time - prev.time) / step));
    const r = Math.log(cur.close / prev.close) / Math.sqrt(k);
    if (cur.time >= evaluateFrom && n >= minSamples) {
      const m = medianSorted(sorted, n);
      const scale = Math.max(1.4826 * madSorted(sorted, n, m), minScale);
      const z = Math.abs(r - m) / scale;
      if (z > threshold) {
        const across = k > 1 ? ` across ${k} intervals` : '';
        out.push({
          time: cur.time,
          reason: `return ${pct(r * Math.sqrt(k))}${across} is ${z.toFixed(1)} robust SD from the median of the previous ${n} returns (threshold ${threshold})`,
        });
      }
    }
    if (n === window) {
      // drop the oldest return from the sorted copy
      const old = ring[head]!;
      const at = lowerBound(sorted, n, old);
      sorted.copyWithin(at, at + 1, n);
      n--;
    }
    const at = lowerBound(sorted, n, r);
    sorted.copyWithin(at + 1, at, n);
    sorted[at] = r;
    n++;
    ring[head] = r;
    head = (head + 1) % window;
  }
  return out;
}

/** OHLC that contradicts itself (high below the body, low above it, a price <= 0); the CSV parser refuses such rows, Kraken's answers are checked here. */
export function ohlcProblem(c: { open: string; high: string; low: string; close: string }): string | null {
  try {
    return checkOhlc(c);
  } catch {
    return 'a price is not a number';
  }
}

/** Merges flags for the same time (an OHLC problem and a return outlier) into one reason. */
export function mergeFlags(...lists: AnomalyFlag[][]): AnomalyFlag[] {
  const byTime = new Map<number, string[]>();
  for (const list of lists) for (const f of list) byTime.set(f.time, [...(byTime.get(f.time) ?? []), f.reason]);
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([time, reasons]) => ({ time, reason: reasons.join('; ') }));
}
