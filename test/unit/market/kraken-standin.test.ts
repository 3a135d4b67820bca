/**
 * The stand-in itself, over raw HTTP: it must answer like Kraken, or every test built on it
 * proves nothing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { aggregateTrades } from '../../../src/modules/market/candles/aggregate.js';
import { parseCandleCsv } from '../../../src/modules/market/candles/csv.js';
import { compareDecimal } from '../../../src/modules/market/candles/decimal.js';
import { candlesFromTrades } from '../../../src/modules/market/kraken/index.js';
import { DEFAULT_STANDIN_NOW, RECORDED_NOW, startKrakenStandin, synthesizeTrades, type KrakenStandin } from '../../support/kraken-standin.js';
import { norm, readProjectFile, testClient } from './market-helpers.js';

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

async function get(path: string): Promise<{ status: number; text: string; json: () => any }> {
  const res = await fetch(`${standin.url}${path}`);
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

type Row = [number, string, string, string, string, string, string, number];

test('replays the recorded OHLC answer byte for byte at the recorded moment, under any name', async () => {
  standin.setNow(RECORDED_NOW);
  const recorded = readProjectFile('test/fixtures/kraken/api/ohlc_XXBTZUSD_1440.json').trim();
  for (const name of ['XBTUSD', 'XXBTZUSD', 'XBT/USD', 'xbtusd']) {
    const r = await get(`/OHLC?pair=${encodeURIComponent(name)}&interval=1440`);
    assert.equal(r.status, 200);
    assert.equal(r.text, recorded, name);
  }
  const ticker = await get('/Ticker?pair=XBTUSD');
  assert.deepEqual(ticker.json(), JSON.parse(readProjectFile('test/fixtures/kraken/api/ticker_XXBTZUSD.json')));
  const pairs = await get('/AssetPairs');
  assert.deepEqual(pairs.json(), JSON.parse(readProjectFile('test/fixtures/kraken/api/asset_pairs.json')));
});

test('OHLC: 720 intervals, the last one open, result.last the newest committed one', async () => {
  const now = Date.UTC(2022, 5, 1, 12) / 1000;
  standin.setNow(now);
  const open = Date.UTC(2022, 5, 1) / 1000;
  const body = (await get('/OHLC?pair=XBTUSD&interval=1440')).json();
  const rows = body.result.XXBTZUSD as Row[];
  assert.deepEqual(body.error, []);
  assert.equal(rows.length, 720);
  assert.equal(rows[0]![0], open - 719 * D);
  assert.equal(rows.at(-1)![0], open);
  assert.equal(body.result.last, open - D);
  // closed rows are the source candles, with their exact strings
  const src = new Map(standin.sourceCandles('XBTUSD', 1440).map((c) => [c.time, c]));
  for (const r of rows.slice(0, -1)) {
    const c = src.get(r[0])!;
    assert.deepEqual([r[1], r[2], r[3], r[4], r[6], r[7]], [c.open, c.high, c.low, c.close, c.volume, c.trades]);
    assert.ok(compareDecimal(r[5], c.low) >= 0 && compareDecimal(r[5], c.high) <= 0, 'vwap within the range');
  }
  // the open row: half a day of the source candle's trades
  const today = src.get(open)!;
  const partial = rows.at(-1)!;
  assert.equal(partial[1], today.open);
  assert.ok(partial[7] > 0 && partial[7] < today.trades);
  assert.ok(compareDecimal(partial[6], today.volume) < 0);
  assert.ok(compareDecimal(partial[2], today.high) <= 0 && compareDecimal(partial[3], today.low) >= 0);

  const since = (await get(`/OHLC?pair=XBTUSD&interval=1440&since=${open - 3 * D}`)).json();
  assert.deepEqual(
    (since.result.XXBTZUSD as Row[]).map((r) => r[0]),
    [open - 2 * D, open - D, open],
  );
});

test('OHLC: the open row grows with now and is flat at the last close when nothing traded yet', async () => {
  const hour = Math.floor(DEFAULT_STANDIN_NOW / H) * H - 5 * H;
  const src = standin.sourceCandles('XBTUSD', 60).find((c) => c.time === hour)!;
  const counts: number[] = [];
  for (const offset of [1, 900, 1800, 3599]) {
    standin.setNow(hour + offset);
    const rows = (await get('/OHLC?pair=XBTUSD&interval=60')).json().result.XXBTZUSD as Row[];
    counts.push(rows.at(-1)![7]);
  }
  assert.ok(counts[0]! <= counts[1]! && counts[1]! < counts[2]! && counts[2]! < counts[3]!, counts.join(','));
  assert.ok(counts[3]! <= src.trades);

  // after the last hourly candle of the file, the open hour has no trades
  const lastSource = standin.sourceCandles('XBTUSD', 60).at(-1)!;
  standin.setNow(lastSource.time + 2 * H + 60);
  const rows = (await get('/OHLC?pair=XBTUSD&interval=60')).json().result.XXBTZUSD as Row[];
  assert.deepEqual(rows.at(-1), [lastSource.time + 2 * H, lastSource.close, lastSource.close, lastSource.close, lastSource.close, lastSource.close, '0.00000000', 0]);
});

test('errors answer like Kraken', async () => {
  assert.equal((await get('/OHLC?pair=NOPE&interval=60')).text, '{"error":["EQuery:Unknown asset pair"]}');
  assert.equal((await get('/Trades?pair=NOPE')).text, '{"error":["EQuery:Unknown asset pair"]}');
  assert.equal((await get('/Ticker?pair=XBTUSD,NOPE')).text, '{"error":["EQuery:Unknown asset pair"]}');
  assert.equal((await get('/OHLC?interval=60')).text, '{"error":["EGeneral:Invalid arguments"]}');
  assert.equal((await get('/OHLC?pair=XBTUSD&interval=7')).text, '{"error":["EGeneral:Invalid arguments"]}');
  assert.equal((await get('/Trades?pair=XBTUSD&since=abc')).text, '{"error":["EGeneral:Invalid arguments"]}');
  const unknown = await get('/Balance');
  assert.equal(unknown.status, 404);
});

test('faults: each answers as configured, for as many requests as asked, then things recover', async () => {
  standin.setFault({ kind: 'rate-limit', times: 2 });
  assert.equal((await get('/Ticker?pair=XBTUSD')).text, '{"error":["EAPI:Rate limit exceeded"]}');
  assert.equal((await get('/AssetPairs')).text, '{"error":["EAPI:Rate limit exceeded"]}');
  assert.equal((await get('/Ticker?pair=XBTUSD')).json().error.length, 0);

  standin.setFault({ kind: 'service-unavailable' });
  assert.equal((await get('/Ticker?pair=XBTUSD')).text, '{"error":["EService:Unavailable"]}');
  standin.setFault({ kind: 'service-unavailable', message: 'EService:Busy' });
  assert.equal((await get('/Ticker?pair=XBTUSD')).text, '{"error":["EService:Busy"]}');

  standin.setFault({ kind: 'http-error', status: 520 });
  assert.equal((await get('/Ticker?pair=XBTUSD')).status, 520);

  standin.setFault({ kind: 'garbage' });
  const g = await get('/Ticker?pair=XBTUSD');
  assert.equal(g.status, 200);
  assert.throws(() => g.json());

  standin.setFault({ kind: 'disconnect' });
  await assert.rejects(get('/Ticker?pair=XBTUSD'));

  standin.setFault({ kind: 'slow', delayMs: 200 });
  const t0 = performance.now();
  assert.equal((await get('/Ticker?pair=XBTUSD')).status, 200);
  assert.ok(performance.now() - t0 >= 190);

  // only the listed endpoints are affected
  standin.setFault({ kind: 'rate-limit', times: 1, endpoints: ['OHLC'] });
  assert.equal((await get('/Ticker?pair=XBTUSD')).json().error.length, 0);
  assert.equal((await get('/OHLC?pair=XBTUSD&interval=60')).json().error[0], 'EAPI:Rate limit exceeded');

  const kinds = standin.requests.map((r) => r.fault ?? '-');
  assert.deepEqual(kinds, ['rate-limit', 'rate-limit', '-', 'service-unavailable', 'service-unavailable', 'http-error', 'garbage', 'disconnect', 'slow', '-', 'rate-limit']);
});

test('missing candles disappear from OHLC and Trades until faults are cleared', async () => {
  const hour = Math.floor(DEFAULT_STANDIN_NOW / H) * H - 3 * H;
  standin.setFault({ kind: 'missing-candles', pair: 'XBT/USD', intervalMinutes: 60, times: [hour] });
  const rows = (await get('/OHLC?pair=XBTUSD&interval=60')).json().result.XXBTZUSD as Row[];
  assert.ok(!rows.some((r) => r[0] === hour));
  const trades = (await get(`/Trades?pair=XBTUSD&since=${hour - 1}`)).json().result.XXBTZUSD as [string, string, number][];
  assert.ok(trades[0]![2] >= hour + H);
  standin.setFault(null);
  const back = (await get('/OHLC?pair=XBTUSD&interval=60')).json().result.XXBTZUSD as Row[];
  assert.ok(back.some((r) => r[0] === hour));
});

test('Trades: count, seconds or nanoseconds for since, Kraken row shape', async () => {
  const hour = Math.floor(DEFAULT_STANDIN_NOW / H) * H - 4 * H;
  const bySeconds = (await get(`/Trades?pair=XBTUSD&since=${hour}&count=5`)).json();
  const byNanos = (await get(`/Trades?pair=XBTUSD&since=${hour}000000000&count=5`)).json();
  assert.deepEqual(bySeconds, byNanos);
  const rows = bySeconds.result.XXBTZUSD as unknown[][];
  assert.equal(rows.length, 5);
  for (const r of rows) {
    assert.equal(r.length, 7);
    assert.match(r[0] as string, /^\d+(\.\d+)?$/);
    assert.match(r[1] as string, /^\d+\.\d{8,}$/);
    assert.ok((r[2] as number) > hour && (r[2] as number) < hour + H);
    assert.ok(['b', 's'].includes(r[3] as string) && ['m', 'l'].includes(r[4] as string));
    assert.equal(typeof r[6], 'number');
  }
  assert.match(bySeconds.result.last, /^\d{19}$/);
  const next = (await get(`/Trades?pair=XBTUSD&since=${bySeconds.result.last}&count=1`)).json().result.XXBTZUSD as unknown[][];
  assert.ok((next[0]![6] as number) > (rows[4]![6] as number), 'since is exclusive');
  assert.equal((await get('/Trades?pair=XBTUSD&count=1001')).json().error[0], 'EGeneral:Invalid arguments');
});

test('synthetic trades rebuild every sampled source candle exactly (all three files)', () => {
  for (const [file, interval] of [
    ['data/bundled/XBTUSD_1440.csv', 1440],
    ['data/bundled/ETHUSD_1440.csv', 1440],
    ['test/fixtures/kraken/XBTUSD_60.csv', 60],
  ] as const) {
    const parsed = parseCandleCsv(readProjectFile(file), { intervalMinutes: interval });
    assert.ok(parsed.ok);
    // every candle with few trades (where the edge cases live) and a stride through the rest
    const sample = parsed.candles.filter((c, i) => c.trades < 12 || (i % 101 === 0 && c.trades < 5000));
    let checked = 0;
    for (const c of sample) {
      const trades = synthesizeTrades(c, interval);
      const [got] = aggregateTrades(trades, { intervalMinutes: interval, now: c.time + interval * 60 });
      assert.ok(got, `${file} ${c.time}`);
      const { trades: n, ...rest } = norm(got) as { trades: number };
      const { trades: want, ...wantRest } = norm(c) as { trades: number };
      assert.deepEqual(rest, wantRest, `${file} ${c.time}`);
      assert.ok(n === want || (want < 4 && n <= 4), `${file} ${c.time}: ${n} trades for ${want}`);
      checked++;
    }
    assert.ok(checked > 30, file);
  }
});

test('any pair: a new pair and a header CSV series serve OHLC and Trades', async () => {
  const other = await startKrakenStandin({
    defaults: false,
    now: Date.UTC(2024, 0, 10, 6) / 1000,
    pairs: [{ key: 'XXRPZUSD', altname: 'XRPUSD', wsname: 'XRP/USD', base: 'XXRP', quote: 'ZUSD', pair_decimals: 5 }],
    series: [
      {
        pair: 'XRP/USD',
        intervalMinutes: 1440,
        csv: [
          'date,close,open,high,low,volume,trades',
          '2024-01-09,0.5711,0.5800,0.5902,0.5600,1000000.5,3000',
          '2024-01-08,0.5800,0.5700,0.5850,0.5650,900000,2500',
          // more trades than volume units at 8 digits: the stand-in adds digits
          '2024-01-07,0.5700,0.6000,0.6010,0.5690,0.00000003,5',
        ].join('\n'),
      },
    ],
  });
  try {
    const { client } = testClient(other);
    const pairs = await client.assetPairs();
    assert.deepEqual(
      pairs.map((p) => p.key),
      ['XXRPZUSD'],
    );
    const ohlc = await client.ohlc('xrp/usd', 1440);
    assert.equal(ohlc.pair, 'XXRPZUSD');
    assert.deepEqual(
      ohlc.candles.map((c) => [c.time, c.close]),
      [
        [Date.UTC(2024, 0, 7) / 1000, '0.5700'],
        [Date.UTC(2024, 0, 8) / 1000, '0.5800'],
        [Date.UTC(2024, 0, 9) / 1000, '0.5711'],
      ],
    );
    assert.equal(ohlc.openCandle?.close, '0.5711', 'nothing traded on the 10th: flat at the last close');
    const rebuilt = await candlesFromTrades(client, 'XRPUSD', { intervalMinutes: 1440, from: Date.UTC(2024, 0, 7) / 1000, to: Date.UTC(2024, 0, 10) / 1000, now: other.now() });
    assert.deepEqual(
      rebuilt.candles.map((c) => norm(c, true)),
      ohlc.candles.map((c) => norm(c, true)),
    );
  } finally {
    await other.close();
  }
});

test('Ticker away from the recording is built from the series', async () => {
  const { client } = testClient(standin);
  const t = await client.ticker('XBTUSD');
  const hourly = standin.sourceCandles('XBTUSD', 60);
  const day = Math.floor(DEFAULT_STANDIN_NOW / D) * D;
  assert.equal(t.open, hourly.find((c) => c.time === day)!.open);
  assert.ok(t.trades.today > 0 && t.trades.last24h >= t.trades.today);
  assert.ok(compareDecimal(t.low.today, t.high.today) <= 0);
});
