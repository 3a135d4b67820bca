import { z } from 'zod';
import { ValidationError } from '../../platform/errors.js';
import { meanDriftEntry, naiveEntry } from './baseline.model.js';
import { kernelRidgeEntry } from './kernel-ridge.model.js';
import { linearEntry } from './linear.model.js';
import type { Model, ModelContext, SerializedModel, ZooEntry } from './model.js';
import { polynomialEntry } from './polynomial.model.js';
import { randomForestEntry } from './random-forest.model.js';
import { ridgeEntry } from './ridge.model.js';

export const ALGORITHMS = ['naive', 'mean-drift', 'linear', 'ridge', 'polynomial', 'kernel-ridge', 'random-forest'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];
export const algorithmSchema = z.enum(ALGORITHMS);

type AnyEntry = ZooEntry<Record<string, unknown>>;

/** The model registry: one entry per algorithm with its params schema, defaults and tuning grid. */
export const zoo: Readonly<Record<Algorithm, AnyEntry>> = Object.freeze({
  naive: naiveEntry as AnyEntry,
  'mean-drift': meanDriftEntry as unknown as AnyEntry,
  linear: linearEntry as unknown as AnyEntry,
  ridge: ridgeEntry as unknown as AnyEntry,
  polynomial: polynomialEntry as unknown as AnyEntry,
  'kernel-ridge': kernelRidgeEntry as unknown as AnyEntry,
  'random-forest': randomForestEntry as unknown as AnyEntry,
});

export function isAlgorithm(name: unknown): name is Algorithm {
  return typeof name === 'string' && (ALGORITHMS as readonly string[]).includes(name);
}

export function zooEntry(algorithm: string): AnyEntry {
  if (!isAlgorithm(algorithm)) throw new ValidationError(`Unknown algorithm "${algorithm}"; expected one of ${ALGORITHMS.join(', ')}`);
  return zoo[algorithm];
}

/** Validates params against the algorithm's schema (missing keys take defaults). */
export function parseModelParams(algorithm: string, params: unknown = {}): Record<string, unknown> {
  const entry = zooEntry(algorithm);
  const r = entry.paramsSchema.safeParse(params ?? {});
  if (!r.success) throw new ValidationError(`Invalid params for ${algorithm}: ${z.prettifyError(r.error)}`, r.error.issues);
  return r.data;
}

export function createModel(algorithm: string, params: unknown, ctx: ModelContext): Model {
  return zooEntry(algorithm).create(parseModelParams(algorithm, params), ctx);
}

export function loadModel(json: SerializedModel): Model {
  return zooEntry(json?.algorithm).load(json);
}
