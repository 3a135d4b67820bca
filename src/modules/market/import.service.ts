/**
 * Candle CSV import (Kraken's OHLCVT bulk files, or any CSV with a header): every row is
 * validated first, and a file with one bad row changes nothing; a good file is stored in one
 * transaction, so it is imported whole or not at all. Rows already stored are left as they
 * are (the import adds only what is missing), and candles whose interval has not ended yet
 * are not stored (a candle is never stored while open).
 */
import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { parseCandleCsv, type CandleCsvFormat, type CandleCsvOrder, type CsvRowError } from './candles/index.js';
import type { CandleStore } from './candle-store.js';
import { intervalLabel } from './candle-store.js';
import type { CandleSource, MarketRepo, PairRow } from './market.repo.js';

export interface ImportResult {
  pair: { id: number; key: string; altname: string };
  interval: string;
  format: CandleCsvFormat;
  order: CandleCsvOrder;
  /** candle rows in the file */
  rows: number;
  inserted: number;
  /** rows whose candle was already stored (left untouched) */
  existing: number;
  /** rows whose interval had not ended yet (not stored) */
  skippedOpen: number;
  /** first and last open time in the file (Unix seconds) */
  from: number;
  to: number;
  anomalies: number;
  ms: number;
}

export class ImportRejectedError extends AppError {
  constructor(
    readonly errors: CsvRowError[],
    readonly truncated: boolean,
  ) {
    const shown = errors.slice(0, 5).map((e) => `line ${e.line}: ${e.reason}`);
    super(422, 'invalid_csv', `The file was not imported (nothing changed): ${errors.length}${truncated ? '+' : ''} bad row${errors.length === 1 ? '' : 's'}; ${shown.join('; ')}${errors.length > 5 ? '; ...' : ''}`, {
      details: { errors, truncated },
    });
  }
}

export interface ImportProgress {
  phase: 'parse' | 'store' | 'done';
  done: number;
  total: number;
}

export interface ImportDeps {
  repo: MarketRepo;
  store: CandleStore;
  clock: Clock;
  log: Logger;
}

export function createImportService(deps: ImportDeps) {
  const { repo, store } = deps;
  return {
    /** Imports one file into one (already stored) pair and interval. */
    async importCsv(
      pair: PairRow,
      interval: number,
      input: string | Uint8Array,
      opts: { source?: Extract<CandleSource, 'import' | 'bundled'>; onProgress?: (p: ImportProgress) => void } = {},
    ): Promise<ImportResult> {
      const t0 = performance.now();
      const parsed = parseCandleCsv(input, { intervalMinutes: interval });
      if (!parsed.ok) throw new ImportRejectedError(parsed.errors, parsed.truncated);
      const all = parsed.candles;
      opts.onProgress?.({ phase: 'parse', done: all.length, total: all.length });
      const step = interval * 60;
      const openFrom = Math.floor(deps.clock.now().getTime() / 1000 / step) * step;
      const closed = all[all.length - 1]!.time < openFrom ? all : all.filter((c) => c.time < openFrom);
      const outcome = await repo.transaction((tx) =>
        store.store(tx, pair, interval, opts.source ?? 'import', closed, {
          validated: true,
          onChunk: (done) => opts.onProgress?.({ phase: 'store', done, total: closed.length }),
        }),
      );
      store.published(outcome);
      opts.onProgress?.({ phase: 'done', done: closed.length, total: closed.length });
      const result: ImportResult = {
        pair: { id: pair.id, key: pair.key, altname: pair.altname },
        interval: intervalLabel(interval),
        format: parsed.format,
        order: parsed.order,
        rows: all.length,
        inserted: outcome.inserted,
        existing: closed.length - outcome.inserted,
        skippedOpen: all.length - closed.length,
        from: all[0]!.time,
        to: all[all.length - 1]!.time,
        anomalies: outcome.anomalies.length,
        ms: Math.round(performance.now() - t0),
      };
      deps.log.info({ ...result, pair: pair.altname }, 'candle file imported');
      return result;
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
