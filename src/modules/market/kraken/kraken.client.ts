/**
 * Kraken's public REST API over global fetch. The only file in candlecast that talks to
 * Kraken: paced (one token bucket per client), retried on transient failures with
 * exponential backoff and jitter, answers checked with zod, decimals kept as strings.
 */
import type { ExactCandle } from '../../../platform/candle.js';
import { type Clock, systemClock } from '../../../platform/clock.js';
import { classifyKrakenErrors, KrakenError, type KrakenErrorKind } from './kraken.errors.js';
import {
  assetPairsResultSchema,
  toAssetPairs,
  cursorSchema,
  envelopeSchema,
  ohlcRowSchema,
  tickerSchema,
  tradeRowSchema,
} from './kraken.schemas.js';
import type { KrakenApi, KrakenAssetPair, KrakenEndpoint, KrakenOhlc, KrakenTicker, KrakenTrade, KrakenTradesPage } from './kraken.types.js';
import { Pacer, realSleep, type Sleep } from './pacer.js';
import { PairCatalogue } from './pair-catalogue.js';

export const DEFAULT_KRAKEN_API_URL = 'https://api.kraken.com/0/public';

/** The intervals (minutes) Kraken's OHLC endpoint accepts. */
export const KRAKEN_OHLC_INTERVALS: readonly number[] = [1, 5, 15, 30, 60, 240, 1440, 10080, 21600];

/** The part of a pino logger the client uses, so tests can pass a recorder. */
export interface KrakenLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What the client reports to an optional hook; metrics (call and retry counters) hang off this. */
export type KrakenClientEvent =
  | { type: 'request'; endpoint: KrakenEndpoint; attempt: number; waitedMs: number }
  | { type: 'retry'; endpoint: KrakenEndpoint; attempt: number; delayMs: number; kind: KrakenErrorKind; detail: string }
  | { type: 'success'; endpoint: KrakenEndpoint; attempts: number; durationMs: number }
  | { type: 'failure'; endpoint: KrakenEndpoint; attempts: number; kind: KrakenErrorKind; retryable: boolean; durationMs: number };

export interface KrakenHttpClientOptions {
  /** e.g. https://api.kraken.com/0/public (config KRAKEN_API_URL) */
  baseUrl: string;
  /** per HTTP attempt, headers and body; default 15000 */
  timeoutMs?: number;
  /** retries after the first attempt for transient failures; default 5 */
  maxRetries?: number;
  /** first backoff delay; doubles per retry; default 1000 */
  retryBaseDelayMs?: number;
  /** backoff cap; default 30000 */
  retryMaxDelayMs?: number;
  /** spacing of calls (token bucket shared by all calls of this client); default 1000, 0 = none */
  minIntervalMs?: number;
  /** calls allowed back to back after a quiet spell; default 1 */
  burst?: number;
  /** every wait (pacing and backoff) goes through this, so tests can record instead of wait */
  sleep?: Sleep;
  /** monotonic milliseconds for the pacer; default performance.now */
  monotonicNow?: () => number;
  /** wall clock, to tell a closed candle from the open one; default the system clock */
  clock?: Clock;
  /** [0, 1) for jitter; default Math.random */
  random?: () => number;
  log?: KrakenLogger;
  onEvent?: (event: KrakenClientEvent) => void;
  /**
   * Resolve pair names through a cached AssetPairs catalogue (accepting key, altname, wsname
   * and 'BTC/USD'-style aliases) and send Kraken the altname. Default true. With false, the
   * name is sent as given and only Kraken's own answer says whether it exists.
   */
  resolvePairs?: boolean;
  /** how long the catalogue is trusted; default 6 hours */
  catalogueTtlMs?: number;
  /** default global fetch */
  fetch?: typeof globalThis.fetch;
}

