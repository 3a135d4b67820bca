/**
 * Live ingestion: for every tracked pair and interval, ask OHLC for the candles after the
 * newest stored one and store those that have closed. Kraken's OHLC keeps 720 intervals, so
 * polling every few minutes never misses one; after a downtime longer than that window the
 * hole behind it is handed to a backfill (Trades), which is resumable and shows its cost.
 *
 * Never twice, never open: the client returns only candles whose interval has ended by our
 * clock and that Kraken has committed; the primary key and ON CONFLICT DO NOTHING make a
 * repeated or concurrent run add nothing.
 */
import { KRAKEN_OHLC_INTERVALS } from './kraken/index.js';
import type { KrakenApi } from './kraken/index.js';
import type { Clock } from '../../platform/clock.js';
import { JobAbortError } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import type { BackfillService } from './backfill.service.js';
import { OHLC_WINDOW } from './backfill.service.js';
import type { CandleStore } from './candle-store.js';
import { intervalLabel } from './candle-store.js';
import type { MarketRepo, PairRow } from './market.repo.js';

export interface IngestContext {
  jobRunId?: number;
  signal?: AbortSignal;
  progress?(fraction: number, message?: string): Promise<void> | void;
  log?: Logger;
}

export interface IngestPairResult {
  pair: string;
  interval: string;
  added: number;
  /** newest stored open time after the run (Unix seconds) */
  upTo: number | null;
  anomalies: number;
  /** a backfill created for a hole older than the OHLC window */
  heal?: { backfillIds: number[]; from: number; status: string; estimatedCalls: number };
  error?: string;
}

export interface IngestSummary {
  added: number;
  pairs: IngestPairResult[];
  failed: number;
}

export class IngestFailedError extends Error {
  constructor(readonly summary: IngestSummary) {
    const failed = summary.pairs.filter((p) => p.error);
    super(`ingest failed for ${failed.length} of ${summary.pairs.length} pair/intervals: ${failed.map((p) => `${p.pair} ${p.interval}: ${p.error}`).join('; ')}`);
    this.name = 'IngestFailedError';
  }
}

export interface IngestDeps {
  repo: MarketRepo;
  kraken: KrakenApi;
  store: CandleStore;
  backfill: BackfillService;
  clock: Clock;
  log: Logger;
}

export function createIngestService(deps: IngestDeps) {
  const { repo, kraken, store, clock } = deps;

  async function ingestOne(pair: PairRow, interval: number, ctx: IngestContext = {}): Promise<IngestPairResult> {
    const log = ctx.log ?? deps.log;
    const result: IngestPairResult = { pair: pair.altname, interval: intervalLabel(interval), added: 0, upTo: null, anomalies: 0 };
    const runId = await repo.startIngestRun({ kind: 'ohlc', pairId: pair.id, interval, jobRunId: ctx.jobRunId ?? null });
    try {
      const step = interval * 60;
      const newest = await repo.newestTime(pair.id, interval);
      const ohlc = await kraken.ohlc(pair.altname, interval, newest ?? undefined);
      const candles = ohlc.candles.filter((c) => newest === null || c.time > newest);
      const outcome = await repo.transaction((tx) => store.store(tx, pair, interval, 'kraken', candles));
      store.published(outcome);
      await store.reportLag(pair, interval);
      result.added = outcome.inserted;
      result.anomalies = outcome.anomalies.length;
      result.upTo = (await repo.newestTime(pair.id, interval)) ?? null;

      // A downtime longer than the window: OHLC no longer reaches the candle after our newest.
      const now = Math.floor(clock.now().getTime() / 1000);
      const windowStart = Math.floor(now / step) * step - (OHLC_WINDOW - 1) * step;
      const oldestFetched = ohlc.candles[0]?.time;
      if (newest !== null && newest + step < windowStart && oldestFetched !== undefined && oldestFetched > newest + step) {
        const from = newest + step;
        const open = await repo.backfills({ pairId: pair.id, statuses: ['queued', 'running', 'awaiting_confirmation'] });
        const covered = open.some((b) => b.interval === interval && b.fromTime.getTime() / 1000 <= from);
        if (!covered) {
          const r = await deps.backfill.request(pair, { from, intervals: [interval], kind: 'heal' });
          result.heal = { backfillIds: r.rows.map((x) => x.id), from, status: r.rows[0]?.status ?? 'queued', estimatedCalls: r.estimate.estimatedCalls };
          log.warn({ pair: pair.altname, interval, from, to: windowStart, backfill: result.heal }, 'ingest found a hole older than the OHLC window; a backfill from Trades will fill it');
        }
      }
      await repo.finishIngestRun(runId, {
        status: 'succeeded',
        candlesAdded: result.added,
        details: { upTo: result.upTo, anomalies: result.anomalies, ...(result.heal ? { heal: result.heal } : {}) },
      });
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      log.warn({ pair: pair.altname, interval, err: result.error }, 'ingest of a pair failed');
      await repo.finishIngestRun(runId, { status: 'failed', candlesAdded: result.added, error: result.error }).catch(() => undefined);
    }
    return result;
  }

  return {
    ingestOne,

    /** One pass over every tracked pair and interval. Throws IngestFailedError (after doing the others) when any failed. */
    async runAll(ctx: IngestContext = {}): Promise<IngestSummary> {
      const pairs = await repo.trackedPairs();
      const work = pairs.flatMap((p) => p.intervals.filter((i) => KRAKEN_OHLC_INTERVALS.includes(i)).map((interval) => ({ pair: p, interval })));
      const summary: IngestSummary = { added: 0, pairs: [], failed: 0 };
      for (const [i, w] of work.entries()) {
        if (ctx.signal?.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new JobAbortError('cancelled', 'cancelled');
        const r = await ingestOne(w.pair, w.interval, ctx);
        summary.pairs.push(r);
        summary.added += r.added;
        if (r.error) summary.failed++;
        await ctx.progress?.((i + 1) / work.length, `${w.pair.altname} ${intervalLabel(w.interval)}: +${r.added}`);
      }
      // rows queued by a heal, or left behind by a run that ended as they were added
      await deps.backfill.kickIfPending().catch((err: unknown) => deps.log.warn({ err }, 'could not start pending backfills'));
      if (summary.failed > 0) throw new IngestFailedError(summary);
      return summary;
    },
  };
}

export type IngestService = ReturnType<typeof createIngestService>;
