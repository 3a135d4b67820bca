/**
 * The one way candles get stored, whoever fetched them (ingest, backfill, import, bundled):
 * insert what is new inside the caller's transaction, check the new candles' quality there
 * too, and only after the commit tell the rest of the app (events, metrics). A candle that
 * already exists is never overwritten.
 */
import { intervalLabel, type ExactCandle } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import type { EventBus } from '../../platform/events.js';
import type { Logger } from '../../platform/log.js';
import type { Metrics } from '../monitoring/index.js';
import type { CandleSource, MarketRepo, PairRow, Tx } from './market.repo.js';
import type { HistoryChange } from './history-cache.js';
import { ANOMALY_DEFAULTS, detectReturnAnomalies, mergeFlags, ohlcProblem, type AnomalyFlag, type AnomalyOptions } from './quality.js';

export interface StoreOutcome {
  pair: Pick<PairRow, 'id' | 'key' | 'altname'>;
  interval: number;
  source: CandleSource;
  inserted: number;
  /** newest open time among the inserted candles (Unix seconds) */
  upTo: number | null;
  anomalies: AnomalyFlag[];
}

export interface CandleStoreDeps {
  repo: MarketRepo;
  events: EventBus;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  anomaly?: AnomalyOptions;
  /** after a commit that changed candles (history cache invalidation, here and on other instances) */
  changed?: (c: HistoryChange) => void;
}

export function createCandleStore(deps: CandleStoreDeps) {
  const { repo } = deps;
  const window = deps.anomaly?.window ?? ANOMALY_DEFAULTS.window;

  return {
    /**
     * Inserts the candles not stored yet and flags anomalies among them. `validated`: the
     * candles already passed the CSV parser's OHLC checks (imports), so only returns are judged.
     */
    async store(
      tx: Tx,
      pair: Pick<PairRow, 'id' | 'key' | 'altname'>,
      interval: number,
      source: CandleSource,
      candles: readonly ExactCandle[],
      opts: { validated?: boolean; onChunk?: (done: number) => void } = {},
    ): Promise<StoreOutcome> {
      const outcome: StoreOutcome = { pair, interval, source, inserted: 0, upTo: null, anomalies: [] };
      if (candles.length === 0) return outcome;
      const r = await repo.insertCandles(tx, pair.id, interval, source, candles, opts.onChunk);
      outcome.inserted = r.inserted;
      outcome.upTo = r.upTo;
      if (r.inserted === 0 || r.firstInserted === null) return outcome;

      const first = r.firstInserted;
      const last = r.upTo!;
      const shape: AnomalyFlag[] = [];
      if (!opts.validated) {
        for (const c of candles) {
          if (c.time < first || c.time > last) continue;
          const p = ohlcProblem(c);
          if (p) shape.push({ time: c.time, reason: p });
        }
      }
      // When every given candle was new and nothing else sits between them, the stored series
      // over [first, last] is exactly `candles` (sorted): judge them from memory with only the
      // preceding context read back. Otherwise read the stored series from `first` on.
      let points: { time: number; close: number }[];
      const sorted = isAscending(candles);
      if (sorted && r.inserted === candles.length && (await repo.countInRange(tx, pair.id, interval, first, last)) === r.inserted) {
        const before = await repo.closesBefore(tx, pair.id, interval, first, window + 1);
        points = before.concat(candles.map((c) => ({ time: c.time, close: Number(c.close) })));
        // the first stored candle after the new ones has a new predecessor: judge it too
        const after = await repo.closeAfter(tx, pair.id, interval, last);
        if (after) points.push(after);
      } else {
        points = await repo.closesAround(tx, pair.id, interval, first, window + 1);
      }
      const returns = detectReturnAnomalies(points, interval, first, deps.anomaly);
      outcome.anomalies = mergeFlags(shape, returns);
      await repo.markAnomalies(tx, pair.id, interval, outcome.anomalies);
      return outcome;
    },

    /** After the commit: metrics, ingest lag, and the events the main loop runs on. */
    published(o: StoreOutcome): void {
      if (o.inserted === 0) return;
      // first: the events below may read the new candles
      deps.changed?.({ kind: 'candles', pairId: o.pair.id, interval: o.interval });
      const label = { pair: o.pair.altname, interval: intervalLabel(o.interval) };
      deps.metrics.candlesStored.inc({ ...label, source: o.source }, o.inserted);
      deps.events.emit('candles.stored', {
        pairId: o.pair.id,
        pairKey: o.pair.key,
        altname: o.pair.altname,
        interval: o.interval,
        upTo: o.upTo!,
        count: o.inserted,
        source: o.source,
      });
      if (o.anomalies.length > 0) {
        deps.events.emit('candles.anomaly', {
          pairId: o.pair.id,
          pairKey: o.pair.key,
          altname: o.pair.altname,
          interval: o.interval,
          times: o.anomalies.map((a) => a.time),
          reason: o.anomalies.length === 1 ? o.anomalies[0]!.reason : `${o.anomalies.length} candles flagged; first: ${o.anomalies[0]!.reason}`,
        });
        deps.log.info({ pair: o.pair.altname, interval: o.interval, count: o.anomalies.length }, 'candles flagged as anomalies');
      }
    },

    /** After a commit that created or renamed pairs: cached answers naming them go. */
    pairsChanged(): void {
      deps.changed?.({ kind: 'pairs' });
    },

    /** Seconds between now and the close of the newest stored candle. */
    async reportLag(pair: Pick<PairRow, 'id' | 'altname'>, interval: number): Promise<void> {
      const newest = await repo.newestTime(pair.id, interval);
      if (newest === null) return;
      const lag = Math.max(0, deps.clock.now().getTime() / 1000 - (newest + interval * 60));
      deps.metrics.ingestLag.set({ pair: pair.altname, interval: intervalLabel(interval) }, lag);
    },
  };
}

export type CandleStore = ReturnType<typeof createCandleStore>;

function isAscending(c: readonly ExactCandle[]): boolean {
  for (let i = 1; i < c.length; i++) if (c[i]!.time <= c[i - 1]!.time) return false;
  return true;
}

export { intervalLabel } from '../../platform/candle.js';
