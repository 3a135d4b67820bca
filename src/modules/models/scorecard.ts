/**
 * Forecast-evaluation statistics for a scorecard: point errors, scaled errors, skill vs naive
 * with a block-bootstrap interval, the Diebold-Mariano test with the Harvey-Leybourne-Newbold
 * correction, directional accuracy with a Wilson interval, and interval (band) scores.
 * Pure: arrays in, numbers out; randomness only through a seeded Rng.
 */
import type { Rng } from '../../platform/rng.js';
import { createRng } from '../../platform/rng.js';

type Vec = ArrayLike<number>;

function sameLength(a: Vec, b: Vec, what: string): number {
  if (a.length !== b.length) throw new RangeError(`${what}: arrays differ in length (${a.length} vs ${b.length})`);
  return a.length;
}

export function mae(actual: Vec, predicted: Vec): number {
  const n = sameLength(actual, predicted, 'mae');
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(actual[i]! - predicted[i]!);
  return s / n;
}

export function rmse(actual: Vec, predicted: Vec): number {
  const n = sameLength(actual, predicted, 'rmse');
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = actual[i]! - predicted[i]!;
    s += e * e;
  }
  return Math.sqrt(s / n);
}

/** In-sample MAE of the one-step naive forecast (y[t-1] for y[t]) over a training series: MASE's scale. */
export function naiveInSampleMae(series: Vec): number {
  if (series.length < 2) return NaN;
  let s = 0;
  for (let i = 1; i < series.length; i++) s += Math.abs(series[i]! - series[i - 1]!);
  return s / (series.length - 1);
}

/** Mean absolute scaled error (Hyndman & Koehler 2006): MAE / in-sample naive MAE of the training window. */
export function mase(actual: Vec, predicted: Vec, scale: number): number | null {
  if (!(scale > 0) || !Number.isFinite(scale)) return null;
  return mae(actual, predicted) / scale;
}

// ------------------------------------------------------------------ special functions

const LANCZOS = [676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7];

/** ln Γ(x), Lanczos (g = 7, n = 9); relative error ~1e-15 for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.9999999999998099;
  const t = z + 7.5;
  for (let i = 0; i < 8; i++) a += LANCZOS[i]! / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const bt = Math.exp(lbt);
  if (x < (a + 1) / (a + b + 2)) return (bt * betaContinuedFraction(a, b, x)) / a;
  return 1 - (bt * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const x = df / (df + t * t);
  const tail = 0.5 * regularizedIncompleteBeta(x, df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

// ------------------------------------------------------------------ Diebold-Mariano

export type DmAlternative = 'two.sided' | 'less' | 'greater';

export interface DmResult {
  /** HLN-corrected DM statistic; negative when the first forecast has the smaller loss. */
  statistic: number;
  pValue: number;
  alternative: DmAlternative;
  h: number;
  power: number;
  n: number;
  /** Mean loss differential (loss1 - loss2). */
  meanDifferential: number;
}

/**
 * Diebold-Mariano test of equal accuracy of forecast errors e1 and e2 with the
 * Harvey-Leybourne-Newbold (1997) small-sample correction, as R's `forecast::dm.test`
 * (varestimator "acf"): loss |e|^power, long-run variance from the autocovariances of the
 * loss differential up to lag h-1 (denominator n), statistic times
 * sqrt((n + 1 - 2h + h(h-1)/n) / n), p-value from Student t with n-1 df.
 * "less": the alternative is that e1's forecast is more accurate (its loss is smaller).
 * When the variance estimate is not positive for h > 1, falls back to h = 1 as R does.
 */
