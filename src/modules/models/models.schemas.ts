import { z } from 'zod';
import { featureConfigSchema } from '../features/index.js';
import { ValidationError } from '../../platform/errors.js';
import { walkForwardSchema } from './walk-forward.js';
import { algorithmSchema } from './zoo.js';

export const validationSchema = z
  .object({
    /** Share of the rows (the most recent) held out for the single train/test split. */
    holdoutFraction: z.number().gt(0).max(0.5).default(0.2),
    walkForward: walkForwardSchema.prefault({}),
  })
  .strict();
export type ValidationConfig = z.output<typeof validationSchema>;
export type ValidationConfigInput = z.input<typeof validationSchema>;

const seedSchema = z.number().int().min(0).max(2 ** 31 - 1);

export const trainSpecSchema = z
  .object({
    /** Candle interval in minutes (60, 1440). */
    interval: z.number().int().positive().max(10_080),
    algorithm: algorithmSchema,
    params: z.record(z.string(), z.unknown()).default({}),
    validation: validationSchema.prefault({}),
    featureConfig: featureConfigSchema.prefault({}),
    seed: seedSchema.default(42),
    /** Also describe the training features with danfojs (loads it: ~1-2 s the first time). */
    summary: z.boolean().default(false),
  })
  .strict();
export type TrainSpec = z.output<typeof trainSpecSchema>;
export type TrainSpecInput = z.input<typeof trainSpecSchema>;

export const searchSchema = z
  .object({
    /** grid: the full grid in order (cut at maxTrials); random: a seeded sample of the grid without repeats. */
    strategy: z.enum(['grid', 'random']).default('random'),
    maxTrials: z.number().int().min(1).max(1000).default(12),
    objective: z.enum(['mae', 'rmse']).default('mae'),
    /** Overrides the algorithm's own grid, key by key. */
    paramGrid: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  })
  .strict();

export const tuneSpecSchema = trainSpecSchema.omit({ params: true, summary: true }).extend({
  search: searchSchema.prefault({}),
  /** Params held fixed under the grid (e.g. a cheaper forest while tuning depth). */
  baseParams: z.record(z.string(), z.unknown()).default({}),
});
export type TuneSpec = z.output<typeof tuneSpecSchema>;
export type TuneSpecInput = z.input<typeof tuneSpecSchema>;

export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError(`Invalid ${what}: ${z.prettifyError(r.error)}`, r.error.issues);
  return r.data;
}
