/**
 * Backfill from Trades, end to end over HTTP: the client pages the stand-in's synthetic
 * trades with Kraken's nanosecond cursor, the aggregator rebuilds candles, and they must equal
 * the real source candles exactly (after normalising trailing zeros).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { ExactCandle } from '../../../src/platform/candle.js';
import { findGaps } from '../../../src/modules/market/candles/gaps.js';
import { candlesFromTrades, pageTrades } from '../../../src/modules/market/kraken/index.js';
import { DEFAULT_STANDIN_NOW, startKrakenStandin, type KrakenStandin } from '../../support/kraken-standin.js';
import { norm, requestsTo, testClient } from './market-helpers.js';

const D = 86400;
const H = 3600;
let standin: KrakenStandin;

before(async () => {
  standin = await startKrakenStandin();
});
after(async () => {
  await standin.close();
});
beforeEach(() => {
  standin.reset();
});

function sourceIn(pair: string, interval: number, from: number, to: number): readonly ExactCandle[] {
  return standin.sourceCandles(pair, interval).filter((c) => c.time >= from && c.time < to);
}

/**
 * Equal to the source candle, trade count included, except where the source count is too
 * small to carry its four prices (documented stand-in limit): then between it and 4.
 */
function assertReproduces(got: ExactCandle[], want: readonly ExactCandle[]): { smallCounts: number } {
  assert.deepEqual(
    got.map((c) => c.time),
    want.map((c) => c.time),
    'same candle times',
  );
  let smallCounts = 0;
  got.forEach((g, i) => {
    const w = want[i]!;
    const { trades: gt, ...gRest } = norm(g);
    const { trades: wt, ...wRest } = norm(w);
    assert.deepEqual(gRest, wRest, `candle ${new Date(w.time * 1000).toISOString()}`);
    if ((wt as number) >= 4) assert.equal(gt, wt, `trade count of ${w.time}`);
    else {
      smallCounts++;
      assert.ok((gt as number) >= (wt as number) && (gt as number) <= 4, `trade count of ${w.time}: ${gt} vs ${wt}`);
    }
  });
  return { smallCounts };
}

test('daily BTC: trades of 2013-10 (gaps, single-trade days) rebuild the source candles', async () => {
  standin.setTradesSource('XBTUSD', 1440);
  const from = Date.UTC(2013, 9, 6) / 1000;
  const to = Date.UTC(2013, 10, 6) / 1000;
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 1440, from, to, now: DEFAULT_STANDIN_NOW });
  const want = sourceIn('XBTUSD', 1440, from, to);
  assert.ok(want.length > 20 && want.length < 31, 'the month has real gaps');
  const { smallCounts } = assertReproduces(res.candles, want);
  assert.ok(smallCounts > 0, 'the range includes candles with fewer than 4 trades');
  assert.equal(res.pair, 'XXBTZUSD');
  assert.equal(res.complete, true);
  assert.equal(
    res.trades,
    res.candles.reduce((n, c) => n + c.trades, 0),
  );
});

test('daily BTC: ten busy days of 2017 (about 50 pages of 1000 trades)', async () => {
  standin.setTradesSource('XBTUSD', 1440);
  const from = Date.UTC(2017, 0, 1) / 1000;
  const to = from + 10 * D;
  const { client } = testClient(standin);
  const pages: number[] = [];
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 1440, from, to, now: DEFAULT_STANDIN_NOW, onPage: (p) => pages.push(p.trades) });
  const want = sourceIn('XBTUSD', 1440, from, to);
  assert.equal(want.length, 10);
  assertReproduces(res.candles, want);
  assert.equal(
    res.trades,
    want.reduce((n, c) => n + c.trades, 0),
  );
  assert.ok(res.pages > 40);
  assert.ok(pages.slice(0, -1).every((n) => n === 1000), 'full pages until the last');
  // Each request's since was the previous answer's last.
  const sinces = requestsTo(standin, 'Trades').map((r) => r.query.since);
  assert.equal(sinces[0], (BigInt(from) * 1_000_000_000n - 1n).toString(), 'starts one nanosecond before from');
  assert.equal(new Set(sinces).size, sinces.length, 'the cursor always moved');
});

test('daily ETH: the illiquid first days of 2015 and the volume written as 4E+2', async () => {
  const from = Date.UTC(2015, 7, 7) / 1000;
  const to = Date.UTC(2015, 9, 10) / 1000;
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'ETH/USD', { intervalMinutes: 1440, from, to, now: DEFAULT_STANDIN_NOW });
  const want = sourceIn('ETHUSD', 1440, from, to);
  assertReproduces(res.candles, want);
  assert.equal(res.candles.find((c) => c.time === 1443744000)?.volume.replace(/\.?0+$/, ''), '400');
});