const SILENT_LOG: KrakenLogger = { warn: () => {}, debug: () => {} };
const PAIR_NAME_RE = /^[A-Za-z0-9./_-]{2,40}$/;

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? `: ${(cause as { code?: string }).code ?? cause.message}` : '';
    return `${err.name}: ${err.message}${causeText}`;
  }
  return String(err);
}

export class KrakenHttpClient implements KrakenApi {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly sleep: Sleep;
  private readonly monotonicNow: () => number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: KrakenLogger;
  private readonly onEvent: ((e: KrakenClientEvent) => void) | undefined;
  private readonly resolvePairs: boolean;
  private readonly catalogueTtlMs: number;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly pacer: Pacer;
  private cached: { catalogue: PairCatalogue; at: number } | null = null;
  private loading: Promise<PairCatalogue> | null = null;

  constructor(opts: KrakenHttpClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new RangeError(`Kraken base URL is not a URL: ${opts.baseUrl}`);
    }
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.maxRetries = opts.maxRetries ?? 5;
    this.baseDelay = opts.retryBaseDelayMs ?? 1000;
    this.maxDelay = opts.retryMaxDelayMs ?? 30_000;
    this.sleep = opts.sleep ?? realSleep;
    this.monotonicNow = opts.monotonicNow ?? (() => performance.now());
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? SILENT_LOG;
    this.onEvent = opts.onEvent;
    this.resolvePairs = opts.resolvePairs ?? true;
    this.catalogueTtlMs = opts.catalogueTtlMs ?? 6 * 3600_000;
    this.fetchFn = opts.fetch ?? globalThis.fetch;
    this.pacer = new Pacer({ minIntervalMs: opts.minIntervalMs ?? 1000, burst: opts.burst, now: this.monotonicNow, sleep: this.sleep });
  }

  // ---- endpoints -------------------------------------------------------------------------

  async assetPairs(): Promise<KrakenAssetPair[]> {
    const result = await this.call('AssetPairs', {});
    const parsed = assetPairsResultSchema.safeParse(result);
    if (!parsed.success) throw this.shapeError('AssetPairs', undefined, parsed.error.issues[0]);
    return toAssetPairs(parsed.data);
  }

  /** The AssetPairs catalogue, fetched once and cached for catalogueTtlMs. */
  async catalogue(opts: { refresh?: boolean } = {}): Promise<PairCatalogue> {
    const fresh = this.cached && this.monotonicNow() - this.cached.at < this.catalogueTtlMs;
    if (this.cached && fresh && !opts.refresh) return this.cached.catalogue;
    // Concurrent first calls share one AssetPairs request.
    this.loading ??= this.assetPairs()
      .then((pairs) => {
        const catalogue = new PairCatalogue(pairs);
        this.cached = { catalogue, at: this.monotonicNow() };
        return catalogue;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  async ohlc(pair: string, intervalMinutes: number, since?: number): Promise<KrakenOhlc> {
    if (!KRAKEN_OHLC_INTERVALS.includes(intervalMinutes)) {
      throw new KrakenError(`Kraken has no ${intervalMinutes}-minute candles (it offers ${KRAKEN_OHLC_INTERVALS.join(', ')})`, {
        kind: 'invalid_arguments',
        endpoint: 'OHLC',
        pair,
      });
    }
    if (since !== undefined && (!Number.isInteger(since) || since < 0)) {
      throw new KrakenError(`OHLC since must be whole Unix seconds, got ${since}`, { kind: 'invalid_arguments', endpoint: 'OHLC', pair });
    }
    const entry = await this.resolvePair(pair, 'OHLC');
    const params: Record<string, string> = { pair: entry?.altname ?? pair, interval: String(intervalMinutes) };
    if (since !== undefined) params.since = String(since);
    const result = await this.call('OHLC', params, pair);
    const { key, value, rest } = this.pickPairResult('OHLC', pair, entry, result);
    const lastParsed = typeof rest.last === 'number' && Number.isInteger(rest.last) ? rest.last : undefined;
    if (lastParsed === undefined) throw this.shapeError('OHLC', pair, { message: 'result.last is missing or not a whole number' });
    if (!Array.isArray(value)) throw this.shapeError('OHLC', pair, { message: `result.${key} is not a list` });
    const rows: ExactCandle[] = [];
    for (const [i, raw] of value.entries()) {
      const row = ohlcRowSchema.safeParse(raw);
      if (!row.success) throw this.shapeError('OHLC', pair, { message: `row ${i}: ${row.error.issues[0]?.message ?? 'bad row'}` });
      const [time, open, high, low, close, vwap, volume, count] = row.data;
      rows.push({ time, open, high, low, close, vwap, volume, trades: count });
    }
    rows.sort((a, b) => a.time - b.time);
    // A row is closed only if Kraken says it is committed (time <= result.last) AND its
    // interval has ended by our clock. `last` alone would trust Kraken's bookkeeping, the
    // clock alone would trust our clock; the still-open row fails both, and a skewed clock
    // can only delay a candle to the next poll, never store a partial one.
    const nowSeconds = Math.floor(this.clock.now().getTime() / 1000);
    const step = intervalMinutes * 60;
    const candles: ExactCandle[] = [];
    let openCandle: ExactCandle | null = null;
    for (const c of rows) {
      if (c.time <= lastParsed && c.time + step <= nowSeconds) candles.push(c);
      else openCandle = c;
    }
    return { pair: key, intervalMinutes, candles, last: lastParsed, openCandle };
  }

  async trades(pair: string, since?: string): Promise<KrakenTradesPage> {
    if (since !== undefined && !/^\d{1,25}$/.test(since)) {
      throw new KrakenError(`Trades since must be a nanosecond cursor or Unix seconds (digits), got ${JSON.stringify(since)}`, {
        kind: 'invalid_arguments',
        endpoint: 'Trades',
        pair,
      });
    }
    const entry = await this.resolvePair(pair, 'Trades');
    const params: Record<string, string> = { pair: entry?.altname ?? pair };
    if (since !== undefined) params.since = since;
    const result = await this.call('Trades', params, pair);
    const { key, value, rest } = this.pickPairResult('Trades', pair, entry, result);
    const last = cursorSchema.safeParse(rest.last);
    if (!last.success) throw this.shapeError('Trades', pair, { message: 'result.last is not a nanosecond cursor' });
    if (!Array.isArray(value)) throw this.shapeError('Trades', pair, { message: `result.${key} is not a list` });
    const trades: KrakenTrade[] = [];
    for (const [i, raw] of value.entries()) {
      const row = tradeRowSchema.safeParse(raw);
      if (!row.success) throw this.shapeError('Trades', pair, { message: `trade ${i}: ${row.error.issues[0]?.message ?? 'bad row'}` });
      const [price, volume, time, side, type, misc, id] = row.data;
      trades.push({ price, volume, time, side: side === 'b' ? 'buy' : 'sell', orderType: type === 'm' ? 'market' : 'limit', misc, id: id ?? null });
    }
    return { pair: key, trades, last: last.data };
  }

  async ticker(pair: string): Promise<KrakenTicker> {
    const entry = await this.resolvePair(pair, 'Ticker');
    const result = await this.call('Ticker', { pair: entry?.altname ?? pair }, pair);
    const { key, value } = this.pickPairResult('Ticker', pair, entry, result);
    const t = tickerSchema.safeParse(value);
    if (!t.success) throw this.shapeError('Ticker', pair, t.error.issues[0]);
    const d = t.data;
    return {
      pair: key,
      ask: { price: d.a[0], wholeLotVolume: d.a[1], lotVolume: d.a[2] },
      bid: { price: d.b[0], wholeLotVolume: d.b[1], lotVolume: d.b[2] },
      lastTrade: { price: d.c[0], volume: d.c[1] },
      volume: { today: d.v[0], last24h: d.v[1] },
      vwap: { today: d.p[0], last24h: d.p[1] },
      trades: { today: d.t[0], last24h: d.t[1] },
      low: { today: d.l[0], last24h: d.l[1] },
      high: { today: d.h[0], last24h: d.h[1] },
      open: d.o,
    };
  }

  // ---- plumbing --------------------------------------------------------------------------

  private async resolvePair(name: string, endpoint: KrakenEndpoint): Promise<KrakenAssetPair | null> {
    if (!PAIR_NAME_RE.test(name)) {
      throw new KrakenError(`not a pair name: ${JSON.stringify(name.slice(0, 40))}`, { kind: 'invalid_arguments', endpoint, pair: name });
    }
    if (!this.resolvePairs) return null;
    let catalogue = await this.catalogue();
    let hit = catalogue.resolve(name);
    // A pair listed since the catalogue was cached is worth one refresh, but not one per call.
    if (!hit && this.cached && this.monotonicNow() - this.cached.at > 60_000) {
      catalogue = await this.catalogue({ refresh: true });
      hit = catalogue.resolve(name);
    }
    if (!hit) {
      throw new KrakenError(`Kraken lists no asset pair named "${name}"`, { kind: 'unknown_pair', endpoint, pair: name, krakenErrors: ['EQuery:Unknown asset pair'] });
    }
    return hit;
  }

  /** Kraken answers under its key whatever name was asked; `last` sits beside it. */
  private pickPairResult(
    endpoint: KrakenEndpoint,
    pair: string,
    entry: KrakenAssetPair | null,
    result: unknown,
  ): { key: string; value: unknown; rest: Record<string, unknown> } {
    if (!result || typeof result !== 'object' || Array.isArray(result)) throw this.shapeError(endpoint, pair, { message: 'result is not an object' });
    const obj = result as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => k !== 'last');
    const key = entry && entry.key in obj ? entry.key : keys.length === 1 ? keys[0]! : undefined;
    if (key === undefined) throw this.shapeError(endpoint, pair, { message: `expected one pair in the result, found ${keys.length}` });
    return { key, value: obj[key], rest: obj };
  }

  private shapeError(endpoint: KrakenEndpoint, pair: string | undefined, issue: { message: string; path?: readonly PropertyKey[] } | undefined): KrakenError {
    const where = issue?.path && issue.path.length > 0 ? ` at ${issue.path.map(String).join('.')}` : '';
    return new KrakenError(`Kraken ${endpoint} answered in an unexpected shape${where}: ${issue?.message ?? 'unknown'}`, {
      kind: 'unexpected_shape',
      endpoint,
      pair,
    });
  }

  private emit(event: KrakenClientEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch (err) {
      // A broken metrics hook must never fail a market data call.
      this.log.debug({ err: describe(err) }, 'kraken client event hook threw');
    }
  }

  /** Backoff before retry n (1-based): base * 2^(n-1), capped, with equal jitter (never zero, never in lockstep). */
  private backoff(retry: number, err: KrakenError): number {
    const exp = Math.min(this.maxDelay, this.baseDelay * 2 ** (retry - 1));
    let delay = exp / 2 + (exp / 2) * this.random();
    if (err.retryAfterSeconds !== undefined) delay = Math.max(delay, err.retryAfterSeconds * 1000);
    return Math.round(Math.min(this.maxDelay, delay));
  }

  private async call(endpoint: KrakenEndpoint, params: Record<string, string>, pair?: string): Promise<unknown> {
    const started = this.monotonicNow();
    for (let attempt = 1; ; attempt++) {
      const waitedMs = await this.pacer.take();
      this.emit({ type: 'request', endpoint, attempt, waitedMs });
      try {
        const result = await this.once(endpoint, params, pair);
        this.emit({ type: 'success', endpoint, attempts: attempt, durationMs: this.monotonicNow() - started });
        return result;
      } catch (caught) {
        const err =
          caught instanceof KrakenError
            ? caught
            : new KrakenError(`Kraken ${endpoint} failed: ${describe(caught)}`, { kind: 'network', endpoint, pair, cause: caught });
        err.attempts = attempt;
        if (!err.retryable || attempt > this.maxRetries) {
          this.emit({ type: 'failure', endpoint, attempts: attempt, kind: err.kind, retryable: err.retryable, durationMs: this.monotonicNow() - started });
          if (err.retryable) this.log.warn({ endpoint, pair, attempts: attempt, reason: err.kind, detail: err.message }, 'kraken call failed, giving up');
          else this.log.debug({ endpoint, pair, reason: err.kind, detail: err.message }, 'kraken call rejected');
          throw err;
        }
        const delayMs = this.backoff(attempt, err);
        this.log.warn({ endpoint, pair, attempt, delayMs, reason: err.kind, detail: err.message }, 'kraken call failed, retrying');
        this.emit({ type: 'retry', endpoint, attempt, delayMs, kind: err.kind, detail: err.message });
        await this.sleep(delayMs);
      }
    }
  }

  /** One HTTP attempt; every failure comes out as a KrakenError with a kind. */
  private async once(endpoint: KrakenEndpoint, params: Record<string, string>, pair?: string): Promise<unknown> {
    const query = new URLSearchParams(params).toString();
    const url = `${this.baseUrl}/${endpoint}${query ? `?${query}` : ''}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.fetchFn(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json', 'user-agent': 'candlecast' } });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const name = (err as { name?: string } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new KrakenError(`Kraken ${endpoint} did not answer within ${this.timeoutMs} ms`, { kind: 'timeout', endpoint, pair, cause: err });
      }
      throw new KrakenError(`Kraken ${endpoint} could not be reached (${describe(err)})`, { kind: 'network', endpoint, pair, cause: err });
    }
    const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : undefined;

    let body: unknown;
    let parsedOk = true;
    try {
      body = JSON.parse(text);
    } catch {
      parsedOk = false;
    }
    const envelope = parsedOk ? envelopeSchema.safeParse(body) : null;

    if (status >= 500 || status === 429) {
      throw new KrakenError(`Kraken ${endpoint} answered HTTP ${status}`, {
        kind: status === 429 ? 'rate_limited' : 'http_5xx',
        endpoint,
        pair,
        httpStatus: status,
        retryAfterSeconds,
        krakenErrors: envelope?.success ? envelope.data.error : [],
      });
    }
    if (envelope?.success) {
      const kind = classifyKrakenErrors(envelope.data.error);
      if (kind) {
        throw new KrakenError(`Kraken ${endpoint} refused${pair ? ` (pair ${pair})` : ''}: ${envelope.data.error.join(', ')}`, {
          kind,
          endpoint,
          pair,
          httpStatus: status,
          retryAfterSeconds,
          krakenErrors: envelope.data.error,
        });
      }
    }
    if (status < 200 || status >= 300) {
      throw new KrakenError(`Kraken ${endpoint} answered HTTP ${status}`, { kind: 'http_4xx', endpoint, pair, httpStatus: status });
    }
    if (!parsedOk) {
      // Proxies and Cloudflare put HTML error pages on 200s during incidents: transient.
      throw new KrakenError(`Kraken ${endpoint} answered with a body that is not JSON (${text.length} bytes)`, { kind: 'unparseable_body', endpoint, pair, httpStatus: status });
    }
    if (!envelope?.success) throw this.shapeError(endpoint, pair, { message: 'no "error" list in the body' });
    if (envelope.data.result === undefined) throw this.shapeError(endpoint, pair, { message: 'no "result" in the body' });
    const warnings = envelope.data.error.filter((e) => !e.startsWith('E'));
    if (warnings.length > 0) this.log.debug({ endpoint, pair, warnings }, 'kraken answered with warnings');
    return envelope.data.result;
  }
}

export function createKrakenHttpClient(opts: KrakenHttpClientOptions): KrakenHttpClient {
  return new KrakenHttpClient(opts);
}
