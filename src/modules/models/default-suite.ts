import type { Algorithm } from './zoo.js';

export interface SuiteEntry {
  algorithm: Algorithm;
  params: Record<string, unknown>;
}

/**
 * The models trained by default for a pair and interval, baselines first. Sized so the whole
 * suite with walk-forward on ~3.7k daily BTC rows runs in a few seconds on 2 cores
 * (bench:train); the forest and the kernel model are the costly ones and are kept small.
 */
export const DEFAULT_SUITE: readonly SuiteEntry[] = Object.freeze([
  { algorithm: 'naive', params: {} },
  { algorithm: 'mean-drift', params: { window: null } },
  { algorithm: 'linear', params: { intercept: true } },
  { algorithm: 'ridge', params: { lambda: 30 } },
  { algorithm: 'polynomial', params: { degree: 2, topFeatures: 3, lambda: 10 } },
  { algorithm: 'kernel-ridge', params: { lambda: 10, sigma: 8, maxTrainRows: 365 } },
  { algorithm: 'random-forest', params: { nEstimators: 16, subsamples: 16, maxDepth: 3, minNumSamples: 40, maxFeatures: 0.7, maxSamples: 150 } },
]);
