/**
 * The market module: Kraken pairs, candles, live ingestion, backfill, CSV import, the bundled
 * dataset and data quality. What other code may use:
 *
 *   createMarketModule(deps) -> {
 *     wiring,      // ModuleWiring: /api/crypto routes; start() imports the bundled data into an empty database
 *     service,     // MarketService: pairs, candles (exact and float), latest price, 24 h change, ticker, gaps, anomalies
 *     ingest,      // IngestService.runAll(): the `ingest` job
 *     backfill,    // BackfillService: estimate, request, runPending (the `backfill` job), resume, cancel
 *     importer,    // ImportService.importCsv(pair, interval, text)
 *     bundled(),   // imports data/bundled when the database has no candles
 *   }
 *
 * For models and predictions: `service.getCandles(pairIdOrName, 60 | 1440 | '1h' | '1d', from?, to?)`
 * returns closed candles as float64 `Candle[]` (oldest first, `time` = open time in Unix
 * seconds); `service.latestPrice(pair)` gives the last stored close and its 24 h change.
 * Events: 'candles.stored' after new candles are committed, 'candles.anomaly' when new ones are flagged.
 * Jobs defined: `ingest` (schedule CRON_INGEST) and `backfill` (works the queued backfills).
 */
import path from 'node:path';
import { z } from 'zod';
import type { ModuleWiring } from '../../app.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { parse } from '../../http/validate.js';
import type { Clock } from '../../platform/clock.js';
import type { EventBus } from '../../platform/events.js';
import type { Jobs } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import type { Metrics } from '../monitoring/index.js';
import { createBackfillService, type BackfillService } from './backfill.service.js';
import { importBundledIfEmpty, type BundledResult } from './bundled.js';
import { createCandleStore } from './candle-store.js';
import { createCatalogueService, type CatalogueService } from './catalogue.service.js';
import { createImportService, type ImportService } from './import.service.js';
import { createIngestService, type IngestService } from './ingest.service.js';
import { createKrakenHttpClient, type KrakenApi, type KrakenClientEvent, type KrakenHttpClientOptions } from './kraken/index.js';
import { createMarketRepo } from './market.repo.js';
import { createMarketRouter } from './market.routes.js';
import { createMarketService, type MarketService } from './market.service.js';
import { createHistoryCache, decodeHistoryChange, encodeHistoryChange, HISTORY_CHANNEL, type HistoryCache, type HistoryChange } from './history-cache.js';
import type { NotifyBus } from '../../platform/notify-bus.js';
import { createKrakenWsConnection } from './kraken/kraken.ws.js';
import { createLiveFeed, type LiveFeed } from './live-feed.service.js';

export type { MarketService, MarketPair, HistoryPage, GapReport, TickerInfo, AddPairInput, AddPairResult } from './market.service.js';
export type { IngestService, IngestSummary, IngestPairResult } from './ingest.service.js';
export type { LiveFeed, LiveFeedStatus, LivePrice, FormingCandle } from './live-feed.service.js';
export { wsSymbol } from './live-feed.service.js';
export type { BackfillService, BackfillEstimate, BackfillRunSummary } from './backfill.service.js';
export type { ImportService, ImportResult, ImportProgress } from './import.service.js';
export type { CatalogueService, CatalogueSnapshot } from './catalogue.service.js';
export type { StoredCandle, PairRow, BackfillRow, IngestRunRow, CandleSource } from './market.repo.js';
export type { BundledResult } from './bundled.js';
export type { AnomalyFlag, AnomalyOptions } from './quality.js';
export { ImportRejectedError } from './import.service.js';
export { ConfirmationRequiredError, CONFIRM_ABOVE_CALLS, OHLC_WINDOW } from './backfill.service.js';
export { IngestFailedError } from './ingest.service.js';
export { detectReturnAnomalies, ANOMALY_DEFAULTS } from './quality.js';
export { parseCandleCsv, formatCsvErrors, findGaps } from './candles/index.js';
export type { KrakenApi } from './kraken/index.js';
/** input schemas, for the OpenAPI document (src/modules/api-docs) */
export * as marketSchemas from './market.schemas.js';