export function dieboldMariano(e1: Vec, e2: Vec, opts: { h?: number; power?: number; alternative?: DmAlternative } = {}): DmResult | null {
  const h = opts.h ?? 1;
  const power = opts.power ?? 2;
  const alternative = opts.alternative ?? 'two.sided';
  const n = sameLength(e1, e2, 'dieboldMariano');
  if (!Number.isInteger(h) || h < 1) throw new RangeError('h must be a positive integer');
  if (n < 2 || h >= n) return null;
  const d = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    d[i] = Math.abs(e1[i]!) ** power - Math.abs(e2[i]!) ** power;
    mean += d[i]!;
  }
  mean /= n;
  const gamma = (k: number) => {
    let s = 0;
    for (let i = k; i < n; i++) s += (d[i]! - mean) * (d[i - k]! - mean);
    return s / n;
  };
  let lrv = gamma(0);
  for (let k = 1; k < h; k++) lrv += 2 * gamma(k);
  const variance = lrv / n;
  if (!(variance > 0)) {
    if (h === 1) return null;
    return dieboldMariano(e1, e2, { ...opts, h: 1 });
  }
  const k = Math.sqrt((n + 1 - 2 * h + (h / n) * (h - 1)) / n);
  const statistic = (mean / Math.sqrt(variance)) * k;
  const lower = studentTCdf(statistic, n - 1);
  const pValue = alternative === 'two.sided' ? 2 * studentTCdf(-Math.abs(statistic), n - 1) : alternative === 'less' ? lower : studentTCdf(-statistic, n - 1);
  return { statistic, pValue, alternative, h, power, n, meanDifferential: mean };
}

// ------------------------------------------------------------------ bootstrap

export interface BootstrapOptions {
  /** Resamples; default 1000. */
  resamples?: number;
  /** Mean (stationary) or fixed (moving) block length; default round(n^(1/3)), at least 1. */
  blockLength?: number;
  /** stationary: geometric block lengths (Politis & Romano 1994); moving: fixed blocks (Künsch 1989). Default stationary. */
  method?: 'stationary' | 'moving';
  /** Two-sided level; default 0.95. */
  level?: number;
  seed?: number;
}

export interface BootstrapInterval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  blockLength: number;
  method: 'stationary' | 'moving';
  seed: number;
}

/** Indices of one block-bootstrap resample of 0..n-1 (blocks wrap around the end). */
export function blockBootstrapIndices(n: number, blockLength: number, method: 'stationary' | 'moving', rng: Rng): Int32Array {
  const out = new Int32Array(n);
  let i = 0;
  if (method === 'moving') {
    const L = Math.max(1, Math.min(n, Math.round(blockLength)));
    while (i < n) {
      const start = Math.floor(rng() * n);
      for (let k = 0; k < L && i < n; k++) out[i++] = (start + k) % n;
    }
    return out;
  }
  const p = 1 / Math.max(1, blockLength);
  let pos = Math.floor(rng() * n);
  while (i < n) {
    out[i++] = pos;
    pos = rng() < p ? Math.floor(rng() * n) : (pos + 1) % n;
  }
  return out;
}

function quantileOfSorted(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Percentile block-bootstrap interval of a statistic of paired per-point series. `stat`
 * receives the resampled indices and returns the statistic on them; pairs stay together,
 * and blocks keep the serial dependence of the losses.
 */
export function blockBootstrap(n: number, stat: (idx: ArrayLike<number>) => number, opts: BootstrapOptions = {}): BootstrapInterval | null {
  if (n < 2) return null;
  const resamples = opts.resamples ?? 1000;
  const blockLength = opts.blockLength ?? Math.max(1, Math.round(Math.cbrt(n)));
  const method = opts.method ?? 'stationary';
  const level = opts.level ?? 0.95;
  const seed = opts.seed ?? 42;
  const identity = new Int32Array(n);
  for (let i = 0; i < n; i++) identity[i] = i;
  const estimate = stat(identity);
  const rng = createRng(seed);
  const values = new Float64Array(resamples);
  let m = 0;
  for (let b = 0; b < resamples; b++) {
    const v = stat(blockBootstrapIndices(n, blockLength, method, rng));
    if (Number.isFinite(v)) values[m++] = v;
  }
  if (m === 0) return null;
  const sorted = values.subarray(0, m).sort();
  const a = (1 - level) / 2;
  return { estimate, lower: quantileOfSorted(sorted, a), upper: quantileOfSorted(sorted, 1 - a), level, resamples: m, blockLength, method, seed };
}

/** Skill vs naive, 1 - MAE(model) / MAE(naive) on the same points, with a block-bootstrap interval. */
export function skillWithInterval(modelErrors: Vec, naiveErrors: Vec, opts: BootstrapOptions = {}): BootstrapInterval | null {
  const n = sameLength(modelErrors, naiveErrors, 'skillWithInterval');
  const am = Float64Array.from(modelErrors, Math.abs);
  const an = Float64Array.from(naiveErrors, Math.abs);
  return blockBootstrap(
    n,
    (idx) => {
      let sm = 0;
      let sn = 0;
      for (let k = 0; k < idx.length; k++) {
        sm += am[idx[k]!]!;
        sn += an[idx[k]!]!;
      }
      return sn > 0 ? 1 - sm / sn : NaN;
    },
    opts,
  );
}

// ------------------------------------------------------------------ direction

export interface ProportionInterval {
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  successes: number;
  trials: number;
  level: number;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('p must be in (0, 1)');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  let x: number;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - pl) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  // one Halley step against erfc-based CDF
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Regularized upper incomplete gamma Q(a, x): series below a + 1, Lentz continued fraction above. */
function upperGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * Math.exp(lead);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(lead) * h;
}

