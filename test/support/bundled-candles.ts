/**
 * Reads the real Kraken OHLCVT files shipped with the project into Candle[] for tests and
 * benchmarks. Kept deliberately dumb (no cleaning, no sorting) so tests see the data as published.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Candle } from '../../src/platform/candle.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const BUNDLED = {
  btcDaily: 'data/bundled/XBTUSD_1440.csv',
  ethDaily: 'data/bundled/ETHUSD_1440.csv',
  btcHourly: 'test/fixtures/kraken/XBTUSD_60.csv',
} as const;
export type BundledName = keyof typeof BUNDLED;

const cache = new Map<string, readonly Candle[]>();

export function parseOhlcvt(text: string): Candle[] {
  const out: Candle[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const f = line.split(',');
    if (f.length < 7) throw new Error(`bad OHLCVT line: ${line}`);
    out.push({
      time: Number(f[0]),
      open: Number(f[1]),
      high: Number(f[2]),
      low: Number(f[3]),
      close: Number(f[4]),
      volume: Number(f[5]),
      trades: Number(f[6]),
    });
  }
  return out;
}

/** Fresh copies on every call so a test that perturbs candles cannot poison another. */
export function loadBundledCandles(name: BundledName): Candle[] {
  const path = BUNDLED[name];
  let rows = cache.get(path);
  if (!rows) {
    rows = parseOhlcvt(readFileSync(ROOT + path, 'utf8'));
    cache.set(path, rows);
  }
  return rows.map((c) => ({ ...c }));
}
