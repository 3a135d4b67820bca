/**
 * Kraken's public WebSocket v2 (wss://ws.kraken.com/v2), reduced to what candlecast needs:
 * the `ohlc` and `ticker` channels for a set of symbols ("BTC/USD": v2 names assets the common
 * way, not XBT). One connection; it reconnects with exponential backoff and jitter, subscribes
 * again on every connection, and treats a connection that says nothing (Kraken sends a
 * `heartbeat` about once a second) for `silenceMs` as dead.
 *
 * Prices arrive as JSON numbers. They are read as the digits Kraken wrote (numbers are quoted
 * before JSON.parse), so a candle stored from the feed is digit for digit what REST would give,
 * never a float's rounding of it.
 */
import WebSocket from 'ws';
import { z } from 'zod';
import type { Logger } from '../../../platform/log.js';

export interface KrakenWsCandle {
  symbol: string;
  /** minutes */
  interval: number;
  /** Unix seconds */
  intervalBegin: number;
  open: string;
  high: string;
  low: string;
  close: string;
  vwap: string;
  volume: string;
  trades: number;
  /** Unix ms of the update (Kraken's `timestamp`), to order updates of one interval; null if absent */
  updatedAt: number | null;
}

export interface KrakenWsTicker {
  symbol: string;
  last: string;
  bid: string;
  ask: string;
  volume: string;
  vwap: string;
  low: string;
  high: string;
  change: string;
  changePct: string;
}

export interface KrakenWsSubscriptions {
  /** symbols per OHLC interval (minutes) */
  ohlc: Map<number, string[]>;
  ticker: string[];
}

export type KrakenWsEvent =
  | { type: 'open' }
  | { type: 'closed'; reason: string; willRetryInMs: number | null }
  | { type: 'message'; channel: string }
  | { type: 'ohlc'; kind: 'snapshot' | 'update'; candles: KrakenWsCandle[] }
  | { type: 'ticker'; kind: 'snapshot' | 'update'; tickers: KrakenWsTicker[] }
  | { type: 'subscribed'; channel: string; symbol: string; interval?: number }
  | { type: 'refused'; error: string }
  | { type: 'garbage'; reason: string };

export interface KrakenWsOptions {
  url: string;
  log: Logger;
  /** no message for this long: the connection is dead */
  silenceMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** [0, 1); Math.random by default (tests of the backoff may fix it) */
  random?: () => number;
  subscriptions(): KrakenWsSubscriptions;
  onEvent(e: KrakenWsEvent): void;
}

export interface KrakenWsConnection {
  start(): void;
  stop(): Promise<void>;
  /** drop the current socket and connect again at once (subscriptions changed) */
  restart(reason: string): void;
  isOpen(): boolean;
}

/** Backoff for the nth consecutive failure (0-based): exponential, capped, "equal jitter". */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (base / 2) * random());
}

/** JSON numbers outside strings become strings, so their digits survive JSON.parse. */
export function quoteNumbers(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (m) => (m.startsWith('"') ? m : `"${m}"`));
}

const decimal = z.string().regex(/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/, 'a number');
const candleSchema = z.object({
  symbol: z.string().min(1),
  open: decimal,
  high: decimal,
  low: decimal,
  close: decimal,
  vwap: decimal.optional(),
  volume: decimal,
  trades: z.string().regex(/^\d+$/).transform(Number),
  interval: z.string().regex(/^\d+$/).transform(Number),
  interval_begin: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an RFC 3339 time'),
  timestamp: z.string().optional(),
});
const tickerSchema = z.object({
  symbol: z.string().min(1),
  last: decimal,
  bid: decimal,
  ask: decimal,
  volume: decimal,
  vwap: decimal,
  low: decimal,
  high: decimal,
  change: decimal,
  change_pct: decimal,
});
const dataMessage = z.object({ channel: z.enum(['ohlc', 'ticker']), type: z.enum(['snapshot', 'update']), data: z.array(z.unknown()) });

