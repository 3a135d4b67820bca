import { z } from 'zod';
import { ValidationError } from '../../platform/errors.js';

const windows = z.array(z.number().int().min(2).max(2000)).max(8);

export const featureSelectionSchema = z
  .object({
    /** correlation: |Pearson r| with the target; permutation: MSE increase of a ridge fit when the column is shuffled. */
    method: z.enum(['correlation', 'permutation']).default('correlation'),
    /** Keep at most this many features (the best ranked). */
    topK: z.number().int().min(1).max(200).default(8),
    /** Drop features scoring below this (after topK); at least one feature is always kept. */
    minScore: z.number().min(0).default(0),
  })
  .strict();

export const featureConfigSchema = z
  .object({
    /** Lagged one-interval log returns r[t-1..t-lags] (r[t] itself is always present). */
    lags: z.number().int().min(0).max(60).default(5),
    /** ln(close[t] / close[t-n]). */
    momentumWindows: windows.default([5, 20]),
    /** ln(close / SMA_n). */
    smaWindows: windows.default([5, 10, 20, 50]),
    /** ln(close / EMA_n). */
    emaWindows: windows.default([12, 26]),
    /** Wilder RSI period; null leaves RSI out. */
    rsiPeriod: z.number().int().min(2).max(500).nullable().default(14),
    /** Rolling standard deviation of log returns. */
    volatilityWindows: windows.default([10, 30]),
    /** Window of the z-score of ln(1 + volume); null leaves it out. */
    volumeWindow: z.number().int().min(2).max(2000).nullable().default(20),
    /** ln(high/low) and ln(close/open) of the candle. */
    range: z.boolean().default(true),
    /** Day of week (and hour of day for intraday intervals) as sin/cos. */
    calendar: z.boolean().default(true),
    selection: featureSelectionSchema.prefault({}),
  })
  .strict();

export type FeatureSelectionConfig = z.output<typeof featureSelectionSchema>;
export type FeatureConfig = z.output<typeof featureConfigSchema>;
export type FeatureConfigInput = z.input<typeof featureConfigSchema>;

/** Parses a feature config (missing fields take the defaults); bad input is a ValidationError. */
export function parseFeatureConfig(input: unknown = {}): FeatureConfig {
  const r = featureConfigSchema.safeParse(input ?? {});
  if (!r.success) throw new ValidationError(`Invalid feature config: ${z.prettifyError(r.error)}`, r.error.issues);
  return r.data;
}
