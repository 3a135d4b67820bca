import { z } from 'zod';
import type { LinearFit } from './linalg.js';
import { linearPredict, ridgeFit } from './linalg.js';
import type { Model, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';

const schema = z.object({ lambda: z.number().min(0).max(1e7).default(30) }).strict();
type RidgeParams = z.output<typeof schema>;

/**
 * Ridge in closed form on Float64Array (linalg.ts). With standardised inputs lambda is in
 * units of "rows": lambda = n halves a coefficient whose feature has unit variance.
 */
class RidgeModel implements Model {
  readonly algorithm = 'ridge';
  constructor(
    readonly params: RidgeParams,
    private fitted: LinearFit | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    this.fitted = ridgeFit(X, y, this.params.lambda);
  }
  predict(X: number[][]): number[] {
    if (!this.fitted) throw notFitted(this.algorithm);
    return linearPredict(this.fitted, X);
  }
  toJSON(): SerializedModel {
    if (!this.fitted) throw notFitted(this.algorithm);
    return { algorithm: this.algorithm, params: { ...this.params }, state: { weights: [...this.fitted.weights], intercept: this.fitted.intercept } };
  }
}

const stateSchema = z.object({ weights: z.array(z.number()), intercept: z.number() });

export const ridgeEntry: ZooEntry<RidgeParams> = {
  algorithm: 'ridge',
  label: 'Ridge regression',
  description: 'Least squares with an L2 penalty (closed form), robust to correlated features.',
  paramsSchema: schema,
  defaults: { lambda: 30 },
  paramGrid: { lambda: [1, 10, 30, 100, 300, 1000, 3000] },
  create: (params) => new RidgeModel(params),
  load: (json) => {
    assertAlgorithm(json, 'ridge');
    return new RidgeModel(schema.parse(json.params), stateSchema.parse(json.state));
  },
};
