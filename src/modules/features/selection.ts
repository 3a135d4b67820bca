import { createRng } from '../../platform/rng.js';
import type { FeatureSelectionConfig } from './features.schemas.js';

export interface FeatureRank {
  name: string;
  /** Higher is more useful; its meaning depends on the method (|r| or MSE increase). */
  score: number;
  /** 1 = best. */
  rank: number;
}

/** Pearson correlation; 0 when either side is constant (no linear information). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length) throw new RangeError('pearson: length mismatch');
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx <= 0 || syy <= 0) return 0;
  return sxy / Math.sqrt(sxx * syy);
}

function toRanking(names: readonly string[], scores: readonly number[]): FeatureRank[] {
  const order = names.map((name, i) => ({ name, score: Number.isFinite(scores[i]!) ? scores[i]! : 0, i }));
  // Ties keep the feature-definition order so the ranking is deterministic.
  order.sort((a, b) => b.score - a.score || a.i - b.i);
  return order.map((o, r) => ({ name: o.name, score: o.score, rank: r + 1 }));
}

/** Ranks features by |Pearson r| with the target over the given (training) rows only. */
export function rankByCorrelation(names: readonly string[], X: readonly (readonly number[])[], y: readonly number[]): FeatureRank[] {
  const k = names.length;
  const col = new Float64Array(X.length);
  const scores: number[] = [];
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < X.length; i++) col[i] = X[i]![j]!;
    scores.push(Math.abs(pearson(col, y)));
  }
  return toRanking(names, scores);
}

export type FitPredict = (X: number[][], y: number[]) => (X: number[][]) => number[];

export interface PermutationOptions {
  /** Fraction of the (chronological) rows held out at the end to measure the loss. */
  holdoutFraction?: number;
  repeats?: number;
  seed?: number;
}

/**
 * Permutation importance: fit once on the first part of the training rows, then the increase
 * in held-out MSE when one column is shuffled. The holdout is the LATER part of the window,
 * so the measure respects time order. The model is passed in because features sit below
 * models in the module graph.
 */
export function rankByPermutation(
  names: readonly string[],
  X: readonly (readonly number[])[],
  y: readonly number[],
  fitPredict: FitPredict,
  opts: PermutationOptions = {},
): FeatureRank[] {
  const holdout = Math.max(1, Math.floor(X.length * (opts.holdoutFraction ?? 0.25)));
  const cut = X.length - holdout;
  if (cut < 2) throw new RangeError('too few rows for permutation importance');
  const Xtr = X.slice(0, cut).map((r) => [...r]);
  const ytr = y.slice(0, cut);
  const Xte = X.slice(cut).map((r) => [...r]);
  const yte = y.slice(cut);
  const predict = fitPredict(Xtr, ytr);
  const base = mse(yte, predict(Xte));
  const repeats = opts.repeats ?? 3;
  const rand = createRng(opts.seed ?? 1);
  const scores: number[] = [];
  for (let j = 0; j < names.length; j++) {
    let inc = 0;
    for (let r = 0; r < repeats; r++) {
      const perm = Xte.map((row) => row[j]!);
      for (let i = perm.length - 1; i > 0; i--) {
        const s = Math.floor(rand() * (i + 1));
        [perm[i], perm[s]] = [perm[s]!, perm[i]!];
      }
      const shuffled = Xte.map((row, i) => {
        const c = [...row];
        c[j] = perm[i]!;
        return c;
      });
      inc += mse(yte, predict(shuffled)) - base;
    }
    scores.push(Math.max(0, inc / repeats));
  }
  return toRanking(names, scores);
}

function mse(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

/** The best `topK` features, minus those scoring under `minScore`; never empty. */
export function selectFeatures(ranking: readonly FeatureRank[], cfg: Pick<FeatureSelectionConfig, 'topK' | 'minScore'>): string[] {
  const chosen = ranking.slice(0, cfg.topK).filter((r) => r.score >= cfg.minScore).map((r) => r.name);
  if (chosen.length === 0 && ranking[0]) chosen.push(ranking[0].name);
  return chosen;
}
