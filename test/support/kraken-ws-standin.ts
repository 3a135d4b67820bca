/**
 * A local stand-in for Kraken's WebSocket v2 public feed (wss://ws.kraken.com/v2), for tests
 * and offline local runs. It sits beside the REST stand-in and serves the same source series at
 * the same "now", so what the feed shows and what REST OHLC answers agree, as on Kraken.
 *
 * It speaks v2's shapes: a `status` message on connect, one subscribe ack per symbol
 * ({"method":"subscribe","result":{...},"success":true,...}), an `ohlc` / `ticker` snapshot after
 * each subscription, `update`s when a test calls push(), and a `heartbeat` every heartbeatMs.
 * Numbers are written as JSON numbers with the source's digits, as Kraken writes them.
 *
 * On demand: drop every connection (dropAll), refuse connections while "down", go silent (no
 * heartbeats, no updates, socket open), send garbage frames, and send any candle as it stood at
 * any moment (duplicates, out-of-order and stale updates).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { KrakenStandin } from './kraken-standin.js';

export interface KrakenWsStandinOptions {
  rest: KrakenStandin;
  port?: number;
  host?: string;
  /** ms between heartbeats; 0: none. Default 1000 like Kraken */
  heartbeatMs?: number;
}

interface Client {
  ws: WebSocket;
  /** "symbol|interval" of the ohlc subscriptions, symbols of the ticker ones */
  ohlc: Set<string>;
  ticker: Set<string>;
  /** per ohlc subscription: the open time of the last interval pushed (to send its final state first) */
  lastBegin: Map<string, number>;
}

export interface KrakenWsStandin {
  /** ws://host:port/v2 */
  url: string;
  /** connections accepted so far */
  connections(): number;
  /** sockets open now */
  openClients(): number;
  /** every message received from clients, parsed */
  received: unknown[];
  /**
   * Sends what happened up to the REST stand-in's "now" to every subscriber: for each ohlc
   * subscription the final state of the interval pushed last (when "now" has left it; Kraken's
   * last update of a candle carries its final values) and then the forming candle as of now,
   * and a ticker update.
   */
  push(): void;
  /** one ohlc update for `symbol` (v2 name, e.g. BTC/USD) of the interval opening at `begin`, as it stood at `at` */
  sendCandle(symbol: string, interval: number, begin: number, at: number): void;
  /** any text (or a binary frame) to every open client */
  sendRaw(data: string | Buffer): void;
  /** closes every open socket abruptly (no close frame) */
  dropAll(): void;
  /** down: drops every socket and refuses new connections (HTTP 503) until up() */
  down(): void;
  up(): void;
  /** silent: no heartbeats and no pushes; the sockets stay open */
  setSilent(silent: boolean): void;
  close(): Promise<void>;
}

/** v2 symbol -> REST pair name: the stand-in's AssetPairs wsname uses XBT, v2 uses BTC. */
const REST_ASSETS: Record<string, string> = { BTC: 'XBT', DOGE: 'XDG' };
const restName = (symbol: string) =>
  symbol
    .split('/')
    .map((a) => REST_ASSETS[a] ?? a)
    .join('/');

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString().replace('.000Z', '.000000000Z');

