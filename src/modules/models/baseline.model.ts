import { z } from 'zod';
import type { Model, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy } from './model.js';

const naiveSchema = z.object({}).strict();
type NaiveParams = z.output<typeof naiveSchema>;

/** Persistence: predicts a log return of exactly 0, so next = last to the bit (exp(0) === 1). */
class NaiveModel implements Model {
  readonly algorithm = 'naive';
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
  }
  predict(X: number[][]): number[] {
    return X.map(() => 0);
  }
  toJSON(): SerializedModel {
    return { algorithm: this.algorithm, params: {}, state: {} };
  }
}

export const naiveEntry: ZooEntry<NaiveParams> = {
  algorithm: 'naive',
  label: 'Naive (persistence)',
  description: 'Next close = last close. The baseline every other model must beat.',
  paramsSchema: naiveSchema,
  defaults: {},
  paramGrid: {},
  create: () => new NaiveModel(),
  load: (json) => {
    assertAlgorithm(json, 'naive');
    return new NaiveModel();
  },
};

const driftSchema = z
  .object({
    /** Average only the last `window` training returns; null = the whole training window. */
    window: z.number().int().min(2).nullable().default(null),
  })
  .strict();
type DriftParams = z.output<typeof driftSchema>;

/** Predicts the mean training log return: the random walk with drift. */
class MeanDriftModel implements Model {
  readonly algorithm = 'mean-drift';
  constructor(
    readonly params: DriftParams,
    private mean: number | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    const w = this.params.window === null ? y.length : Math.min(this.params.window, y.length);
    let s = 0;
    for (let i = y.length - w; i < y.length; i++) s += y[i]!;
    this.mean = s / w;
  }
  predict(X: number[][]): number[] {
    const m = this.mean;
    if (m === null) throw new Error('mean-drift model used before fit()');
    return X.map(() => m);
  }
  toJSON(): SerializedModel {
    return { algorithm: this.algorithm, params: { ...this.params }, state: { mean: this.mean } };
  }
}

export const meanDriftEntry: ZooEntry<DriftParams> = {
  algorithm: 'mean-drift',
  label: 'Mean drift',
  description: 'Next return = mean of the training returns (random walk with drift).',
  paramsSchema: driftSchema,
  defaults: { window: null },
  paramGrid: { window: [null, 730, 365, 90] },
  create: (params) => new MeanDriftModel(params),
  load: (json) => {
    assertAlgorithm(json, 'mean-drift');
    const state = json.state as { mean: unknown };
    if (typeof state?.mean !== 'number') throw new TypeError('mean-drift state has no mean');
    return new MeanDriftModel(driftSchema.parse(json.params), state.mean);
  },
};