export interface MarketModuleDeps {
  config: Config;
  log: Logger;
  db: Database;
  clock: Clock;
  metrics: Metrics;
  events: EventBus;
  /** project root: data/bundled lives under it */
  root: string;
  /** the scheduler's Jobs port; without it (some CLI uses) jobs are not defined */
  jobs?: Jobs;
  /** the process's LISTEN/NOTIFY bus; without it history is never cached */
  notify?: NotifyBus;
  /** this instance, so it ignores its own invalidations */
  instanceId?: string;
  /** client options beyond config (tests of the client itself); the base URL always comes from config */
  krakenOptions?: Partial<Omit<KrakenHttpClientOptions, 'baseUrl'>>;
}

export interface MarketModule {
  wiring: ModuleWiring;
  service: MarketService;
  ingest: IngestService;
  backfill: BackfillService;
  importer: ImportService;
  catalogue: CatalogueService;
  kraken: KrakenApi;
  /** the Kraken WebSocket feed (runs on the scheduler leader when KRAKEN_WS_ENABLED) */
  live: LiveFeed;
  bundled(): Promise<BundledResult>;
}

export type MarketServices = Omit<MarketModule, 'wiring'>;

const backfillParams = z.object({ pairId: z.number().int().positive().optional() }).strict();

export function createMarketModule(deps: MarketModuleDeps): MarketModule {
  const { config, db, clock, metrics, events } = deps;
  const log = deps.log.child({ module: 'market' });
  const repo = createMarketRepo(db.prisma);
  const clientOptions = {
    baseUrl: config.KRAKEN_API_URL,
    minIntervalMs: config.KRAKEN_MIN_INTERVAL_MS,
    clock,
    log: log.child({ component: 'kraken' }),
    // pairs are stored with their altname, so every call already names the pair as Kraken wants it
    resolvePairs: false,
    onEvent(e: KrakenClientEvent) {
      if (e.type === 'success') metrics.krakenCalls.inc({ endpoint: e.endpoint, outcome: 'ok' });
      else if (e.type === 'retry') metrics.krakenCalls.inc({ endpoint: e.endpoint, outcome: `retry_${e.kind}` });
      else if (e.type === 'failure') metrics.krakenCalls.inc({ endpoint: e.endpoint, outcome: `failed_${e.kind}` });
    },
  };
  // Jobs (ingest, backfill) are patient: every retry config allows.
  const kraken = createKrakenHttpClient({ ...clientOptions, timeoutMs: config.KRAKEN_TIMEOUT_MS, maxRetries: config.KRAKEN_MAX_RETRIES, ...deps.krakenOptions });
  // A person waiting on a request is not: the catalogue, the ticker and cost estimates retry
  // once with a short timeout, then fall back to what is stored (about 1-5 s, not 30+ s).
  const interactive = createKrakenHttpClient({
    ...clientOptions,
    timeoutMs: Math.min(config.KRAKEN_TIMEOUT_MS, 5000),
    maxRetries: Math.min(config.KRAKEN_MAX_RETRIES, 1),
    ...deps.krakenOptions,
  });
  const bundledDir = path.join(deps.root, 'data', 'bundled');
  const catalogue = createCatalogueService({ repo, kraken: interactive, clock, log, bundledPairsFile: path.join(bundledDir, 'pairs.json') });
  // Cross-instance: every instance LISTENs on HISTORY_CHANNEL; while that connection is down the
  // cache is not trusted (reads go to the database) and it is emptied when LISTEN is back.
  const instanceId = deps.instanceId ?? 'local';
  let history: HistoryCache | undefined;
  const sub = deps.notify?.subscribe(HISTORY_CHANNEL, {
    onMessage(payload) {
      const m = decodeHistoryChange(payload);
      if (m && m.from !== instanceId) history?.invalidate(m.change);
    },
    onResync: () => history?.resync(),
  });
  if (config.HISTORY_CACHE_MAX_BYTES > 0 && sub) history = createHistoryCache({ maxBytes: config.HISTORY_CACHE_MAX_BYTES, clock, trusted: () => sub.listening });
  // Local changes: drop what depends on them here, then tell the other instances (also from the
  // CLI, which publishes through the pool without listening).
  const changed = (c: HistoryChange) => {
    history?.invalidate(c);
    sub?.publish(encodeHistoryChange(c, instanceId)).catch((err: unknown) => log.warn({ err }, 'could not publish a history cache invalidation'));
  };
  const store = createCandleStore({ repo, events, metrics, clock, log, changed });
  const backfill = createBackfillService({ repo, kraken, probe: interactive, store, clock, log, jobs: deps.jobs, minIntervalMs: config.KRAKEN_MIN_INTERVAL_MS });
  const ingest = createIngestService({ repo, kraken, store, backfill, clock, log });
  const wsLog = log.child({ component: 'kraken-ws' });
  const live = createLiveFeed({
    repo,
    store,
    ingest,
    clock,
    log,
    metrics,
    connect: (o) =>
      createKrakenWsConnection({
        url: config.KRAKEN_WS_URL,
        log: wsLog,
        silenceMs: config.KRAKEN_WS_SILENCE_MS,
        backoffMinMs: config.KRAKEN_WS_BACKOFF_MIN_MS,
        backoffMaxMs: Math.max(config.KRAKEN_WS_BACKOFF_MIN_MS, config.KRAKEN_WS_BACKOFF_MAX_MS),
        ...o,
      }),
  });
  const importer = createImportService({ repo, store, clock, log });
  const service = createMarketService({ repo, catalogue, kraken: interactive, backfill, clock, log, changed, onPairsChanged: () => void live.refresh().catch(() => undefined) });
  const bundled = () => importBundledIfEmpty({ repo, store, catalogue, log, dir: bundledDir });

  if (deps.jobs) {
    deps.jobs.define({
      name: 'ingest',
      description: 'Stores the newly closed candles of every tracked pair and interval (Kraken OHLC); hands holes older than the OHLC window to a backfill',
      schedule: config.CRON_INGEST,
      runOnStartup: true,
      async run(ctx) {
        try {
          return await ingest.runAll({ jobRunId: ctx.runId, signal: ctx.signal, progress: ctx.progress, log: ctx.log });
        } finally {
          // the ingest job runs on the leader, where the feed is: pairs tracked elsewhere join it here
          await live.refresh().catch((err: unknown) => log.warn({ err }, 'could not refresh the feed subscriptions'));
        }
      },
    });
    if (config.KRAKEN_WS_ENABLED) deps.jobs.whileLeader({ name: 'kraken-ws-feed', start: () => live.start(), stop: () => live.stop() });
    deps.jobs.define({
      name: 'backfill',
      description: 'Works the queued backfills (OHLC window, then older candles rebuilt from Kraken Trades), resuming interrupted ones from their cursor',
      runOnStartup: true,
      parseParams: (params) => parse(backfillParams, params ?? {}),
      run: (ctx) =>
        backfill.runPending({
          jobRunId: ctx.runId,
          signal: ctx.signal,
          progress: ctx.progress,
          log: ctx.log,
          pairId: typeof ctx.params.pairId === 'number' ? ctx.params.pairId : undefined,
        }),
    });
  }

  const wiring: ModuleWiring = {
    name: 'market',
    api: createMarketRouter({ market: service, backfill, importer, history }),
    async stop() {
      sub?.unsubscribe();
    },
    async start() {
      if (!config.BUNDLED_DATA) return;
      try {
        await bundled();
      } catch (err) {
        // Real history is a convenience; an unreadable bundle must not keep the app down.
        log.error({ err }, 'bundled candles could not be imported');
      }
    },
  };

  return { wiring, service, ingest, backfill, importer, catalogue, kraken, live, bundled };
}
