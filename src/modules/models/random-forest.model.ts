import { RandomForestRegression } from 'ml-random-forest';
import { z } from 'zod';
import type { Model, ModelContext, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';
import { createRng, deriveSeed, shuffleInPlace } from './rng.js';

const schema = z
  .object({
    nEstimators: z.number().int().min(1).max(500).default(16),
    maxDepth: z.number().int().min(1).max(30).default(5),
    /** Nodes with at most this many rows become leaves: averages of noisy returns need rows. */
    minNumSamples: z.number().int().min(2).max(10_000).default(20),
    /** Fraction of the columns each tree sees. */
    maxFeatures: z.number().gt(0).max(1).default(0.7),
    /**
     * Rows per forest. ml-cart's split search is O(n^2) per node (measured ~20 ms/tree at
     * 250 rows, ~130 ms at 800), so the forest trains on a seeded random subset of this size.
     */
    maxSamples: z.number().int().min(10).max(100_000).default(256),
  })
  .strict();
type ForestParams = z.output<typeof schema>;

/**
 * ml-random-forest's RandomForestRegression with OOB off (its OOB pass crashes with
 * "input must not be empty") and a bounded sample. Its `maxSamples` keeps the FIRST rows it
 * is given, which for chronological data would be the oldest ones, so rows are shuffled with
 * the run's seed first and maxSamples then yields a uniform random subset.
 */
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
    const order = shuffleInPlace(Array.from(X, (_, i) => i), createRng(deriveSeed(this.seed, 1)));
    const Xs = order.map((i) => X[i]!);
    const ys = order.map((i) => y[i]!);
    // The library reads 1 as "100 %", so a single column is asked for as the fraction 1.0 and
    // otherwise at least two columns (an integer count) are used.
    const nf = Math.max(1, Math.round(cols * this.params.maxFeatures));
    const maxFeatures = nf >= cols ? 1.0 : Math.max(2, nf);
    const maxSamples = this.params.maxSamples < X.length ? this.params.maxSamples : undefined;
    const rf = new RandomForestRegression({
      seed: deriveSeed(this.seed, 2),
      nEstimators: this.params.nEstimators,
      maxFeatures,
      replacement: false,
      useSampleBagging: true,
      noOOB: true,
      maxSamples,
      treeOptions: { maxDepth: this.params.maxDepth, minNumSamples: this.params.minNumSamples },
    });
    rf.train(Xs, ys);
    this.rf = rf;
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
  description: 'Bagged regression trees (ml-random-forest) on a seeded random subsample.',
  paramsSchema: schema,
  defaults: { nEstimators: 16, maxDepth: 5, minNumSamples: 20, maxFeatures: 0.7, maxSamples: 256 },
  paramGrid: { nEstimators: [16, 32], maxDepth: [3, 5, 7], minNumSamples: [10, 30], maxSamples: [256, 512] },
  create: (params: ForestParams, ctx: ModelContext) => new RandomForestModel(params, ctx.seed),
  load: (json) => {
    assertAlgorithm(json, 'random-forest');
    const state = json.state as { seed?: unknown; forest?: unknown };
    if (typeof state?.seed !== 'number' || !state.forest) throw new TypeError('random-forest state is incomplete');
    return new RandomForestModel(schema.parse(json.params), state.seed, RandomForestRegression.load(state.forest));
  },
};
