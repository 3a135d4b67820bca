import type { z } from 'zod';

/** What a fitted model is stored as: plain JSON, loadable by the zoo entry of `algorithm`. */
export interface SerializedModel {
  algorithm: string;
  params: Record<string, unknown>;
  state: unknown;
}

/**
 * Every model predicts the NEXT interval's log return from one row of (scaled, selected)
 * features; prices are reconstructed outside as lastClose * exp(r).
 */
export interface Model {
  readonly algorithm: string;
  fit(X: number[][], y: number[]): void;
  predict(X: number[][]): number[];
  toJSON(): SerializedModel;
}

export interface ModelContext {
  /** Seed for any randomness (random forest bagging); the same seed gives the same model. */
  seed: number;
}

export type ParamGrid<P> = { [K in keyof P]?: readonly P[K][] };

export interface ZooEntry<P extends Record<string, unknown> = Record<string, unknown>> {
  algorithm: string;
  label: string;
  description: string;
  paramsSchema: z.ZodType<P>;
  defaults: P;
  /** Values tried by tuning; keys not listed keep their default. */
  paramGrid: ParamGrid<P>;
  create(params: P, ctx: ModelContext): Model;
  load(json: SerializedModel): Model;
}

export function notFitted(algorithm: string): Error {
  return new Error(`${algorithm} model used before fit()`);
}

export function assertAlgorithm(json: SerializedModel, algorithm: string): void {
  if (!json || typeof json !== 'object' || json.algorithm !== algorithm) {
    throw new TypeError(`expected a serialized ${algorithm} model, got ${String((json as { algorithm?: unknown } | null)?.algorithm)}`);
  }
}

export function assertXy(X: readonly (readonly number[])[], y: readonly number[]): void {
  if (X.length === 0) throw new RangeError('cannot fit on zero rows');
  if (X.length !== y.length) throw new RangeError(`X has ${X.length} rows but y has ${y.length}`);
}
