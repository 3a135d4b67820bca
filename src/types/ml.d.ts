// ml-regression and ml-random-forest ship no typings; only what candlecast uses is described.
declare module 'ml-regression' {
  export class MultivariateLinearRegression {
    constructor(x: number[][], y: number[][], options?: { intercept?: boolean; statistics?: boolean });
    predict(x: number[] | number[][]): number[] | number[][];
    weights: number[][];
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
    constructor(x: number[][], y: number[][], options?: { kernel?: string; kernelOptions?: Record<string, unknown>; lambda?: number });
    predict(x: number[][]): number[][];
    toJSON(): unknown;
    static load(json: unknown): KernelRidgeRegression;
  }
}
declare module 'ml-random-forest' {
  export interface RandomForestOptions {
    seed?: number;
    maxFeatures?: number;
    replacement?: boolean;
    nEstimators?: number;
    treeOptions?: { maxDepth?: number; minNumSamples?: number; gainFunction?: string; splitFunction?: string };
    useSampleBagging?: boolean;
    noOOB?: boolean;
    maxSamples?: number;
  }
  export class RandomForestRegression {
    constructor(options: RandomForestOptions);
    train(x: number[][], y: number[]): void;
    predict(x: number[][]): number[];
    toJSON(): unknown;
    static load(json: unknown): RandomForestRegression;
  }
}
