/**
 * Shapes of Kraken's public answers. zod guards the edge: a change on Kraken's side becomes
 * one clear "unexpected_shape" error instead of undefined values deep inside ingestion.
 * Decimal fields stay strings, checked to be decimals, never turned into floats.
 */
import { z } from 'zod';
import { isDecimal } from '../candles/decimal.js';
import type { KrakenAssetPair } from './kraken.types.js';

export const envelopeSchema = z.object({
  error: z.array(z.string()),
  result: z.unknown().optional(),
});

const decimalString = z.string().refine(isDecimal, { message: 'not a decimal string' });

export const assetPairSchema = z.object({
  altname: z.string().min(1),
  wsname: z.string().optional(),
  base: z.string(),
  quote: z.string(),
  pair_decimals: z.number().int().nonnegative(),
  lot_decimals: z.number().int().nonnegative(),
  cost_decimals: z.number().int().nonnegative().optional(),
  tick_size: decimalString.optional(),
  ordermin: decimalString.optional(),
  status: z.string().optional(),
});

export const assetPairsResultSchema = z.record(z.string(), assetPairSchema);

/** AssetPairs' `result`, already validated, as our pair entries (one mapping for every caller). */
export function toAssetPairs(result: z.infer<typeof assetPairsResultSchema>): KrakenAssetPair[] {
  return Object.entries(result).map(([key, p]) => ({
    key,
    altname: p.altname,
    wsname: p.wsname ?? null,
    base: p.base,
    quote: p.quote,
    pairDecimals: p.pair_decimals,
    lotDecimals: p.lot_decimals,
    costDecimals: p.cost_decimals ?? null,
    tickSize: p.tick_size ?? null,
    orderMin: p.ordermin ?? null,
    status: p.status ?? null,
  }));
}

/** [time, open, high, low, close, vwap, volume, count] */
export const ohlcRowSchema = z.tuple([z.number().int(), decimalString, decimalString, decimalString, decimalString, decimalString, decimalString, z.number().int().nonnegative()]);

/** [price, volume, time, "b"|"s", "m"|"l", misc, trade_id?] (old answers have no id) */
export const tradeRowSchema = z.union([
  z.tuple([decimalString, decimalString, z.number(), z.enum(['b', 's']), z.enum(['m', 'l']), z.string(), z.number().int()]),
  z.tuple([decimalString, decimalString, z.number(), z.enum(['b', 's']), z.enum(['m', 'l']), z.string()]),
]);

const pairOf = z.tuple([decimalString, decimalString]);
export const tickerSchema = z.object({
  a: z.tuple([decimalString, decimalString, decimalString]),
  b: z.tuple([decimalString, decimalString, decimalString]),
  c: pairOf,
  v: pairOf,
  p: pairOf,
  t: z.tuple([z.number().int(), z.number().int()]),
  l: pairOf,
  h: pairOf,
  o: decimalString,
});

/** The ns cursor: digits only (Kraken sends a string; older answers a number). */
export const cursorSchema = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => String(v));
