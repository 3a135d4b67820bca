import { MultivariateLinearRegression } from 'ml-regression';
import { z } from 'zod';
import type { Model, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';

const schema = z.object({ intercept: z.boolean().default(true) }).strict();
type LinearParams = z.output<typeof schema>;

/** Ordinary least squares through ml-regression (which wants a 2-D y and inverts X'X by SVD). */
class LinearModel implements Model {
  readonly algorithm = 'linear';
  constructor(
    readonly params: LinearParams,
    private mlr: MultivariateLinearRegression | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    // statistics: false skips a pseudo-inverse per fit that only feeds a summary we never read.
    this.mlr = new MultivariateLinearRegression(X, y.map((v) => [v]), { intercept: this.params.intercept, statistics: false });
  }
  predict(X: number[][]): number[] {
    if (!this.mlr) throw notFitted(this.algorithm);
    if (X.length === 0) return [];
    return this.mlr.predict(X).map((r) => r[0]!);
  }
  /** [w_1..w_k, intercept] (intercept 0 when disabled), for inspection and tests. */
  coefficients(): number[] {
    if (!this.mlr) throw notFitted(this.algorithm);
    const w = this.mlr.weights.map((r) => r[0]!);
    return this.params.intercept ? w : [...w, 0];
  }
  toJSON(): SerializedModel {
    if (!this.mlr) throw notFitted(this.algorithm);
    return { algorithm: this.algorithm, params: { ...this.params }, state: this.mlr.toJSON() };
  }
}

export const linearEntry: ZooEntry<LinearParams> = {
  algorithm: 'linear',
  label: 'Linear regression',
  description: 'Multivariate least squares (ml-regression) on the selected, scaled features.',
  paramsSchema: schema,
  defaults: { intercept: true },
  paramGrid: { intercept: [true, false] },
  create: (params) => new LinearModel(params),
  load: (json) => {
    assertAlgorithm(json, 'linear');
    return new LinearModel(schema.parse(json.params), MultivariateLinearRegression.load(json.state));
  },
};

export type { LinearModel };
