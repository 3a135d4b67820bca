import { RandomForestRegression } from 'ml-random-forest';
import { z } from 'zod';
import type { Model, ModelContext, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';
import { createRng, deriveSeed, shuffleInPlace } from './rng.js';

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
     * measured skill -0.086 against -0.019 with 4 subsamples and -0.021 with one per tree
     * (holdout -0.116 / -0.029 / -0.012; docs/decisions/012).
     */
    subsamples: z.number().int().min(1).max(500).default(16),
  })
  .strict();
type ForestParams = z.output<typeof schema>;

/**
 * ml-random-forest's RandomForestRegression with OOB off (its OOB pass crashes with
 * "input must not be empty") and a bounded sample. Its `maxSamples` keeps the FIRST rows it
 * is given, which for chronological data would be the oldest ones, so each subsample is a
 * fresh seeded shuffle and maxSamples then yields a uniform random subset.
 */
class RandomForestModel implements Model {
  readonly algorithm = 'random-forest';
  constructor(
    readonly params: ForestParams,
    private readonly seed: number,
    private forests: RandomForestRegression[] | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    const cols = X[0]!.length;
    // The library reads 1 as "100 %", so a single column is asked for as the fraction 1.0 and
    // otherwise at least two columns (an integer count) are used.
    const nf = Math.max(1, Math.round(cols * this.params.maxFeatures));
    const maxFeatures = nf >= cols ? 1.0 : Math.max(2, nf);
    const maxSamples = this.params.maxSamples < X.length ? this.params.maxSamples : undefined;
    const groups = Math.min(this.params.subsamples, this.params.nEstimators);
    const rng = createRng(deriveSeed(this.seed, 1));
    const forests: RandomForestRegression[] = [];
    for (let g = 0; g < groups; g++) {
      const order = shuffleInPlace(Array.from(X, (_, i) => i), rng);
      const trees = Math.floor(this.params.nEstimators / groups) + (g < this.params.nEstimators % groups ? 1 : 0);
      const rf = new RandomForestRegression({
        seed: deriveSeed(this.seed, 100 + g),
        nEstimators: trees,
        maxFeatures,
        replacement: false,
        useSampleBagging: true,
        noOOB: true,
        maxSamples,
        treeOptions: { maxDepth: this.params.maxDepth, minNumSamples: this.params.minNumSamples },
      });
      rf.train(
        order.map((i) => X[i]!),
        order.map((i) => y[i]!),
      );
      forests.push(rf);
    }
    this.forests = forests;
  }
  predict(X: number[][]): number[] {
    const forests = this.forests;
    if (!forests) throw notFitted(this.algorithm);
    if (X.length === 0) return [];
    // Weighted by tree count so the result is the mean over all trees.
    const out = new Array<number>(X.length).fill(0);
    let total = 0;
    for (const rf of forests) {
      const n = (rf as unknown as { nEstimators: number }).nEstimators;
      const p = rf.predict(X);
      for (let i = 0; i < X.length; i++) out[i]! += n * p[i]!;
      total += n;
    }
    return out.map((v) => v / total);
  }
  toJSON(): SerializedModel {
    if (!this.forests) throw notFitted(this.algorithm);
    return {
      algorithm: this.algorithm,
      params: { ...this.params },
      state: { seed: this.seed, forests: this.forests.map((f) => JSON.parse(JSON.stringify(f.toJSON())) as unknown) },
    };
  }
}

export const randomForestEntry: ZooEntry<ForestParams> = {
  algorithm: 'random-forest',
  label: 'Random forest',
  description: 'Bagged regression trees (ml-random-forest) on a seeded random subsample.',
  paramsSchema: schema,
  defaults: { nEstimators: 16, maxDepth: 3, minNumSamples: 40, maxFeatures: 0.7, maxSamples: 150, subsamples: 16 },
  paramGrid: { nEstimators: [16, 32], maxDepth: [2, 3, 5], minNumSamples: [20, 40, 80], maxSamples: [150, 300] },
  create: (params: ForestParams, ctx: ModelContext) => new RandomForestModel(params, ctx.seed),
  load: (json) => {
    assertAlgorithm(json, 'random-forest');
    const state = json.state as { seed?: unknown; forests?: unknown };
    if (typeof state?.seed !== 'number' || !Array.isArray(state.forests) || state.forests.length === 0) throw new TypeError('random-forest state is incomplete');
    return new RandomForestModel(schema.parse(json.params), state.seed, state.forests.map((f) => RandomForestRegression.load(f)));
  },
};