export async function startKrakenWsStandin(opts: KrakenWsStandinOptions): Promise<KrakenWsStandin> {
  const { rest } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  const clients = new Set<Client>();
  const received: unknown[] = [];
  let accepted = 0;
  let isDown = false;
  let silent = false;
  let connectionId = 1000;

  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('websocket only');
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (isDown || !req.url?.startsWith('/v2')) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });

  const send = (c: Client, text: string) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(text);
  };

  const candleJson = (symbol: string, interval: number, begin: number, at: number): string | null => {
    const k = rest.candleAt(restName(symbol), interval, begin, at);
    if (!k) return null;
    // Kraken writes numbers; the source's digits are valid JSON numbers as they are
    return `{"symbol":${JSON.stringify(symbol)},"open":${k.open},"high":${k.high},"low":${k.low},"close":${k.close},"trades":${k.trades},"volume":${k.volume},"vwap":${k.vwap},"interval_begin":"${iso(begin)}","interval":${interval},"timestamp":"${iso(Math.min(at, begin + interval * 60 - 1))}"}`;
  };

  const ohlcMessage = (type: 'snapshot' | 'update', items: string[]) => `{"channel":"ohlc","type":"${type}","timestamp":"${iso(rest.now())}","data":[${items.join(',')}]}`;

  const tickerJson = (symbol: string): string | null => {
    const now = rest.now();
    const begin = Math.floor(now / 3600) * 3600;
    const k = rest.candleAt(restName(symbol), 60, begin, now) ?? rest.candleAt(restName(symbol), 60, begin - 3600, now);
    if (!k) return null;
    const change = (Number(k.close) - Number(k.open)).toFixed(1);
    const pct = ((Number(k.close) / Number(k.open) - 1) * 100).toFixed(2);
    return `{"symbol":${JSON.stringify(symbol)},"bid":${k.close},"bid_qty":1.0,"ask":${k.close},"ask_qty":1.0,"last":${k.close},"volume":${k.volume},"vwap":${k.vwap},"low":${k.low},"high":${k.high},"change":${change},"change_pct":${pct}}`;
  };

  const ack = (c: Client, reqId: unknown, result: Record<string, unknown>) => {
    const t = new Date().toISOString();
    send(c, JSON.stringify({ method: 'subscribe', req_id: reqId, result: { ...result, warnings: [] }, success: true, time_in: t, time_out: t }));
  };

  const onSubscribe = (c: Client, msg: { params?: Record<string, unknown>; req_id?: unknown }) => {
    const p = msg.params ?? {};
    const symbols = Array.isArray(p.symbol) ? p.symbol.filter((s): s is string => typeof s === 'string') : [];
    const now = rest.now();
    if (p.channel === 'ohlc') {
      const interval = Number(p.interval ?? 1);
      const items: string[] = [];
      for (const symbol of symbols) {
        const key = `${symbol}|${interval}`;
        c.ohlc.add(key);
        ack(c, msg.req_id, { channel: 'ohlc', interval, snapshot: p.snapshot !== false, symbol });
        const begin = Math.floor(now / (interval * 60)) * interval * 60;
        c.lastBegin.set(key, begin);
        const j = candleJson(symbol, interval, begin, now);
        if (j) items.push(j);
      }
      if (p.snapshot !== false && items.length) send(c, ohlcMessage('snapshot', items));
    } else if (p.channel === 'ticker') {
      const items: string[] = [];
      for (const symbol of symbols) {
        c.ticker.add(symbol);
        ack(c, msg.req_id, { channel: 'ticker', snapshot: true, symbol });
        const j = tickerJson(symbol);
        if (j) items.push(j);
      }
      if (items.length) send(c, `{"channel":"ticker","type":"snapshot","data":[${items.join(',')}]}`);
    } else {
      send(c, JSON.stringify({ error: 'Channel not found', method: 'subscribe', req_id: msg.req_id, success: false }));
    }
  };

  wss.on('connection', (ws) => {
    accepted++;
    const c: Client = { ws, ohlc: new Set(), ticker: new Set(), lastBegin: new Map() };
    clients.add(c);
    ws.on('close', () => clients.delete(c));
    ws.on('error', () => clients.delete(c));
    ws.on('message', (data) => {
      let msg: { method?: string; params?: Record<string, unknown>; req_id?: unknown };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        send(c, JSON.stringify({ error: 'Malformed request', success: false }));
        return;
      }
      received.push(msg);
      if (msg.method === 'subscribe') onSubscribe(c, msg);
      else if (msg.method === 'ping') send(c, JSON.stringify({ method: 'pong', req_id: msg.req_id }));
    });
    send(c, JSON.stringify({ channel: 'status', type: 'update', data: [{ api_version: 'v2', connection_id: connectionId++, system: 'online', version: '2.0.10' }] }));
  });

  const beat = heartbeatMs > 0 ? setInterval(() => {
    if (silent) return;
    for (const c of clients) send(c, '{"channel":"heartbeat"}');
  }, heartbeatMs) : undefined;
  beat?.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  const dropAll = () => {
    for (const c of clients) c.ws.terminate();
    clients.clear();
  };

  return {
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${address.port}/v2`,
    connections: () => accepted,
    openClients: () => [...clients].filter((c) => c.ws.readyState === c.ws.OPEN).length,
    received,
    push() {
      if (silent) return;
      const now = rest.now();
      for (const c of clients) {
        const items: string[] = [];
        for (const key of c.ohlc) {
          const [symbol, intervalText] = key.split('|') as [string, string];
          const interval = Number(intervalText);
          const step = interval * 60;
          const begin = Math.floor(now / step) * step;
          const last = c.lastBegin.get(key);
          if (last !== undefined && last < begin) {
            const fin = candleJson(symbol, interval, last, last + step);
            if (fin) items.push(fin);
          }
          c.lastBegin.set(key, begin);
          const j = candleJson(symbol, interval, begin, now);
          if (j) items.push(j);
        }
        if (items.length) send(c, ohlcMessage('update', items));
        const tickers = [...c.ticker].map(tickerJson).filter((t): t is string => t !== null);
        if (tickers.length) send(c, `{"channel":"ticker","type":"update","data":[${tickers.join(',')}]}`);
      }
    },
    sendCandle(symbol, interval, begin, at) {
      const j = candleJson(symbol, interval, begin, at);
      if (!j) throw new Error(`kraken ws stand-in: no trade of ${symbol} ${interval}m at ${iso(begin)} before ${iso(at)}`);
      for (const c of clients) send(c, ohlcMessage('update', [j]));
    },
    sendRaw(data) {
      for (const c of clients) if (c.ws.readyState === c.ws.OPEN) c.ws.send(data, { binary: Buffer.isBuffer(data) });
    },
    dropAll,
    down() {
      isDown = true;
      dropAll();
    },
    up() {
      isDown = false;
    },
    setSilent(s) {
      silent = s;
    },
    async close() {
      if (beat) clearInterval(beat);
      dropAll();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
