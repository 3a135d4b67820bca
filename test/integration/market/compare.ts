/** Stored candles against the stand-in's source series, digit for digit. */
import assert from 'node:assert/strict';
import { normalizeDecimal } from '../../../src/modules/market/candles/index.js';
import type { MarketWorld } from './setup.js';

export async function assertEqualsSource(w: MarketWorld, pair: string, interval: number, from: number, to: number): Promise<number> {
  const stored = await w.market.service.getExactCandles(pair, interval, from, to);
  const source = w.kraken.sourceCandles(pair, interval).filter((c) => c.time >= from && c.time < to);
  const missing = source.filter((s) => !stored.some((c) => c.time === s.time)).map((c) => new Date(c.time * 1000).toISOString());
  const extra = stored.filter((c) => !source.some((s) => s.time === c.time)).map((c) => new Date(c.time * 1000).toISOString());
  assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] }, `${pair} ${interval}: the stored times differ from the source`);
  for (let i = 0; i < source.length; i++) {
    const s = source[i]!;
    const c = stored[i]!;
    const at = `${pair} ${interval} at ${new Date(s.time * 1000).toISOString()} (${c.source})`;
    for (const k of ['open', 'high', 'low', 'close', 'volume'] as const) assert.equal(normalizeDecimal(c[k]), normalizeDecimal(s[k]), `${at}: ${k}`);
    assert.equal(c.trades, s.trades, `${at}: trades`);
  }
  return source.length;
}

/** Kraken calls of one endpoint the stand-in answered since `since` (an index into requests). */
export function callsSince(w: MarketWorld, since: number, endpoint: string): number {
  return w.kraken.requests.slice(since).filter((r) => r.endpoint === endpoint).length;
}
