/**
 * zod schemas of the market endpoints' inputs. The original API's names (start_date,
 * end_date, limit; {asset, symbol, exchange}) are kept; aliases (from/to, {pair}) are added.
 */
import { z } from 'zod';
import { parseInterval, type IntervalMinutes } from '../../platform/candle.js';

const trimmed = z.string().trim();

/** ISO date or datetime (UTC when no zone is given), or Unix seconds. */
export function parseTimeParam(raw: string): number | undefined {
  const v = raw.trim();
  if (/^\d{1,11}$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const ms = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms / 1000;
  }
  // a datetime without a zone is UTC (the original's dtutc values carry none)
  const withZone = /[zZ]|[+-]\d{2}:?\d{2}$/.test(v) ? v : `${v}Z`;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

export const timeParam = trimmed.transform((v, ctx) => {
  const t = parseTimeParam(v);
  if (t === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${v.slice(0, 40)}" is not a date: use an ISO date or datetime (2024-01-31, 2024-01-31T12:00:00Z) or Unix seconds` });
    return z.NEVER;
  }
  return t;
});

export const intervalParam = z.union([trimmed, z.number()]).transform((v, ctx): IntervalMinutes => {
  const m = parseInterval(v);
  if (m === undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown interval "${String(v).slice(0, 20)}": use 1h or 1d` });
    return z.NEVER;
  }
  return m;
});

const boolParam = z
  .union([z.boolean(), trimmed])
  .transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    const s = v.toLowerCase();
    if (['true', '1', 'yes', 'on', ''].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

const intParam = (min: number, max: number) =>
  z.union([z.number(), trimmed]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : v === '' ? NaN : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

export const HISTORY_MAX_LIMIT = 1000;

export const historyQuery = z.object({
  start_date: timeParam.optional(),
  end_date: timeParam.optional(),
  from: timeParam.optional(),
  to: timeParam.optional(),
  limit: intParam(1, HISTORY_MAX_LIMIT).optional(),
  interval: intervalParam.default(1440),
  cursor: trimmed.max(200).optional(),
  format: z.enum(['json', 'csv']).optional(),
  exact: boolParam.optional(),
});

export const latestQuery = z.object({
  limit: intParam(1, HISTORY_MAX_LIMIT).default(14),
  interval: intervalParam.default(1440),
  exact: boolParam.optional(),
});

export const catalogueQuery = z.object({
  q: trimmed.max(40).optional(),
  refresh: boolParam.optional(),
});

export const assetsQuery = z.object({
  all: boolParam.optional(),
  details: boolParam.optional(),
});

const intervalList = z.array(intervalParam).min(1).max(2);

const pairName = trimmed.min(1).max(40);

export const addAssetBody = z
  .object({
    asset: pairName.optional(),
    symbol: pairName.optional(),
    exchange: trimmed.max(40).optional(),
    pair: pairName.optional(),
    intervals: intervalList.optional(),
    /** how far back to fill; default: what OHLC's 720-interval window holds */
    backfill_from: timeParam.optional(),
    start_date: timeParam.optional(),
    from: timeParam.optional(),
    backfill: boolParam.optional(),
    confirm: boolParam.optional(),
  })
  .refine((b) => b.asset !== undefined || b.symbol !== undefined || b.pair !== undefined, {
    message: 'name the pair: {"pair": "XBTUSD"} or the original {"asset": "XXBTZUSD", "symbol": "XBTUSD", "exchange": "kraken"}',
  })
  .refine((b) => b.exchange === undefined || b.exchange.toLowerCase() === 'kraken', { message: 'exchange: only "kraken" is supported', path: ['exchange'] });

export const deleteQuery = z.object({ purge: boolParam.optional() });

export const backfillBody = z.object({
  from: timeParam.optional(),
  start_date: timeParam.optional(),
  intervals: intervalList.optional(),
  interval: intervalParam.optional(),
  confirm: boolParam.optional(),
});

export const estimateQuery = z.object({
  from: timeParam.optional(),
  start_date: timeParam.optional(),
  interval: intervalParam.optional(),
});

export const rangeQuery = z.object({
  interval: intervalParam.default(1440),
  from: timeParam.optional(),
  to: timeParam.optional(),
  start_date: timeParam.optional(),
  end_date: timeParam.optional(),
  limit: intParam(1, 10_000).optional(),
});

export const importQuery = z.object({
  interval: intervalParam.default(1440),
});

export const resumeBody = z.object({ confirm: boolParam.optional() });

export const idParam = intParam(1, 2 ** 31 - 1);
