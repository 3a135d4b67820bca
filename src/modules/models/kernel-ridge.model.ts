import { z } from 'zod';
import { solveSpd } from './linalg.js';
import type { Model, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';

const schema = z
  .object({
    lambda: z.number().positive().max(1e6).default(10),
    /** Gaussian kernel width in standardised units: k(a, b) = exp(-|a - b|^2 / (2 sigma^2)). */
    sigma: z.number().positive().max(1e3).default(8),
    /**
     * Fit on the most recent rows only: the solve is O(n^3) and the model stores its training
     * rows, so n stays in the hundreds. The most recent, because regimes drift.
     */
    maxTrainRows: z.number().int().min(10).max(3000).default(365),
  })
  .strict();
type KrrParams = z.output<typeof schema>;

interface KrrState {
  /** Training rows (row-major, n x k) and their dual coefficients. */
  inputs: number[][];
  alpha: number[];
  /** Mean of the training targets: the kernel part models deviations from it, so far-away rows fall back to the mean, not to 0. */
  offset: number;
}

/**
 * Kernel ridge regression with a Gaussian kernel, alpha = (K + lambda I)^-1 (y - mean).
 * Written on Float64Array with a Cholesky solve: ml-regression's KernelRidgeRegression gives
 * the same numbers but was measured ~20x slower here (per-pair Matrix objects in ml-kernel),
 * which made it the slowest model of the suite.
 */
class KernelRidgeModel implements Model {
  readonly algorithm = 'kernel-ridge';
  constructor(
    readonly params: KrrParams,
    private state: KrrState | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    const start = Math.max(0, X.length - this.params.maxTrainRows);
    const inputs = X.slice(start).map((r) => [...r]);
    const ys = y.slice(start);
    const n = inputs.length;
    const offset = ys.reduce((s, v) => s + v, 0) / n;
    const K = new Float64Array(n * n);
    const g = -1 / (2 * this.params.sigma * this.params.sigma);
    for (let i = 0; i < n; i++) {
      K[i * n + i] = 1 + this.params.lambda;
      for (let j = 0; j < i; j++) {
        const v = Math.exp(g * sqDist(inputs[i]!, inputs[j]!));
        K[i * n + j] = v;
        K[j * n + i] = v;
      }
    }
    const alpha = solveSpd(K, Float64Array.from(ys, (v) => v - offset), n);
    this.state = { inputs, alpha: Array.from(alpha), offset };
  }
  predict(X: number[][]): number[] {
    const s = this.state;
    if (!s) throw notFitted(this.algorithm);
    const g = -1 / (2 * this.params.sigma * this.params.sigma);
    return X.map((row) => {
      let v = s.offset;
      for (let i = 0; i < s.inputs.length; i++) v += s.alpha[i]! * Math.exp(g * sqDist(row, s.inputs[i]!));
      return v;
    });
  }
  toJSON(): SerializedModel {
    if (!this.state) throw notFitted(this.algorithm);
    return { algorithm: this.algorithm, params: { ...this.params }, state: structuredClone(this.state) };
  }
}

function sqDist(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const d = a[k]! - b[k]!;
    s += d * d;
  }
  return s;
}

const stateSchema = z.object({ inputs: z.array(z.array(z.number())), alpha: z.array(z.number()), offset: z.number() });

export const kernelRidgeEntry: ZooEntry<KrrParams> = {
  algorithm: 'kernel-ridge',
  label: 'Kernel ridge (Gaussian)',
  description: 'Non-linear ridge regression with a Gaussian kernel on the most recent rows.',
  paramsSchema: schema,
  defaults: { lambda: 10, sigma: 8, maxTrainRows: 365 },
  paramGrid: { lambda: [1, 3, 10, 30], sigma: [4, 8, 16], maxTrainRows: [180, 365, 730] },
  create: (params) => new KernelRidgeModel(params),
  load: (json) => {
    assertAlgorithm(json, 'kernel-ridge');
    const state = stateSchema.parse(json.state);
    if (state.inputs.length !== state.alpha.length) throw new TypeError('kernel-ridge state: inputs and alpha differ in length');
    return new KernelRidgeModel(schema.parse(json.params), state);
  },
};