/** Complementary error function: erfc(x) = Q(1/2, x^2) for x >= 0. */
function erfc(x: number): number {
  const q = upperGammaQ(0.5, x * x);
  return x >= 0 ? q : 2 - q;
}

/** Wilson score interval for a binomial proportion (Wilson 1927). */
export function wilsonInterval(successes: number, trials: number, level = 0.95): ProportionInterval {
  if (trials === 0) return { estimate: null, lower: null, upper: null, successes, trials, level };
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / trials;
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), successes, trials, level };
}

/**
 * Directional accuracy over the calls made (a predicted change of exactly 0 makes no call;
 * a call on a flat actual is a miss), with a Wilson interval.
 */
export function directionWithInterval(actualChange: Vec, predictedChange: Vec, level = 0.95): ProportionInterval {
  const n = sameLength(actualChange, predictedChange, 'directionWithInterval');
  let calls = 0;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const p = predictedChange[i]!;
    if (p === 0) continue;
    calls++;
    if (Math.sign(p) === Math.sign(actualChange[i]!)) hits++;
  }
  return wilsonInterval(hits, calls, level);
}

// ------------------------------------------------------------------ bands

/** Share of actuals inside [lower, upper] (bounds included). */
export function coverage(actual: Vec, lower: Vec, upper: Vec): number {
  const n = sameLength(actual, lower, 'coverage');
  sameLength(actual, upper, 'coverage');
  if (n === 0) return NaN;
  let inside = 0;
  for (let i = 0; i < n; i++) if (actual[i]! >= lower[i]! && actual[i]! <= upper[i]!) inside++;
  return inside / n;
}

export function meanWidth(lower: Vec, upper: Vec): number {
  const n = sameLength(lower, upper, 'meanWidth');
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) s += upper[i]! - lower[i]!;
  return s / n;
}

/**
 * Mean Winkler (1972) interval score of central (1 - alpha) intervals: width, plus 2/alpha
 * times the distance by which the actual falls outside. Lower is better.
 */
export function winklerScore(actual: Vec, lower: Vec, upper: Vec, alpha: number): number {
  const n = sameLength(actual, lower, 'winklerScore');
  sameLength(actual, upper, 'winklerScore');
  if (!(alpha > 0 && alpha < 1)) throw new RangeError('alpha must be in (0, 1)');
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const y = actual[i]!;
    const lo = lower[i]!;
    const hi = upper[i]!;
    let w = hi - lo;
    if (y < lo) w += (2 / alpha) * (lo - y);
    else if (y > hi) w += (2 / alpha) * (y - hi);
    s += w;
  }
  return s / n;
}

/** Mean pinball (quantile) loss of forecasts of the tau-quantile. */
export function pinballLoss(actual: Vec, quantileForecast: Vec, tau: number): number {
  const n = sameLength(actual, quantileForecast, 'pinballLoss');
  if (!(tau > 0 && tau < 1)) throw new RangeError('tau must be in (0, 1)');
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const u = actual[i]! - quantileForecast[i]!;
    s += u >= 0 ? tau * u : (tau - 1) * u;
  }
  return s / n;
}

// ------------------------------------------------------------------ the scorecard