test('hourly BTC: a day of 2022 rebuilds each hour, VWAP equal to what OHLC serves', async () => {
  const to = Math.floor(DEFAULT_STANDIN_NOW / H) * H - 10 * H;
  const from = to - 24 * H;
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 60, from, to, now: DEFAULT_STANDIN_NOW });
  const want = sourceIn('XBTUSD', 60, from, to);
  assert.equal(want.length, 24);
  assertReproduces(res.candles, want);
  // The stand-in's OHLC VWAP comes from the same synthetic trades, so aggregation must match it.
  const ohlc = await client.ohlc('XBTUSD', 60);
  const served = ohlc.candles.filter((c) => c.time >= from && c.time < to);
  assert.deepEqual(
    res.candles.map((c) => norm(c, true)),
    served.map((c) => norm(c, true)),
  );
});

test('hourly BTC: the sparse hours of autumn 2013', async () => {
  const from = Date.UTC(2013, 9, 6) / 1000;
  const to = from + 61 * D;
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 60, from, to, now: DEFAULT_STANDIN_NOW });
  const want = sourceIn('XBTUSD', 60, from, to);
  assert.ok(want.length > 100 && want.length < 61 * 24, 'most hours of 2013 had no trade');
  const { smallCounts } = assertReproduces(res.candles, want);
  assert.ok(smallCounts > 10);
});

test('a recorded 2025 day (21,263 trades) rebuilds open/high/low/close/volume/count', async () => {
  standin.setTradesSource('XBTUSD', 1440);
  standin.setNow(1789776000 + 3600);
  const from = 1755302400;
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 1440, from, to: from + D, now: standin.now() });
  assertReproduces(res.candles, sourceIn('XBTUSD', 1440, from, from + D));
  assert.equal(res.candles[0]!.trades, 21263);
});

test('a range running into now: the interval still open is not emitted', async () => {
  const openHour = Math.floor(DEFAULT_STANDIN_NOW / H) * H;
  const from = openHour - 3 * H;
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 60, from, to: openHour + 2 * H, now: DEFAULT_STANDIN_NOW });
  assert.deepEqual(
    res.candles.map((c) => c.time),
    [from, from + H, from + 2 * H],
  );
});

test('missing candles: no trades for them, no invented candles, the gap finder names them', async () => {
  const to = Math.floor(DEFAULT_STANDIN_NOW / H) * H - 10 * H;
  const from = to - 12 * H;
  const dropped = [from + 3 * H, from + 4 * H, from + 9 * H];
  standin.setFault({ kind: 'missing-candles', pair: 'XBTUSD', intervalMinutes: 60, times: dropped });
  const { client } = testClient(standin);
  const res = await candlesFromTrades(client, 'XBTUSD', { intervalMinutes: 60, from, to, now: DEFAULT_STANDIN_NOW });
  assert.equal(res.candles.length, 9);
  assert.deepEqual(
    findGaps(
      res.candles.map((c) => c.time),
      60,
      { from, end: to },
    ),
    [
      { from: from + 3 * H, to: from + 4 * H, missing: 2 },
      { from: from + 9 * H, to: from + 9 * H, missing: 1 },
    ],
  );
  const ohlc = await client.ohlc('XBTUSD', 60);
  assert.ok(!ohlc.candles.some((c) => dropped.includes(c.time)));
});

test('pageTrades: without since, the most recent trades; the cursor is the last trade in nanoseconds', async () => {
  const { client } = testClient(standin);
  const page = await client.trades('XBTUSD');
  assert.equal(page.trades.length, 1000);
  const lastTrade = page.trades.at(-1)!;
  assert.ok(lastTrade.time < Math.floor(DEFAULT_STANDIN_NOW / H) * H, 'only trades of closed candles');
  assert.equal(page.last.length, 19);
  assert.ok(Math.abs(Number(BigInt(page.last) / 1000n) / 1e6 - lastTrade.time) < 1e-3);
  for (let i = 1; i < page.trades.length; i++) assert.ok(page.trades[i]!.time > page.trades[i - 1]!.time);
  const again = await client.trades('XBTUSD', page.last);
  assert.equal(again.trades.length, 0, 'nothing after the newest trade');
  assert.equal(again.last, page.last);

  const pages = [];
  for await (const p of pageTrades(client, 'XBTUSD', { since: String(Math.floor(DEFAULT_STANDIN_NOW / H) * H - 3 * H) })) pages.push(p);
  assert.equal(pages.at(-1)!.stop, 'exhausted');
  assert.ok(pages.every((p) => p.trades.every((t) => t.time >= Math.floor(DEFAULT_STANDIN_NOW / H) * H - 3 * H)));
});

test('paging survives a rate limit in the middle', async () => {
  standin.setTradesSource('XBTUSD', 1440);
  const from = Date.UTC(2017, 0, 1) / 1000;
  const { client, events } = testClient(standin);
  let injected = false;
  const res = await candlesFromTrades(client, 'XBTUSD', {
    intervalMinutes: 1440,
    from,
    to: from + 2 * D,
    now: DEFAULT_STANDIN_NOW,
    onPage: (p) => {
      if (p.page === 2 && !injected) {
        injected = true;
        standin.setFault({ kind: 'rate-limit', times: 2, endpoints: ['Trades'] });
      }
    },
  });
  assertReproduces(res.candles, sourceIn('XBTUSD', 1440, from, from + 2 * D));
  assert.equal(events.filter((e) => e.type === 'retry').length, 2);
});
