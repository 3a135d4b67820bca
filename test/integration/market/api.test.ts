/**
 * /api/crypto against the stand-in: the original's paths, shapes and status codes, the added
 * parameters (interval, cursor, CSV, exact), names, roles and errors.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDecimal } from '../../../src/modules/market/candles/index.js';
import { startMarketWorld, ts, type MarketWorld } from './setup.js';

describe('/api/crypto on the Kraken stand-in', () => {
  let w: MarketWorld;
  let btcId: number;
  before(async () => {
    w = await startMarketWorld();
  });
  after(async () => {
    await w?.stop();
  });

  test('every /api/crypto route needs a signed-in user', async () => {
    for (const path of ['/api/crypto/assets', '/api/crypto/kraken_assets', '/api/crypto/asset_history/XBTUSD', '/api/crypto/asset_latest/XBTUSD', '/api/crypto/ticker/XBTUSD']) {
      const r = await w.app.fetch(path);
      assert.equal(r.status, 401, path);
    }
  });

  test('GET /kraken_assets lists the catalogue in the original shape, searchable with ?q=', async () => {
    const all = await w.get('/api/crypto/kraken_assets');
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.body));
    assert.equal(all.body.length, 10);
    const btc = all.body.find((p: any) => p.asset === 'XXBTZUSD');
    assert.deepEqual(
      { asset: btc.asset, symbol: btc.symbol, exchange: btc.exchange, base: btc.base, quote: btc.quote, status: btc.status },
      { asset: 'XXBTZUSD', symbol: 'XBTUSD', exchange: 'kraken', base: 'XXBT', quote: 'ZUSD', status: 'online' },
    );
    assert.equal(all.headers.get('x-catalogue-source'), 'kraken');
    const eth = await w.get('/api/crypto/kraken_assets?q=eth');
    assert.deepEqual(eth.body.map((p: any) => p.symbol), ['ETHUSD']);
    const alias = await w.get('/api/crypto/kraken_assets?q=BTC/USD');
    assert.deepEqual(alias.body.map((p: any) => p.symbol), ['XBTUSD']);
  });

  test('the catalogue is cached: a second read does not call Kraken', async () => {
    const before = w.kraken.requests.filter((r) => r.endpoint === 'AssetPairs').length;
    await w.get('/api/crypto/kraken_assets');
    await w.get('/api/crypto/kraken_assets?q=sol');
    assert.equal(w.kraken.requests.filter((r) => r.endpoint === 'AssetPairs').length, before);
  });

  test('POST /assets: a user gets 403, an unknown pair 422, a bad exchange 422', async () => {
    const asUser = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD' }, w.user);
    assert.equal(asUser.status, 403);
    const unknown = await w.send('POST', '/api/crypto/assets', { asset: 'NOPEUSD', symbol: 'NOPEUSD', exchange: 'kraken' });
    assert.equal(unknown.status, 422);
    assert.match(unknown.body.error.message, /Kraken lists no pair named "NOPEUSD"/);
    const exchange = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', exchange: 'binance' });
    assert.equal(exchange.status, 422);
    const mismatch = await w.send('POST', '/api/crypto/assets', { asset: 'XXBTZUSD', symbol: 'ETHUSD' });
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.body.error.message, /different pairs/);
    const empty = await w.send('POST', '/api/crypto/assets', {});
    assert.equal(empty.status, 422);
  });

  test("POST /assets with the original's {asset, symbol, exchange} answers 201 {id, asset, symbol, exchange} and fills the OHLC window", async () => {
    const r = await w.send('POST', '/api/crypto/assets', { asset: 'XXBTZUSD', symbol: 'XBTUSD', exchange: 'kraken' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(typeof r.body.id, 'number');
    assert.equal(r.body.asset, 'XXBTZUSD');
    assert.equal(r.body.symbol, 'XBTUSD');
    assert.equal(r.body.exchange, 'kraken');
    btcId = r.body.id;
    assert.equal(r.body.backfill.backfills.length, 2);
    assert.equal(r.body.backfill.estimate.tradesCalls, 0);
    for (const b of r.body.backfill.backfills) {
      const done = await w.waitBackfill(b.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.percent, 100);
    }
    const again = await w.send('POST', '/api/crypto/assets', { pair: 'XBT/USD' });
    assert.equal(again.status, 409);
  });

  test('GET /assets lists the tracked pairs as an array of {id, asset, symbol, exchange}', async () => {
    const r = await w.get('/api/crypto/assets');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.map((a: any) => ({ id: a.id, asset: a.asset, symbol: a.symbol, exchange: a.exchange })),
      [{ id: btcId, asset: 'XXBTZUSD', symbol: 'XBTUSD', exchange: 'kraken' }],
    );
    const details = await w.get('/api/crypto/assets?details=true');
    const daily = details.body[0].candles.find((c: any) => c.interval === '1d');
    assert.equal(daily.count, 719);
  });

  test('GET /asset_history: daily candles in the original shape, equal to the source, by any name of the pair', async () => {
    const source = w.kraken.sourceCandles('XBTUSD', 1440);
    const byTime = new Map(source.map((c) => [c.time, c]));
    for (const name of ['XXBTZUSD', 'XBTUSD', encodeURIComponent('XBT/USD'), 'btc-usd']) {
      const r = await w.get(`/api/crypto/asset_history/${name}?start_date=2022-12-01T00:00:00&end_date=2022-12-31T00:00:00`);
      assert.equal(r.status, 200, name);
      assert.equal(r.body.length, 31, name);
      for (const c of r.body) {
        assert.deepEqual(Object.keys(c).slice(0, 2), ['asset', 'symbol']);
        for (const k of ['asset', 'dtutc', 'open', 'high', 'low', 'close', 'volume', 'trades']) assert.ok(k in c, k);
        assert.equal(c.asset, 'XXBTZUSD');
        assert.equal(typeof c.close, 'number');
        const s = byTime.get(Date.parse(c.dtutc) / 1000)!;
        assert.equal(c.close, Number(s.close));
        assert.equal(c.volume, Number(s.volume));
        assert.equal(c.trades, s.trades);
      }
      assert.equal(r.body[0].dtutc, '2022-12-01T00:00:00.000Z');
      assert.equal(r.body[30].dtutc, '2022-12-31T00:00:00.000Z');
    }
  });

  test('?exact=true gives the decimals as stored, digit for digit', async () => {
    const r = await w.get('/api/crypto/asset_history/XBTUSD?from=2022-12-01&to=2022-12-03&exact=true');
    const source = new Map(w.kraken.sourceCandles('XBTUSD', 1440).map((c) => [c.time, c]));
    assert.equal(r.body.length, 3);
    for (const c of r.body) {
      const s = source.get(c.time)!;
      assert.equal(typeof c.open, 'string');
      assert.equal(normalizeDecimal(c.open), normalizeDecimal(s.open));
      assert.equal(normalizeDecimal(c.volume), normalizeDecimal(s.volume));
    }
  });

  test('limit and the cursor in the Link header walk a range page by page without overlap', async () => {
    const seen: number[] = [];
    let url: string | null = '/api/crypto/asset_history/XBTUSD?interval=1h&start_date=2023-01-01&end_date=2023-01-03T23:00:00&limit=20';
    let pages = 0;
    while (url) {
      const r = await w.get(url);
      assert.equal(r.status, 200);
      seen.push(...r.body.map((c: any) => c.time));
      const link = r.headers.get('link');
      const m = link ? /<([^>]+)>; rel="next"/.exec(link) : null;
      url = m ? m[1]! : null;
      pages++;
      assert.ok(pages < 20);
    }
    const expected = w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time >= ts('2023-01-01') && c.time <= ts('2023-01-03T23:00:00')).map((c) => c.time);
    assert.deepEqual(seen, expected);
    assert.ok(pages >= 4);
  });

  test('without a start date the history is the newest `limit` candles, oldest first', async () => {
    const r = await w.get('/api/crypto/asset_history/XBTUSD?limit=5');
    assert.equal(r.body.length, 5);
    assert.equal(r.body[4].dtutc, '2023-01-06T00:00:00.000Z');
    assert.ok(r.body[0].time < r.body[4].time);
  });

  test('CSV with Accept: text/csv or ?format=csv', async () => {
    const a = await w.app.fetch('/api/crypto/asset_history/XBTUSD?from=2022-12-01&to=2022-12-02', { token: w.user.token, headers: { accept: 'text/csv' } });
    assert.equal(a.status, 200);
    assert.match(a.headers.get('content-type') ?? '', /text\/csv/);
    const lines = (await a.text()).trim().split('\n');
    assert.equal(lines[0], 'dtutc,time,open,high,low,close,volume,trades,vwap,anomaly,anomaly_reason');
    assert.equal(lines.length, 3);
    const b = await w.get('/api/crypto/asset_history/XBTUSD?from=2022-12-01&to=2022-12-02&format=csv');
    assert.equal(b.body, lines.join('\n') + '\n');
  });

  test('GET /asset_latest: the latest `limit` closed candles, newest first (default 14)', async () => {
    const r = await w.get('/api/crypto/asset_latest/XBTUSD');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 14);
    assert.equal(r.body[0].dtutc, '2023-01-06T00:00:00.000Z');
    assert.equal(r.body[13].dtutc, '2022-12-24T00:00:00.000Z');
    const hourly = await w.get('/api/crypto/asset_latest/XBTUSD?interval=1h&limit=3');
    // now is 09:30: the 09:00 candle is still open and never stored
    assert.deepEqual(hourly.body.map((c: any) => c.dtutc), ['2023-01-07T08:00:00.000Z', '2023-01-07T07:00:00.000Z', '2023-01-07T06:00:00.000Z']);
  });

  test('unknown pair is 404, unknown interval 422, bad dates and limits 422, each with a message', async () => {
    const a = await w.get('/api/crypto/asset_history/NOPE');
    assert.equal(a.status, 404);
    assert.match(a.body.error.message, /No stored pair is named "NOPE"/);
    const b = await w.get('/api/crypto/asset_history/XBTUSD?interval=3m');
    assert.equal(b.status, 422);
    assert.match(b.body.error.message, /unknown interval/);
    const c = await w.get('/api/crypto/asset_history/XBTUSD?start_date=yesterday');
    assert.equal(c.status, 422);
    const d = await w.get('/api/crypto/asset_history/XBTUSD?limit=1001');
    assert.equal(d.status, 422);
    const e = await w.get('/api/crypto/asset_latest/ETHUSD');
    assert.equal(e.status, 404);
  });

  test('GET /ticker answers from Kraken, and from the stored candles when Kraken fails', async () => {
    const live = await w.get('/api/crypto/ticker/XBTUSD');
    assert.equal(live.status, 200);
    assert.equal(live.body.source, 'kraken');
    assert.equal(live.body.asset, 'XXBTZUSD');
    assert.equal(typeof live.body.price, 'number');
    // the change is measured against the stored hourly close of 24 h before (08:00 the day before closed at 09:00)
    const dayAgo = w.kraken.sourceCandles('XBTUSD', 60).find((c) => c.time === ts('2023-01-06T08:00:00'))!;
    assert.equal(live.body.change_basis, 'close 24h ago');
    assert.equal(live.body.change_24h, live.body.price - Number(dayAgo.close));
    w.kraken.setFault({ kind: 'kraken-error', error: 'EGeneral:Permission denied', times: 1 });
    const stored = await w.get('/api/crypto/ticker/XBTUSD');
    assert.equal(stored.status, 200);
    assert.equal(stored.body.source, 'stored');
    const last = w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time < ts('2023-01-07T09:00:00')).at(-1)!;
    assert.equal(stored.body.price, Number(last.close));
    assert.equal(typeof stored.body.change_24h_pct, 'number');
  });

  test('gaps are reported, not invented', async () => {
    const r = await w.get('/api/crypto/assets/XBTUSD/gaps?interval=1h');
    assert.equal(r.status, 200);
    const times = w.kraken.sourceCandles('XBTUSD', 60).map((c) => c.time).filter((t) => t >= ts('2022-12-08T10:00:00') && t < ts('2023-01-07T09:00:00'));
    const expectedMissing = (ts('2023-01-07T09:00:00') - times[0]!) / 3600 - times.length;
    assert.equal(r.body.missing, expectedMissing);
    assert.equal(r.body.stored, times.length);
  });

  test('DELETE /assets/:id: 403 for users, 204 for admins, the pair leaves the list, ?purge=true deletes candles', async () => {
    assert.equal((await w.send('DELETE', `/api/crypto/assets/${btcId}`, undefined, w.user)).status, 403);
    const r = await w.send('DELETE', `/api/crypto/assets/${btcId}`, undefined);
    assert.equal(r.status, 204);
    assert.deepEqual((await w.get('/api/crypto/assets')).body, []);
    // history of an untracked pair stays readable
    assert.equal((await w.get('/api/crypto/asset_latest/XBTUSD?limit=1')).body.length, 1);
    const p = await w.send('DELETE', `/api/crypto/assets/${btcId}?purge=true`, undefined);
    assert.equal(p.status, 204);
    assert.equal((await w.get('/api/crypto/asset_latest/XBTUSD?limit=1')).body.length, 0);
    assert.equal((await w.send('DELETE', '/api/crypto/assets/999999', undefined)).status, 404);
    // and it can be tracked again
    const again = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', backfill: false });
    assert.equal(again.status, 201);
    assert.equal(again.body.id, btcId);
  });
});
