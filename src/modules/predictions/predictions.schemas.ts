/**
 * zod schemas of the predictions module's inputs: HTTP query strings and bodies, and the job
 * parameters (which are stored on the job run, so they parse to plain JSON).
 */
import { z } from 'zod';
import { parseInterval } from '../../platform/candle.js';
import { ALGORITHMS, algorithmSchema, validationSchema } from '../models/index.js';

/** BTC/USD daily, as the original served, when a client names neither. */
export const DEFAULT_PAIR = 'BTC/USD';
export const DEFAULT_INTERVAL = 1440;

export const intervalSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const m = parseInterval(v);
  if (m === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be 1h or 1d (or 60, 1440)' });
    return z.NEVER;
  }
  return m as number;
}).describe('1d or 1h (also 1440, 60, daily, hourly)');

export const pairSchema = z.string().trim().min(1, { message: 'must name a pair such as BTC/USD or XBTUSD' }).max(40).describe("any name of a stored pair: BTC/USD, XBTUSD (Kraken's altname), XXBTZUSD (its key)");

/** A time as an ISO date or date-time, or Unix seconds; parsed to Unix seconds. */
export const timeSchema = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number' || /^\d{9,11}(\.\d+)?$/.test(v.trim())) {
    const n = Number(v);
    if (Number.isFinite(n) && n >= 0) return Math.floor(n);
  } else {
    const t = Date.parse(v.trim());
    if (Number.isFinite(t)) return Math.floor(t / 1000);
  }
  ctx.addIssue({ code: 'custom', message: 'must be an ISO date (2024-01-31 or 2024-01-31T00:00:00Z) or Unix seconds' });
  return z.NEVER;
}).describe('an ISO date or date-time (UTC), or Unix seconds');

const boolQuery = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const intQuery = (min: number, max: number) =>
  z.coerce.number({ message: `must be a whole number from ${min} to ${max}` }).int({ message: `must be a whole number from ${min} to ${max}` }).min(min, { message: `must be a whole number from ${min} to ${max}` }).max(max, { message: `must be a whole number from ${min} to ${max}` });

export const seriesQuery = z.object({
  pair: pairSchema.default(DEFAULT_PAIR),
  interval: intervalSchema.default(DEFAULT_INTERVAL),
});
export type SeriesQuery = z.output<typeof seriesQuery>;

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;

export const runsQuery = z.object({
  pair: pairSchema.optional(),
  interval: intervalSchema.optional(),
  algorithm: z.enum(ALGORITHMS, { message: `must be one of ${ALGORITHMS.join(', ')}` }).optional(),
  status: z.enum(RUN_STATUSES, { message: `must be one of ${RUN_STATUSES.join(', ')}` }).optional(),
  kind: z.enum(['train', 'trial'], { message: 'must be train or trial' }).optional(),
  tuning: intQuery(1, 2 ** 31 - 1).optional(),
  best: boolQuery.optional(),
  limit: intQuery(1, 200).default(50),
  cursor: intQuery(1, 2 ** 31 - 1).optional(),
});
export type RunsQuery = z.output<typeof runsQuery>;

export const idParam = z.object({ id: intQuery(1, 2 ** 31 - 1) });

export const predictionsQuery = seriesQuery.extend({
  from: timeSchema.optional(),
  to: timeSchema.optional(),
  kind: z.enum(['live', 'backtest'], { message: 'must be live or backtest' }).default('live'),
  /** best: the current best run only; naive: the baseline only; all: every run */
  model: z.enum(['all', 'best', 'naive'], { message: 'must be all, best or naive' }).default('all'),
  run: intQuery(1, 2 ** 31 - 1).optional(),
  limit: intQuery(1, 5000).default(500),
});
export type PredictionsQuery = z.output<typeof predictionsQuery>;

export const liveMetricsQuery = seriesQuery.extend({
  /** only each model's newest N scored predictions */
  last: intQuery(1, 100_000).optional(),
});

export const tuningsQuery = z.object({
  pair: pairSchema.optional(),
  interval: intervalSchema.optional(),
  limit: intQuery(1, 200).default(50),
  cursor: intQuery(1, 2 ** 31 - 1).optional(),
});

export const backtestBody = z
  .object({
    pair: pairSchema.default(DEFAULT_PAIR),
    interval: intervalSchema.default(DEFAULT_INTERVAL),
    from: timeSchema,
    to: timeSchema,
    /** a model run to backtest; default the current best */
    run_id: z.number().int().positive().optional(),
    /** also store the points as kind 'backtest' predictions (administrators) */
    store: z.boolean().default(false),
  })
  .strict()
  .refine((b) => b.from <= b.to, { message: 'from must not be after to', path: ['from'] });
export type BacktestBody = z.output<typeof backtestBody>;

const suiteEntry = z.object({ algorithm: algorithmSchema, params: z.record(z.string(), z.unknown()).default({}) }).strict();

/** Parameters of the 'retrain' job (and of POST /api/prediction/train, whose body they are). */
export const retrainParams = z
  .object({
    pair: pairSchema.optional(),
    interval: intervalSchema.optional(),
    /** train these algorithms of the default suite (the naive baseline is always added) */
    algorithms: z.array(algorithmSchema).min(1).optional(),
    /** or exactly these models and params (the naive baseline is always added) */
    suite: z.array(suiteEntry).min(1).max(50).optional(),
    validation: validationSchema.optional(),
    /** train on the newest N closed candles only */
    maxCandles: z.number().int().min(100).max(1_000_000).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    /** only pairs and intervals that have no best model yet (the startup run) */
    onlyMissing: z.boolean().optional(),
  })
  .strict()
  .refine((p) => !(p.algorithms && p.suite), { message: 'give algorithms or suite, not both', path: ['suite'] });
export type RetrainParams = z.output<typeof retrainParams>;

export const seriesParams = z
  .object({
    pair: pairSchema.optional(),
    interval: intervalSchema.optional(),
  })
  .strict();
export type SeriesParams = z.output<typeof seriesParams>;

export const driftParams = z
  .object({
    /** how many of the best model's newest scored live predictions are averaged */
    window: z.number().int().min(1).max(10_000).optional(),
    /** below this many scored predictions nothing is judged */
    minSamples: z.number().int().min(1).max(10_000).optional(),
    /** overrides RETRAIN_DRIFT_MARGIN */
    margin: z.number().min(0).max(10).optional(),
  })
  .strict();
export type DriftParams = z.output<typeof driftParams>;

/** POST /api/prediction/tune and the 'tune' job's spec. */
export const tuneBody = z
  .object({
    pair: pairSchema.default(DEFAULT_PAIR),
    interval: intervalSchema.default(DEFAULT_INTERVAL),
    algorithm: algorithmSchema,
    strategy: z.enum(['grid', 'random']).default('random'),
    maxTrials: z.number().int().min(1).max(200).default(12),
    objective: z.enum(['mae', 'rmse']).default('mae'),
    paramGrid: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
    baseParams: z.record(z.string(), z.unknown()).optional(),
    validation: validationSchema.optional(),
    maxCandles: z.number().int().min(100).max(1_000_000).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    /** launch a retrain of this pair and interval once the tuning succeeded (it uses the tuned params) */
    retrain: z.boolean().default(false),
  })
  .strict();
export type TuneBody = z.output<typeof tuneBody>;

export const tuneJobParams = z.union([z.object({ tuningId: z.number().int().positive() }).strict(), tuneBody]);

export const promoteBody = z
  .object({ reason: z.string().trim().max(500).optional() })
  .strict()
  .optional()
  .transform((b) => b ?? {});
