/**
 * The Prometheus registry and the metrics every module reports to. One Registry created here
 * (not prom-client's global) so tests and several apps in one process stay apart. Names
 * starting with prediction_api_ are the original project's.
 */
import client from 'prom-client';

export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });

  const httpRequests = new client.Counter({
    name: 'prediction_api_request_count',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpLatency = new client.Histogram({
    name: 'prediction_api_request_latency_seconds',
    help: 'HTTP request latency by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const exceptions = new client.Counter({
    name: 'prediction_api_exception_count',
    help: 'Unhandled errors (HTTP 5xx and failed background work) by where they happened',
    labelNames: ['where'] as const,
    registers: [registry],
  });
  const predictions = new client.Counter({
    name: 'prediction_api_prediction_count',
    help: 'Predictions made, by pair, interval and kind (live or backtest)',
    labelNames: ['pair', 'interval', 'kind'] as const,
    registers: [registry],
  });
  const modelScore = new client.Gauge({
    name: 'prediction_api_model_score',
    help: 'Latest score of the best model per pair, interval and metric',
    labelNames: ['pair', 'interval', 'metric'] as const,
    registers: [registry],
  });
  const jobRuns = new client.Counter({
    name: 'candlecast_job_runs_total',
    help: 'Job runs finished, by job and status',
    labelNames: ['job', 'status'] as const,
    registers: [registry],
  });
  const jobDuration = new client.Histogram({
    name: 'candlecast_job_duration_seconds',
    help: 'Job run durations',
    labelNames: ['job'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const jobLastSuccess = new client.Gauge({
    name: 'candlecast_job_last_success_timestamp_seconds',
    help: 'Unix time of the last successful run per job',
    labelNames: ['job'] as const,
    registers: [registry],
  });
  const candlesStored = new client.Counter({
    name: 'candlecast_candles_stored_total',
    help: 'Candles stored, by pair, interval and source',
    labelNames: ['pair', 'interval', 'source'] as const,
    registers: [registry],
  });
  const ingestLag = new client.Gauge({
    name: 'candlecast_ingest_lag_seconds',
    help: 'Seconds between now and the close of the newest stored candle, per pair and interval',
    labelNames: ['pair', 'interval'] as const,
    registers: [registry],
  });
  const krakenCalls = new client.Counter({
    name: 'candlecast_kraken_calls_total',
    help: 'Calls to Kraken by endpoint and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [registry],
  });
  // The Kraken WebSocket feed (held by the scheduler leader only: 0 on the others).
  const feedConnected = new client.Gauge({
    name: 'candlecast_kraken_ws_connected',
    help: '1 while this instance holds an open Kraken WebSocket feed',
    registers: [registry],
  });
  const feedMessages = new client.Counter({
    name: 'candlecast_kraken_ws_messages_total',
    help: 'Kraken WebSocket messages received, by channel (garbage: frames that could not be read); rate() gives messages per second',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  const feedReconnects = new client.Counter({
    name: 'candlecast_kraken_ws_reconnects_total',
    help: 'Kraken WebSocket connections opened after the first one',
    registers: [registry],
  });
  const feedCloseToStored = new client.Histogram({
    name: 'candlecast_kraken_ws_close_to_stored_seconds',
    help: "Seconds from a candle's close to its row being committed, for candles stored from the WebSocket feed",
    labelNames: ['interval'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  return {
    registry,
    httpRequests,
    httpLatency,
    exceptions,
    predictions,
    modelScore,
    jobRuns,
    jobDuration,
    jobLastSuccess,
    candlesStored,
    ingestLag,
    krakenCalls,
    feedConnected,
    feedMessages,
    feedReconnects,
    feedCloseToStored,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Gauges read at scrape time from a pg pool. */
export function registerPoolMetrics(metrics: Metrics, pool: { totalCount: number; idleCount: number; waitingCount: number }): void {
  new client.Gauge({
    name: 'candlecast_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}
