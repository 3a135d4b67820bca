// ml-regression and ml-random-forest ship no typings; only what candlecast uses is described.
declare module 'ml-regression' {
  export class MultivariateLinearRegression {
    constructor(x: number[][], y: number[][], options?: { intercept?: boolean; statistics?: boolean });
    predict(x: number[]): number[];
    predict(x: number[][]): number[][];
    weights: number[][];
    intercept: boolean;
    toJSON(): unknown;
    static load(json: unknown): MultivariateLinearRegression;
  }
  export class PolynomialRegression {
    constructor(x: number[], y: number[], degree: number);
    predict(x: number): number;
    toJSON(): unknown;
    static load(json: unknown): PolynomialRegression;
  }
  export class KernelRidgeRegression {
    /** `kernelType` (not `kernel`) is the option the library reads; lambda defaults to 0.1. */
    constructor(
      x: number[][],
      y: number[][],
      options?: { kernelType?: 'gaussian' | 'polynomial' | 'sigmoid' | 'linear' | string; kernelOptions?: Record<string, unknown>; lambda?: number },
    );
    predict(x: number[][]): number[][];
    toJSON(): unknown;
    static load(json: unknown): KernelRidgeRegression;
  }
}
declare module 'ml-random-forest' {
  export interface RandomForestOptions {
    seed?: number;
    /** A float in (0, 1] is a fraction of the columns; an integer > 1 a count (1 means 100 %). */
    maxFeatures?: number;
    replacement?: boolean;
    nEstimators?: number;
    treeOptions?: { maxDepth?: number; minNumSamples?: number; gainFunction?: string; splitFunction?: string; gainThreshold?: number };
    selectionMethod?: 'mean' | 'median';
    useSampleBagging?: boolean;
    noOOB?: boolean;
    /** Keeps the FIRST maxSamples rows (not a random subset): shuffle before training. */
    maxSamples?: number;
  }
  export class RandomForestRegression {
    constructor(options: RandomForestOptions);
    train(x: number[][], y: number[]): void;
    predict(x: number[][]): number[];
    featureImportance(): number[];
    toJSON(): unknown;
    static load(json: unknown): RandomForestRegression;
  }
}
