/**
 * The Kraken WebSocket feed against the WebSocket stand-in (and the REST stand-in for healing),
 * with the real app on a real Postgres and the scheduler on (the feed runs on the leader only).
 * Each scenario ends with the stored hourly candles equal to the source, digit for digit,
 * nothing stored twice and nothing open stored.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startMarketWorld, type MarketWorld } from './setup.js';
import { assertEqualsSource } from './compare.js';
import { startKrakenWsStandin, type KrakenWsStandin } from '../../support/kraken-ws-standin.js';
import { startApp, type TestApp } from '../../support/app.js';
import { waitUntil } from '../scheduler/helpers.js';
import type { LiveFeed } from '../../../src/modules/market/index.js';

const H = 3600;
/** 2023-01-05T09:30Z: two days before the end of the recorded hourly BTC file */
const START = 1673083800 - 2 * 86400;
const SYMBOL = 'BTC/USD';

let w: MarketWorld;
let ws: KrakenWsStandin;
let sql: pg.Client;
let feed: LiveFeed;
let announced = 0;

function envFor(url: string): Record<string, string> {
  return {
    SCHEDULER_ENABLED: 'true',
    LEADER_RETRY_MS: '300',
    CRON_INGEST: 'off',
    CRON_SCORE: 'off',
    CRON_RETRAIN: 'off',
    CRON_DRIFT_CHECK: 'off',
    CRON_ALERTS_STALE: 'off',
    KRAKEN_WS_ENABLED: 'true',
    KRAKEN_WS_URL: url,
    KRAKEN_WS_SILENCE_MS: '1500',
    KRAKEN_WS_BACKOFF_MIN_MS: '50',
    KRAKEN_WS_BACKOFF_MAX_MS: '200',
  };
}

async function storedRows(): Promise<{ time: number; n: number }[]> {
  const r = await sql.query(`SELECT extract(epoch FROM time)::int AS time, count(*)::int AS n FROM candles WHERE interval = 60 GROUP BY 1 ORDER BY 1`);
  return r.rows;
}

/** stored = source over the whole window up to the open hour; no duplicates; nothing open */
async function assertStoredMatchesSource(world: MarketWorld = w): Promise<void> {
  await feed.idle();
  const now = w.kraken.now();
  const openHour = Math.floor(now / H) * H;
  const rows = await storedRows();
  assert.ok(rows.length > 0, 'candles were stored');
  assert.deepEqual(rows.filter((r) => r.n > 1), [], 'no candle stored twice');
  // every row announced once: candles.stored counted as many candles as there are rows
  assert.equal(announced, rows.length, 'candles.stored announced each stored candle exactly once');
  assert.deepEqual(rows.filter((r) => r.time >= openHour).map((r) => r.time), [], 'no open candle stored');
  await assertEqualsSource(world, 'XBTUSD', 60, rows[0]!.time, openHour);
}

async function advance(seconds: number, steps = 1): Promise<void> {
  for (let i = 0; i < steps; i++) {
    w.advance(seconds / steps);
    ws.push();
  }
}

let wsUrl = '';
let b: TestApp | undefined;
const at = (hhmm: string) => Date.parse(`2023-01-05T${hhmm}:00Z`) / 1000;

before(async () => {
  w = await startMarketWorld({
    standin: { now: START },
    envFor: async (kraken) => {
      ws = await startKrakenWsStandin({ rest: kraken, heartbeatMs: 200 });
      wsUrl = ws.url;
      return envFor(ws.url);
    },
  });
  sql = new pg.Client({ connectionString: w.app.db.connectionString });
  await sql.connect();
  feed = w.market.live;
  w.app.running.app.events.on('candles.stored', (e) => {
    if (e.interval === 60) announced += e.count;
  });
  await waitUntil(() => feed.status().running, 'the leader to start the feed');
  assert.equal(ws.connections(), 0, 'no pair tracked: the feed does not connect');
  // tracking a pair subscribes the feed; the first connection heals the last 720 hours from REST
  await w.market.service.addPair({ pair: 'XBTUSD', intervals: [60], backfill: false }, null);
  await waitUntil(() => feed.status().connected && ws.openClients() === 1, 'the feed to connect');
  await waitUntil(() => feed.forming('XBTUSD', 60)?.time === at('09:00'), 'the snapshot of the forming hour');
  await feed.idle();
});

after(async () => {
  await b?.stop();
  await sql?.end();
  await w?.stop();
  await ws?.close();
});

test('the first connection heals from REST and subscribes ohlc and ticker for the tracked pair', async () => {
  const subs = ws.received.filter((m: any) => m.method === 'subscribe').map((m: any) => [m.params.channel, m.params.symbol.join(','), m.params.interval ?? null]);
  assert.deepEqual(subs, [
    ['ohlc', SYMBOL, 60],
    ['ticker', SYMBOL, null],
  ]);
  await waitUntil(() => feed.livePrice('XBTUSD'), 'a live price from the ticker');
  assert.equal(feed.livePrice('XBTUSD')!.last, w.kraken.candleAt('XBTUSD', 60, at('09:00'))!.close);
  await assertStoredMatchesSource();
  assert.equal((await storedRows()).at(-1)!.time, at('08:00'), 'the newest stored candle is the last closed hour');
});

