/**
 * The candle shapes shared by market (which stores exact decimals) and the pure
 * features/models code (which computes in float64).
 */

/** Interval in minutes, as Kraken names them. candlecast tracks 1 hour and 1 day. */
export const INTERVALS = { '1h': 60, '1d': 1440 } as const;
export type IntervalName = keyof typeof INTERVALS;
export type IntervalMinutes = (typeof INTERVALS)[IntervalName];

export function intervalSeconds(minutes: number): number {
  return minutes * 60;
}

export function parseInterval(value: string | number): IntervalMinutes | undefined {
  if (typeof value === 'number') return (Object.values(INTERVALS) as number[]).includes(value) ? (value as IntervalMinutes) : undefined;
  const v = value.trim().toLowerCase();
  if (v in INTERVALS) return INTERVALS[v as IntervalName];
  if (v === '60' || v === '1440') return Number(v) as IntervalMinutes;
  if (v === 'hourly' || v === 'hour' || v === '60m') return 60;
  if (v === 'daily' || v === 'day' || v === '24h') return 1440;
  return undefined;
}

export function intervalName(minutes: number): IntervalName {
  const hit = (Object.entries(INTERVALS) as [IntervalName, number][]).find(([, m]) => m === minutes);
  if (!hit) throw new Error(`unknown interval ${minutes}`);
  return hit[0];
}

/** The API's and the metrics' label of an interval: "1h", "1d"; an untracked one as "<minutes>m". */
export function intervalLabel(minutes: number): string {
  try {
    return intervalName(minutes);
  } catch {
    return `${minutes}m`;
  }
}

/** A closed candle in float64, for analysis and models. `time` is the OPEN time in Unix seconds (UTC). */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
}

/** A candle with the exchange's digits kept exactly, as stored. */
export interface ExactCandle {
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trades: number;
  vwap?: string | null;
}

export function toFloatCandle(c: ExactCandle): Candle {
  return { time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close), volume: Number(c.volume), trades: c.trades };
}
