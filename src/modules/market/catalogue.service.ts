/**
 * Kraken's pair catalogue (AssetPairs), cached in memory and in the database (AppSetting), so
 * it is fetched at most every 6 hours across instances and restarts, and answers from the
 * stored copy when Kraken cannot be reached. The last resort is the bundled pairs file, so a
 * fresh offline install still knows the pairs of its bundled data.
 */
import { readFile } from 'node:fs/promises';
import type { Clock } from '../../platform/clock.js';
import { ServiceUnavailableError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { assetPairsResultSchema, toAssetPairs } from './kraken/kraken.schemas.js';
import { PairCatalogue, type KrakenApi, type KrakenAssetPair } from './kraken/index.js';
import type { MarketRepo } from './market.repo.js';

export const CATALOGUE_SETTING = 'market.kraken_catalogue';

export type CatalogueSource = 'kraken' | 'stored' | 'bundled';

export interface CatalogueSnapshot {
  pairs: readonly KrakenAssetPair[];
  catalogue: PairCatalogue;
  fetchedAt: Date;
  source: CatalogueSource;
  /** older than the refresh period: Kraken could not be reached for a fresh copy */
  stale: boolean;
}

export interface CatalogueDeps {
  repo: MarketRepo;
  kraken: KrakenApi;
  clock: Clock;
  log: Logger;
  /** data/bundled/pairs.json (AssetPairs answer format) */
  bundledPairsFile: string;
  ttlMs?: number;
  /** after a failed fetch, wait this long before asking Kraken again; default 5 minutes */
  retryAfterFailureMs?: number;
}

/** Parses an AssetPairs answer body (`{error, result}`) or a bare `result` object. */
export function parseAssetPairs(body: unknown): KrakenAssetPair[] {
  const result = body && typeof body === 'object' && 'result' in body ? (body as { result: unknown }).result : body;
  return toAssetPairs(assetPairsResultSchema.parse(result));
}

interface StoredValue {
  fetchedAt: string;
  pairs: KrakenAssetPair[];
}

function isStoredValue(v: unknown): v is StoredValue {
  return !!v && typeof v === 'object' && typeof (v as StoredValue).fetchedAt === 'string' && Array.isArray((v as StoredValue).pairs);
}

export function createCatalogueService(deps: CatalogueDeps) {
  const ttl = deps.ttlMs ?? 6 * 3600_000;
  const retryAfterFailure = deps.retryAfterFailureMs ?? 5 * 60_000;
  let memory: CatalogueSnapshot | null = null;
  let lastFailureAt = -Infinity;
  let bundled: KrakenAssetPair[] | null = null;
  let inflight: Promise<CatalogueSnapshot> | null = null;

  const snapshot = (pairs: readonly KrakenAssetPair[], fetchedAt: Date, source: CatalogueSource): CatalogueSnapshot => ({
    pairs,
    catalogue: new PairCatalogue(pairs),
    fetchedAt,
    source,
    stale: deps.clock.now().getTime() - fetchedAt.getTime() >= ttl,
  });
  const fresh = (s: { fetchedAt: Date }) => deps.clock.now().getTime() - s.fetchedAt.getTime() < ttl;

  async function bundledPairs(): Promise<KrakenAssetPair[]> {
    bundled ??= parseAssetPairs(JSON.parse(await readFile(deps.bundledPairsFile, 'utf8')));
    return bundled;
  }

  async function stored(): Promise<CatalogueSnapshot | null> {
    const row = await deps.repo.setting(CATALOGUE_SETTING);
    if (!row || !isStoredValue(row.value)) return null;
    return snapshot(row.value.pairs, new Date(row.value.fetchedAt), 'stored');
  }

  async function load(refresh: boolean): Promise<CatalogueSnapshot> {
    if (!refresh) {
      const s = await stored();
      if (s && fresh(s)) return (memory = s);
    }
    const now = deps.clock.now().getTime();
    if (refresh || now - lastFailureAt >= retryAfterFailure) {
      try {
        const pairs = await deps.kraken.assetPairs();
        const fetchedAt = deps.clock.now();
        await deps.repo.saveSetting(CATALOGUE_SETTING, { fetchedAt: fetchedAt.toISOString(), pairs } as never);
        deps.log.info({ pairs: pairs.length }, 'kraken pair catalogue refreshed');
        return (memory = snapshot(pairs, fetchedAt, 'kraken'));
      } catch (err) {
        lastFailureAt = now;
        deps.log.warn({ err: (err as Error).message }, 'kraken pair catalogue could not be fetched; using the stored copy');
      }
    }
    const fallback = memory ?? (await stored());
    if (fallback) return (memory = { ...fallback, stale: !fresh(fallback) });
    try {
      const pairs = await bundledPairs();
      // not kept in memory: the next call tries Kraken again (after the failure back-off)
      return { ...snapshot(pairs, new Date(0), 'bundled'), stale: true };
    } catch (err) {
      deps.log.error({ err }, 'bundled pair catalogue unreadable');
    }
    throw new ServiceUnavailableError("Kraken's pair catalogue cannot be fetched and no copy is stored", 'catalogue_unavailable');
  }

  return {
    /** The catalogue: memory, then the database copy if fresh, then Kraken, then any copy we have. */
    async get(opts: { refresh?: boolean } = {}): Promise<CatalogueSnapshot> {
      if (memory && !opts.refresh && fresh(memory)) return memory;
      // one load at a time per process; concurrent callers share it
      inflight ??= load(!!opts.refresh).finally(() => {
        inflight = null;
      });
      return inflight;
    },

    /** The catalogue entry for any name of a pair (key, altname, wsname, BTC/USD-style alias), or undefined. */
    async resolve(name: string): Promise<{ entry: KrakenAssetPair | undefined; snapshot: CatalogueSnapshot }> {
      let snap = await this.get();
      let entry = snap.catalogue.resolve(name);
      // A pair Kraken listed since our copy was fetched: one refresh, unless Kraken is failing.
      if (!entry && snap.source !== 'kraken' && deps.clock.now().getTime() - lastFailureAt >= retryAfterFailure) {
        snap = await this.get({ refresh: true }).catch(() => snap);
        entry = snap.catalogue.resolve(name);
      }
      return { entry, snapshot: snap };
    },

    bundledPairs,
  };
}

export type CatalogueService = ReturnType<typeof createCatalogueService>;