test('a disconnect mid-candle: the hour closes from the feed after the reconnect, equal to the source', async () => {
  await advance(600); // 09:40, the forming candle moves
  const moved = w.kraken.candleAt('XBTUSD', 60, at('09:00'))!;
  await waitUntil(() => feed.forming('XBTUSD', 60)?.trades === moved.trades, 'the update of the forming candle');
  assert.equal(feed.forming('XBTUSD', 60)?.close, moved.close);
  const before = ws.connections();
  ws.dropAll();
  await waitUntil(() => ws.connections() > before && feed.status().connected, 'the feed to reconnect');
  await waitUntil(() => feed.forming('XBTUSD', 60)?.time === at('09:00'), 'the snapshot after the reconnect');
  await feed.idle();
  const storedBefore = feed.status().stored;
  await advance(1800, 3); // 10:10: the first update of 10:00 closes 09:00
  await waitUntil(async () => (await storedRows()).some((r) => r.time === at('09:00')), 'the 09:00 candle to be stored');
  await feed.idle();
  assert.ok(feed.status().stored > storedBefore, 'the 09:00 candle was stored from the feed, not REST');
  await assertStoredMatchesSource();
});

test('a gap of an hour: the feed is down while candles close; after the reconnect REST heals them', async () => {
  ws.down();
  await waitUntil(() => !feed.status().connected, 'the feed to notice');
  const before = ws.connections();
  await advance(2 * H, 4); // 12:10: 10:00 and 11:00 close while nobody listens
  assert.equal((await storedRows()).some((r) => r.time === at('10:00')), false);
  ws.up();
  await waitUntil(() => ws.connections() > before && feed.status().connected, 'the feed to reconnect');
  await waitUntil(async () => (await storedRows()).some((r) => r.time === at('11:00')), 'REST to heal 10:00 and 11:00');
  await assertStoredMatchesSource();
});

test('duplicated, out-of-order and garbage messages change nothing stored and keep the connection', async () => {
  await waitUntil(() => feed.forming('XBTUSD', 60)?.time === at('12:00'), 'the forming 12:00 candle');
  const connections = ws.connections();
  const garbage = feed.status().garbage;
  ws.sendRaw('not json at all');
  ws.sendRaw(Buffer.from([0, 1, 2, 3]));
  ws.sendRaw('{"channel":"ohlc","type":"update","data":[{"symbol":"BTC/USD","open":"x"}]}');
  ws.sendRaw('[1,2,3]');
  // an update of a stored hour, as it stood mid-hour: must not reopen or change it
  ws.sendCandle(SYMBOL, 60, at('11:00'), at('11:20'));
  ws.sendCandle(SYMBOL, 60, at('10:00'), at('10:59'));
  // the forming hour: its final state, then an older update, then duplicates
  ws.sendCandle(SYMBOL, 60, at('12:00'), at('13:00'));
  ws.sendCandle(SYMBOL, 60, at('12:00'), at('12:20'));
  ws.sendCandle(SYMBOL, 60, at('12:00'), at('13:00'));
  ws.sendCandle(SYMBOL, 60, at('12:00'), at('12:05'));
  w.setNow(at('13:05'));
  // 13:00 opens (twice, and again with an older state): 12:00 closes once, with its final values
  ws.sendCandle(SYMBOL, 60, at('13:00'), at('13:05'));
  ws.sendCandle(SYMBOL, 60, at('13:00'), at('13:05'));
  ws.sendCandle(SYMBOL, 60, at('12:00'), at('12:30'));
  await waitUntil(async () => (await storedRows()).some((r) => r.time === at('12:00')), 'the 12:00 candle to be stored');
  await waitUntil(() => feed.status().garbage >= garbage + 4, 'the garbage to be counted');
  assert.equal(feed.forming('XBTUSD', 60)?.time, at('13:00'));
  assert.equal(ws.connections(), connections, 'garbage does not cost a reconnect');
  await assertStoredMatchesSource();
});

test('a silent connection (no heartbeat) is dropped and the feed reconnects', async () => {
  const before = ws.connections();
  ws.setSilent(true);
  await waitUntil(() => ws.connections() > before, 'the feed to reconnect after the silence', 15_000);
  ws.setSilent(false);
  await waitUntil(() => feed.status().connected, 'the feed to be connected again');
  await feed.idle();
  await assertStoredMatchesSource();
});

test('/metrics shows the feed: connected, messages, reconnects, close-to-stored lag', async () => {
  const text = await (await w.app.fetch('/metrics')).text();
  assert.match(text, /^candlecast_kraken_ws_connected 1$/m);
  assert.match(text, /^candlecast_kraken_ws_messages_total\{channel="heartbeat"\} [1-9]/m);
  assert.match(text, /^candlecast_kraken_ws_messages_total\{channel="garbage"\} [1-9]/m);
  assert.match(text, /^candlecast_kraken_ws_reconnects_total [3-9]/m);
  assert.match(text, /^candlecast_kraken_ws_close_to_stored_seconds_count\{interval="1h"\} [1-9]/m);
});

test('two instances hold one feed between them: only the leader connects; when it goes, the other takes over', async () => {
  b = await startApp({ db: w.app.db, env: { KRAKEN_API_URL: w.kraken.url, KRAKEN_TIMEOUT_MS: '2000', ...envFor(wsUrl) } });
  const feedB = b.running.app.services.market.live;
  await new Promise((r) => setTimeout(r, 700)); // two leader retries of B
  assert.equal(feedB.status().running, false, 'the follower holds no feed');
  assert.equal(ws.openClients(), 1, 'one connection to Kraken in total');
  const before = ws.connections();
  await w.app.running.shutdown('test: the leader goes');
  await waitUntil(() => feedB.status().connected, 'the other instance to take the feed over', 15_000);
  assert.equal(ws.openClients(), 1, 'still one connection');
  assert.ok(ws.connections() > before);
  await feedB.idle();
  await feed.idle();
  // B heals from REST on B's own app (A's database pool is closed): still equal to the source
  b.running.app.events.on('candles.stored', (e) => {
    if (e.interval === 60) announced += e.count;
  });
  await assertStoredMatchesSource({ ...w, market: b.running.app.services.market });
});
