import { z } from 'zod';
import type { LinearFit } from './linalg.js';
import { linearPredict, ridgeFit } from './linalg.js';
import type { Model, SerializedModel, ZooEntry } from './model.js';
import { assertAlgorithm, assertXy, notFitted } from './model.js';

const schema = z
  .object({
    degree: z.number().int().min(1).max(3).default(2),
    /** Only the first (= best ranked) columns are expanded: terms grow as C(m + d, d). */
    topFeatures: z.number().int().min(1).max(8).default(3),
    /** A light ridge keeps the squared/cross terms (strongly collinear) stable. */
    lambda: z.number().min(0).max(1e7).default(10),
  })
  .strict();
type PolyParams = z.output<typeof schema>;

/** Every monomial of total degree 1..d over m variables, as lists of column indices. */
export function monomials(m: number, degree: number): number[][] {
  const out: number[][] = [];
  const rec = (start: number, current: number[]) => {
    if (current.length > 0) out.push([...current]);
    if (current.length === degree) return;
    for (let j = start; j < m; j++) {
      current.push(j);
      rec(j, current);
      current.pop();
    }
  };
  rec(0, []);
  return out;
}

function expand(X: readonly (readonly number[])[], terms: readonly number[][]): number[][] {
  return X.map((row) =>
    terms.map((t) => {
      let v = 1;
      for (const j of t) v *= row[j]!;
      return v;
    }),
  );
}

interface PolyState {
  terms: number[][];
  fit: LinearFit;
}

/** Polynomial regression of degree d on the top few features (pairwise interactions included). */
class PolynomialModel implements Model {
  readonly algorithm = 'polynomial';
  constructor(
    readonly params: PolyParams,
    private state: PolyState | null = null,
  ) {}
  fit(X: number[][], y: number[]): void {
    assertXy(X, y);
    const m = Math.min(this.params.topFeatures, X[0]!.length);
    const terms = monomials(m, this.params.degree);
    this.state = { terms, fit: ridgeFit(expand(X, terms), y, this.params.lambda) };
  }
  predict(X: number[][]): number[] {
    if (!this.state) throw notFitted(this.algorithm);
    return linearPredict(this.state.fit, expand(X, this.state.terms));
  }
  toJSON(): SerializedModel {
    if (!this.state) throw notFitted(this.algorithm);
    return { algorithm: this.algorithm, params: { ...this.params }, state: structuredClone(this.state) };
  }
}

const stateSchema = z.object({
  terms: z.array(z.array(z.number().int().min(0))),
  fit: z.object({ weights: z.array(z.number()), intercept: z.number() }),
});

export const polynomialEntry: ZooEntry<PolyParams> = {
  algorithm: 'polynomial',
  label: 'Polynomial regression',
  description: 'Degree-2 (or 3) terms of the best few features, fitted with a light ridge penalty.',
  paramsSchema: schema,
  defaults: { degree: 2, topFeatures: 3, lambda: 10 },
  paramGrid: { degree: [2, 3], topFeatures: [2, 3, 4], lambda: [10, 100, 1000] },
  create: (params) => new PolynomialModel(params),
  load: (json) => {
    assertAlgorithm(json, 'polynomial');
    return new PolynomialModel(schema.parse(json.params), stateSchema.parse(json.state));
  },
};