/** Plain decimal text for a number Kraken wrote, exponent notation expanded (volumes like 1e-8). */
function plain(d: string): string {
  if (!/[eE]/.test(d)) return d;
  const n = Number(d);
  return n.toFixed(Math.min(20, Math.max(0, -Math.floor(Math.log10(Math.abs(n) || 1)) + 12))).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

export function parseCandle(raw: unknown): KrakenWsCandle | string {
  const r = candleSchema.safeParse(raw);
  if (!r.success) return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  const c = r.data;
  const begin = Date.parse(c.interval_begin);
  if (begin % 1000 !== 0) return 'interval_begin: not a whole second';
  const updatedAt = c.timestamp ? Date.parse(c.timestamp) : NaN;
  return {
    symbol: c.symbol,
    interval: c.interval,
    intervalBegin: begin / 1000,
    open: plain(c.open),
    high: plain(c.high),
    low: plain(c.low),
    close: plain(c.close),
    vwap: plain(c.vwap ?? c.close),
    volume: plain(c.volume),
    trades: c.trades,
    updatedAt: Number.isNaN(updatedAt) ? null : updatedAt,
  };
}

export function createKrakenWsConnection(o: KrakenWsOptions): KrakenWsConnection {
  const random = o.random ?? Math.random;
  let ws: WebSocket | undefined;
  let open = false;
  let stopped = true;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let silenceTimer: NodeJS.Timeout | undefined;
  let reqId = 0;

  const emit = (e: KrakenWsEvent) => {
    try {
      o.onEvent(e);
    } catch (err) {
      o.log.error({ err }, 'kraken feed event handler failed');
    }
  };

  function armSilence(socket: WebSocket): void {
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      if (ws !== socket) return;
      o.log.warn({ silenceMs: o.silenceMs }, 'kraken websocket silent (no heartbeat); reconnecting');
      socket.terminate();
    }, o.silenceMs);
    silenceTimer.unref();
  }

  function subscribe(socket: WebSocket): void {
    const subs = o.subscriptions();
    const send = (params: Record<string, unknown>) => socket.send(JSON.stringify({ method: 'subscribe', params, req_id: ++reqId }));
    for (const [interval, symbols] of subs.ohlc) if (symbols.length) send({ channel: 'ohlc', symbol: symbols, interval, snapshot: true });
    if (subs.ticker.length) send({ channel: 'ticker', symbol: subs.ticker, snapshot: true });
  }

  function onMessage(socket: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    armSilence(socket);
    if (isBinary) return emit({ type: 'garbage', reason: 'binary frame' });
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let msg: unknown;
    try {
      msg = JSON.parse(quoteNumbers(text));
    } catch {
      return emit({ type: 'garbage', reason: `not JSON: ${text.slice(0, 80)}` });
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return emit({ type: 'garbage', reason: 'not a JSON object' });
    const m = msg as Record<string, unknown>;
    if (m.method === 'subscribe') {
      if (m.success === 'true' || m.success === true) {
        attempt = 0;
        const result = (m.result ?? {}) as Record<string, unknown>;
        return emit({ type: 'subscribed', channel: String(result.channel), symbol: String(result.symbol), ...(result.interval ? { interval: Number(result.interval) } : {}) });
      }
      return emit({ type: 'refused', error: String(m.error ?? 'subscribe refused') });
    }
    if (m.method !== undefined) return; // pong, unsubscribe acks
    const channel = typeof m.channel === 'string' ? m.channel : '?';
    emit({ type: 'message', channel });
    if (channel === 'heartbeat' || channel === 'status') return;
    const dm = dataMessage.safeParse(m);
    if (!dm.success) return emit({ type: 'garbage', reason: `unexpected message on channel ${channel}` });
    if (dm.data.channel === 'ohlc') {
      const candles: KrakenWsCandle[] = [];
      for (const raw of dm.data.data) {
        const c = parseCandle(raw);
        if (typeof c === 'string') emit({ type: 'garbage', reason: `ohlc: ${c}` });
        else candles.push(c);
      }
      if (candles.length) emit({ type: 'ohlc', kind: dm.data.type, candles });
    } else {
      const tickers: KrakenWsTicker[] = [];
      for (const raw of dm.data.data) {
        const t = tickerSchema.safeParse(raw);
        if (!t.success) emit({ type: 'garbage', reason: 'ticker: bad entry' });
        else tickers.push({ ...t.data, changePct: t.data.change_pct });
      }
      if (tickers.length) emit({ type: 'ticker', kind: dm.data.type, tickers });
    }
  }

  function scheduleRetry(reason: string, immediate = false): void {
    if (stopped) return emit({ type: 'closed', reason, willRetryInMs: null });
    const delay = immediate ? 0 : backoffDelay(attempt++, o.backoffMinMs, o.backoffMaxMs, random);
    emit({ type: 'closed', reason, willRetryInMs: delay });
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
    retryTimer.unref();
  }

  function connect(): void {
    if (stopped) return;
    const socket = new WebSocket(o.url, { handshakeTimeout: Math.max(1000, o.silenceMs), maxPayload: 4 * 1024 * 1024 });
    ws = socket;
    let restartNow = false;
    (socket as WebSocket & { restartNow?: () => void }).restartNow = () => {
      restartNow = true;
    };
    socket.on('open', () => {
      if (ws !== socket) return;
      open = true;
      armSilence(socket);
      emit({ type: 'open' });
      subscribe(socket);
    });
    socket.on('message', (data, isBinary) => {
      if (ws === socket) onMessage(socket, data, isBinary);
    });
    socket.on('error', (err) => {
      o.log.warn({ err: { message: err.message } }, 'kraken websocket error');
    });
    socket.on('close', (code, reasonBuf) => {
      if (ws !== socket) return;
      ws = undefined;
      open = false;
      clearTimeout(silenceTimer);
      scheduleRetry(`closed (${code}${reasonBuf.length ? ` ${reasonBuf.toString('utf8').slice(0, 80)}` : ''})`, restartNow);
    });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      attempt = 0;
      connect();
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      const socket = ws;
      if (!socket) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 1000);
        t.unref();
        socket.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
        else socket.close(1000, 'stopping');
      });
      ws = undefined;
      open = false;
    },
    restart(reason: string) {
      const socket = ws;
      o.log.info({ reason }, 'kraken websocket: reconnecting');
      if (!socket) {
        if (!stopped) {
          clearTimeout(retryTimer);
          connect();
        }
        return;
      }
      (socket as WebSocket & { restartNow?: () => void }).restartNow?.();
      socket.terminate();
    },
    isOpen: () => open,
  };
}
