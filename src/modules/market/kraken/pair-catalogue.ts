/**
 * Kraken names one market three ways (key XXBTZUSD, altname XBTUSD, wsname XBT/USD) and
 * people type a fourth (BTC/USD, btc-usd). The catalogue resolves all of them to one entry so
 * the rest of candlecast stores and compares a single name: Kraken's key.
 */
import type { KrakenAssetPair } from './kraken.types.js';

/** Kraken's own asset codes next to the codes everyone else uses. */
const ASSET_ALIASES: Record<string, readonly string[]> = {
  XBT: ['BTC'],
  BTC: ['XBT'],
  XDG: ['DOGE'],
  DOGE: ['XDG'],
};

/** Upper case, separators removed. Dots stay: Kraken's dark-pool altnames end in ".d". */
export function normalizePairName(name: string): string {
  return name.trim().toUpperCase().replace(/[\s/_\-:]/g, '');
}

function assetVariants(code: string): string[] {
  const c = code.toUpperCase();
  return [c, ...(ASSET_ALIASES[c] ?? [])];
}

export class PairCatalogue {
  private readonly byName = new Map<string, KrakenAssetPair>();
  private readonly entries: readonly KrakenAssetPair[];

  constructor(pairs: readonly KrakenAssetPair[]) {
    this.entries = [...pairs];
    // Earlier passes win, so an exact key or altname is never shadowed by another pair's alias.
    const passes: ((p: KrakenAssetPair) => string[])[] = [
      (p) => [p.key],
      (p) => [p.altname],
      (p) => (p.wsname ? [p.wsname] : []),
      (p) => {
        if (!p.wsname || !p.wsname.includes('/')) return [];
        const [base, quote] = p.wsname.split('/') as [string, string];
        const out: string[] = [];
        for (const b of assetVariants(base)) for (const q of assetVariants(quote)) out.push(`${b}${q}`);
        return out;
      },
    ];
    for (const pass of passes) {
      for (const p of this.entries) {
        for (const name of pass(p)) {
          const n = normalizePairName(name);
          if (n && !this.byName.has(n)) this.byName.set(n, p);
        }
      }
    }
  }

  static fromAssetPairs(pairs: readonly KrakenAssetPair[]): PairCatalogue {
    return new PairCatalogue(pairs);
  }

  get pairs(): readonly KrakenAssetPair[] {
    return this.entries;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The entry for a key, altname, wsname or alias (any case, any separator), if Kraken lists it. */
  resolve(name: string): KrakenAssetPair | undefined {
    return this.byName.get(normalizePairName(name));
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }
}