/** Price bands of one forecaster at the same points. */
export interface Bands {
  lower80: Vec;
  upper80: Vec;
  lower95: Vec;
  upper95: Vec;
}

export interface BandScores {
  coverage80: number;
  coverage95: number;
  meanWidth80: number;
  meanWidth95: number;
  winkler80: number;
  winkler95: number;
  /** Mean pinball loss over the band quantiles 0.025, 0.1, 0.9 and 0.975. */
  pinball: number;
}

export interface ForecasterScores {
  mae: number;
  rmse: number;
  mase: number | null;
  direction: ProportionInterval;
  bands: BandScores | null;
}

export interface Scorecard {
  n: number;
  /** MASE's denominator: in-sample naive MAE of the training window. */
  maseScale: number | null;
  model: ForecasterScores;
  naive: ForecasterScores;
  /** 1 - MAE(model)/MAE(naive), with a block-bootstrap percentile interval. */
  skill: BootstrapInterval | null;
  /** DM tests, model (e1) vs naive (e2): two-sided, and one-sided "model more accurate". */
  dm: { squared: { twoSided: DmResult | null; less: DmResult | null }; absolute: { twoSided: DmResult | null; less: DmResult | null } };
}

export interface ScorecardInput {
  /** Base (last known) value at each point: the naive forecast. */
  base: Vec;
  actual: Vec;
  predicted: Vec;
  modelBands?: Bands;
  naiveBands?: Bands;
  /** In-sample naive MAE of the training window (see naiveInSampleMae). */
  maseScale: number | null;
  h?: number;
  bootstrap?: BootstrapOptions;
}

export function bandScores(actual: Vec, b: Bands): BandScores {
  const pin = (pinballLoss(actual, b.lower95, 0.025) + pinballLoss(actual, b.lower80, 0.1) + pinballLoss(actual, b.upper80, 0.9) + pinballLoss(actual, b.upper95, 0.975)) / 4;
  return {
    coverage80: coverage(actual, b.lower80, b.upper80),
    coverage95: coverage(actual, b.lower95, b.upper95),
    meanWidth80: meanWidth(b.lower80, b.upper80),
    meanWidth95: meanWidth(b.lower95, b.upper95),
    winkler80: winklerScore(actual, b.lower80, b.upper80, 0.2),
    winkler95: winklerScore(actual, b.lower95, b.upper95, 0.05),
    pinball: pin,
  };
}

/** The model beside naive on exactly the same points. */
export function scorecard(input: ScorecardInput): Scorecard {
  const n = sameLength(input.actual, input.predicted, 'scorecard');
  sameLength(input.actual, input.base, 'scorecard');
  const h = input.h ?? 1;
  const scale = input.maseScale !== null && input.maseScale > 0 ? input.maseScale : null;
  const eModel = new Float64Array(n);
  const eNaive = new Float64Array(n);
  const actualChange = new Float64Array(n);
  const predictedChange = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    eModel[i] = input.actual[i]! - input.predicted[i]!;
    eNaive[i] = input.actual[i]! - input.base[i]!;
    actualChange[i] = input.actual[i]! - input.base[i]!;
    predictedChange[i] = input.predicted[i]! - input.base[i]!;
  }
  const scores = (pred: Vec, change: Vec, bands: Bands | undefined): ForecasterScores => ({
    mae: mae(input.actual, pred),
    rmse: rmse(input.actual, pred),
    mase: scale === null ? null : mase(input.actual, pred, scale),
    direction: directionWithInterval(actualChange, change),
    bands: bands ? bandScores(input.actual, bands) : null,
  });
  const dm = (power: number, alternative: DmAlternative) => dieboldMariano(eModel, eNaive, { h, power, alternative });
  return {
    n,
    maseScale: scale,
    model: scores(input.predicted, predictedChange, input.modelBands),
    naive: scores(input.base, new Float64Array(n), input.naiveBands),
    skill: skillWithInterval(eModel, eNaive, input.bootstrap),
    dm: { squared: { twoSided: dm(2, 'two.sided'), less: dm(2, 'less') }, absolute: { twoSided: dm(1, 'two.sided'), less: dm(1, 'less') } },
  };
}
