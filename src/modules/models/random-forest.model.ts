import { RandomForestRegression } from 'ml-random-forest';
import { z } from 'zod';
import type { Model, ModelContext, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';
import { createRng, deriveSeed } from '../../platform/rng.js';

const schema = z
  .object({
    nEstimators: z.number().int().min(1).max(500).default(16),
    maxDepth: z.number().int().min(1).max(30).default(3),
    /** Nodes with at most this many rows become leaves: averages of noisy returns need rows. */
    minNumSamples: z.number().int().min(2).max(10_000).default(40),
    /** Fraction of the columns each tree sees. */
    maxFeatures: z.number().gt(0).max(1).default(0.7),
    /**
     * Rows per subsample. ml-cart's split search is O(n^2) per node (measured ~20 ms/tree at
     * 250 rows, ~130 ms at 800), so trees train on seeded random subsets of this size.
     */
    maxSamples: z.number().int().min(10).max(100_000).default(150),
    /**
     * Independent subsamples, each with its own forest of nEstimators / subsamples trees
     * (default: one per tree). With one shared subsample every tree sees the same few hundred
     * rows and averaging cannot remove which rows were drawn: on BTC daily walk-forward that
     * measured skill -0.072 against -0.027 with 4 subsamples and -0.025 with one per tree
     * (docs/decisions/012).
     */
    subsamples: z.number().int().min(1).max(500).default(16),
  })
  .strict();
type ForestParams = z.output<typeof schema>;

/**
 * ml-random-forest's RandomForestRegression with OOB off (its OOB pass crashes with
 * "input must not be empty") and bounded samples. The subsample is drawn here rather than by
 * the library's `maxSamples`, which keeps the FIRST rows it is given (for chronological data,
 * the oldest) and first copies the whole training set into a Matrix: with one subsample per
 * tree that copy dominated training on 67k hourly rows (measured ~4.4 s of ml-matrix
 * construction plus GC in a 14 s fit; docs/decisions/012).
 */

/** The parts of ml-random-forest's documented JSON (toJSON/load) that merging touches. */
interface ForestJson {
  name: 'RFRegression';
  selectionMethod: string;
  baseModel: { nEstimators: number; estimators: unknown[]; indexes: unknown[]; [k: string]: unknown };
}

/**
 * One forest from several trained on different subsamples: trees and their column indexes
 * are concatenated, so predict() averages all trees in one call (one Matrix conversion of
 * the input instead of one per subsample).
 */
function mergeForests(parts: readonly ForestJson[]): ForestJson {
  const first = parts[0]!;
  return {
    ...first,
    baseModel: {
      ...first.baseModel,
      nEstimators: parts.reduce((s, p) => s + p.baseModel.nEstimators, 0),
      estimators: parts.flatMap((p) => p.baseModel.estimators),
      indexes: parts.flatMap((p) => p.baseModel.indexes),
    },
  };
}

class RandomForestModel implements Model {
  readonly algorithm = 'random-forest';
  constructor(
    readonly params: ForestParams,
    private readonly seed: number,
    private rf: RandomForestRegression | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    const cols = X[0]!.length;
    // The library reads 1 as "100 %", so a single column is asked for as the fraction 1.0 and
    // otherwise at least two columns (an integer count) are used.
    const nf = Math.max(1, Math.round(cols * this.params.maxFeatures));
    const maxFeatures = nf >= cols ? 1.0 : Math.max(2, nf);
    const m = Math.min(this.params.maxSamples, X.length);
    const groups = Math.min(this.params.subsamples, this.params.nEstimators);
    const rng = createRng(deriveSeed(this.seed, 1));
    const pool = Int32Array.from(X, (_, i) => i);
    const parts: ForestJson[] = [];
    for (let g = 0; g < groups; g++) {
      // Partial Fisher-Yates: the first m slots become a uniform sample without replacement;
      // continuing from the previous permutation keeps every draw uniform.
      for (let i = 0; i < m; i++) {
        const j = i + Math.floor(rng() * (X.length - i));
        const t = pool[i]!;
        pool[i] = pool[j]!;
        pool[j] = t;
      }
      const idx = Array.from(pool.subarray(0, m));
      const trees = Math.floor(this.params.nEstimators / groups) + (g < this.params.nEstimators % groups ? 1 : 0);
      const rf = new RandomForestRegression({
        seed: deriveSeed(this.seed, 100 + g),
        nEstimators: trees,
        maxFeatures,
        replacement: false,
        useSampleBagging: true,
        noOOB: true,
        treeOptions: { maxDepth: this.params.maxDepth, minNumSamples: this.params.minNumSamples },
      });
      rf.train(
        idx.map((i) => X[i]!),
        idx.map((i) => y[i]!),
      );
      parts.push(JSON.parse(JSON.stringify(rf.toJSON())) as ForestJson);
    }
    this.rf = RandomForestRegression.load(mergeForests(parts));
  }
  predict(X: number[][]): number[] {
    if (!this.rf) throw notFitted(this.algorithm);
    if (X.length === 0) return [];
    return this.rf.predict(X);
  }
  toJSON(): SerializedModel {
    if (!this.rf) throw notFitted(this.algorithm);
    return { algorithm: this.algorithm, params: { ...this.params }, state: { seed: this.seed, forest: JSON.parse(JSON.stringify(this.rf.toJSON())) as unknown } };
  }
}

export const randomForestEntry: ZooEntry<ForestParams> = {
  algorithm: 'random-forest',
  label: 'Random forest',
  description: 'Bagged regression trees (ml-random-forest), each on its own seeded random subsample.',
  paramsSchema: schema,
  defaults: { nEstimators: 16, maxDepth: 3, minNumSamples: 40, maxFeatures: 0.7, maxSamples: 150, subsamples: 16 },
  paramGrid: { nEstimators: [16, 32], maxDepth: [2, 3, 5], minNumSamples: [20, 40, 80], maxSamples: [150, 300] },
  create: (params: ForestParams, ctx: ModelContext) => new RandomForestModel(params, ctx.seed),
  load: (json) => {
    assertAlgorithm(json, 'random-forest');
    const state = json.state as { seed?: unknown; forest?: unknown };
    if (typeof state?.seed !== 'number' || !state.forest) throw new TypeError('random-forest state is incomplete');
    return new RandomForestModel(schema.parse(json.params), state.seed, RandomForestRegression.load(state.forest));
  },
};
