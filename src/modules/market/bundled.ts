/**
 * The bundled dataset: real Kraken daily candles shipped in data/bundled (provenance in
 * data/bundled/PROVENANCE.md), imported on the first boot of an empty database so a fresh,
 * offline install shows real history. Files are named <altname>_<interval minutes>.csv; the
 * pairs they belong to come from data/bundled/pairs.json (Kraken's AssetPairs format).
 *
 * Several instances may boot on one empty database at once: the import runs in one
 * transaction under an advisory lock, and whoever gets the lock second finds candles and
 * does nothing.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../platform/log.js';
import { parseCandleCsv, formatCsvErrors } from './candles/index.js';
import type { CandleStore, StoreOutcome } from './candle-store.js';
import type { CatalogueService } from './catalogue.service.js';
import { BUNDLED_LOCK, type MarketRepo } from './market.repo.js';

export interface BundledDeps {
  repo: MarketRepo;
  store: CandleStore;
  catalogue: CatalogueService;
  log: Logger;
  /** data/bundled */
  dir: string;
}

export interface BundledResult {
  imported: boolean;
  reason?: string;
  files: { file: string; pair: string; interval: number; inserted: number }[];
  ms: number;
}

const FILE_RE = /^([A-Za-z0-9.]+)_(\d+)\.csv$/;

export async function importBundledIfEmpty(deps: BundledDeps): Promise<BundledResult> {
  const t0 = performance.now();
  const done = (imported: boolean, reason: string | undefined, files: BundledResult['files'] = []): BundledResult => ({ imported, reason, files, ms: Math.round(performance.now() - t0) });
  if (await deps.repo.anyCandles()) return done(false, 'the database already has candles');

  const names = (await readdir(deps.dir)).filter((f) => FILE_RE.test(f)).sort();
  if (names.length === 0) return done(false, `no candle files in ${deps.dir}`);
  const pairs = await deps.catalogue.bundledPairs();
  // Read and parse before taking the lock, so the lock is held only for the inserts.
  const files = await Promise.all(
    names.map(async (file) => {
      const [, altname, minutes] = FILE_RE.exec(file)!;
      const interval = Number(minutes);
      const entry = pairs.find((p) => p.altname === altname || p.key === altname);
      if (!entry) throw new Error(`bundled data: ${file} names pair ${altname}, which data/bundled/pairs.json does not list`);
      const parsed = parseCandleCsv(await readFile(path.join(deps.dir, file)), { intervalMinutes: interval });
      if (!parsed.ok) throw new Error(`bundled data: ${file} is not a valid candle file:\n${formatCsvErrors(parsed.errors, parsed.truncated)}`);
      return { file, entry, interval, candles: parsed.candles };
    }),
  );

  const outcome = await deps.repo.transaction(async (tx) => {
    await deps.repo.xactLock(tx, BUNDLED_LOCK);
    if (await deps.repo.anyCandles(tx)) return null;
    const outcomes: (StoreOutcome & { file: string })[] = [];
    for (const f of files) {
      const pair = await deps.repo.upsertPair(
        {
          key: f.entry.key,
          altname: f.entry.altname,
          wsname: f.entry.wsname,
          base: f.entry.base,
          quote: f.entry.quote,
          pairDecimals: f.entry.pairDecimals,
          lotDecimals: f.entry.lotDecimals,
          status: f.entry.status ?? 'online',
        },
        {},
        tx,
      );
      outcomes.push({ ...(await deps.store.store(tx, pair, f.interval, 'bundled', f.candles, { validated: true })), file: f.file });
    }
    return outcomes;
  });
  if (!outcome) return done(false, 'another instance imported the bundled data');
  deps.store.pairsChanged();
  for (const o of outcome) deps.store.published(o);
  const result = done(
    true,
    undefined,
    outcome.map((o) => ({ file: o.file, pair: o.pair.altname, interval: o.interval, inserted: o.inserted })),
  );
  deps.log.info({ files: result.files, ms: result.ms }, 'bundled candles imported into the empty database');
  return result;
}
