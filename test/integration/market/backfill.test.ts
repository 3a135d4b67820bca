/**
 * Backfill and live ingestion against the stand-in, which serves the real hourly BTC series
 * (OHLC: the 720 most recent intervals; Trades: exact trades rebuilt from the candles).
 * "now" is 2016-04-15 10:30 UTC: hourly OHLC reaches back to 2016-03-16 11:00, so anything
 * older must be rebuilt from Trades.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertEqualsSource, callsSince } from './compare.js';
import { startMarketWorld, ts, type MarketWorld } from './setup.js';
import type { EventMap } from '../../../src/platform/events.js';

const NOW = ts('2016-04-15T10:30:00');
const FROM = ts('2016-02-01');

describe('backfill beyond the OHLC window, then live ingestion', () => {
  let w: MarketWorld;
  const stored: EventMap['candles.stored'][] = [];
  let firstRunTradesCalls = 0;
  before(async () => {
    w = await startMarketWorld({ standin: { now: NOW } });
    w.app.running.app.events.on('candles.stored', (e) => {
      stored.push(e);
    });
    const r = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', backfill: false });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.backfill, null);
  });
  after(async () => {
    await w?.stop();
  });

  test('the estimate shows the cost first: calls and time for the Trades part', async () => {
    const r = await w.get('/api/crypto/assets/XBTUSD/backfill/estimate?from=2016-02-01&interval=1h');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.ohlcCalls, 1);
    assert.ok(r.body.tradesCalls > 0);
    assert.equal(r.body.estimatedCalls, r.body.ohlcCalls + r.body.tradesCalls);
    assert.equal(typeof r.body.estimatedSeconds, 'number');
    assert.equal(r.body.basis, 'kraken samples');
    assert.equal(r.body.needsConfirmation, false);
    assert.equal(r.body.intervals[0].ohlcWindowStart, ts('2016-03-16T11:00:00'));
    // inside the window nothing needs Trades
    const near = await w.get('/api/crypto/assets/XBTUSD/backfill/estimate?from=2016-04-01&interval=1h');
    assert.equal(near.body.tradesCalls, 0);
  });

  test('a backfill reaching further back than the OHLC window equals the source data exactly', async () => {
    const before = w.kraken.requests.length;
    const r = await w.send('POST', '/api/crypto/assets/XBTUSD/backfill', { from: '2016-02-01', intervals: ['1h', '1d'] });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.backfills.length, 2);
    for (const b of r.body.backfills) {
      const done = await w.waitBackfill(b.id);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.equal(done.percent, 100);
      assert.ok(done.candles_added > 0);
    }
    const hourly = await assertEqualsSource(w, 'XBTUSD', 60, FROM, ts('2016-04-15T10:00:00'));
    const daily = await assertEqualsSource(w, 'XBTUSD', 1440, FROM, ts('2016-04-15'));
    assert.ok(hourly > 1700, `${hourly} hourly candles`);
    assert.equal(daily, 74);
    const candles = await w.market.service.getExactCandles('XBTUSD', 60, FROM, ts('2016-04-15T10:00:00'));
    assert.ok(candles.filter((c) => c.source === 'trades').every((c) => c.time < ts('2016-03-16T11:00:00')));
    assert.ok(candles.filter((c) => c.source === 'kraken').every((c) => c.time >= ts('2016-03-16T11:00:00')));
    assert.ok(candles.some((c) => c.source === 'trades'));
    firstRunTradesCalls = callsSince(w, before, 'Trades');
    assert.ok(firstRunTradesCalls > 10, `${firstRunTradesCalls} Trades calls`);
    // one Trades pass served both intervals: no daily candle came from Trades (all in the daily window)
    assert.ok((await w.market.service.getExactCandles('XBTUSD', 1440, FROM, NOW)).every((c) => c.source === 'kraken'));
  });

  test('the backfill is idempotent: running it again adds nothing and fetches only what is missing', async () => {
    const before = w.kraken.requests.length;
    const r = await w.send('POST', '/api/crypto/assets/XBTUSD/backfill', { from: '2016-02-01', intervals: ['1h', '1d'] });
    assert.equal(r.status, 202);
    for (const b of r.body.backfills) {
      const done = await w.waitBackfill(b.id);
      assert.equal(done.status, 'succeeded');
      assert.equal(done.candles_added, 0);
    }
    const again = callsSince(w, before, 'Trades');
    assert.ok(again < firstRunTradesCalls, `second run: ${again} Trades calls, first: ${firstRunTradesCalls}`);
    await assertEqualsSource(w, 'XBTUSD', 60, FROM, ts('2016-04-15T10:00:00'));
  });

  test('advancing "now" and ingesting adds exactly the newly closed candles; a second run adds nothing', async () => {
    const newest = (await w.market.service.latestCandle('XBTUSD', 60))!.time;
    assert.equal(newest, ts('2016-04-15T09:00:00'));
    w.advance(5 * 3600); // 15:30
    stored.length = 0;
    const first = await w.market.ingest.runAll();
    const expected = w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time > newest && c.time < ts('2016-04-15T15:00:00')).length;
    const h1 = first.pairs.find((p) => p.interval === '1h')!;
    const d1 = first.pairs.find((p) => p.interval === '1d')!;
    assert.equal(h1.added, expected);
    assert.equal(d1.added, 0);
    assert.equal(h1.upTo, ts('2016-04-15T14:00:00'));
    await w.app.running.app.events.drain();
    assert.deepEqual(
      stored.map((e) => ({ altname: e.altname, interval: e.interval, count: e.count, upTo: e.upTo, source: e.source })),
      [{ altname: 'XBTUSD', interval: 60, count: expected, upTo: ts('2016-04-15T14:00:00'), source: 'kraken' }],
    );
    const second = await w.market.ingest.runAll();
    assert.equal(second.added, 0);
    // the next day: one daily candle closes
    w.advance(10 * 3600); // 2016-04-16 01:30
    const third = await w.market.ingest.runAll();
    assert.equal(third.pairs.find((p) => p.interval === '1d')!.added, 1);
    await assertEqualsSource(w, 'XBTUSD', 60, FROM, ts('2016-04-16T01:00:00'));
    await assertEqualsSource(w, 'XBTUSD', 1440, FROM, ts('2016-04-16'));
  });

  test('the ingest job records its runs; the metrics count the stored candles', async () => {
    const scheduler = w.app.running.app.services.scheduler as any;
    w.advance(3600);
    const run = await scheduler.jobs.launch('ingest', {}, { trigger: 'manual', wait: true });
    assert.equal(run.status, 'succeeded');
    const runs = await w.get('/api/crypto/ingest_runs?asset=XBTUSD');
    assert.equal(runs.status, 200);
    const mine = runs.body.filter((r: any) => r.job_run_id === run.runId);
    assert.equal(mine.length, 2);
    assert.ok(mine.every((r: any) => r.status === 'succeeded'));
    assert.equal(mine.find((r: any) => r.interval === '1h').candles_added, 1);
    const metrics = await w.app.running.app.metrics.registry.getSingleMetricAsString('candlecast_candles_stored_total');
    assert.match(metrics, /candlecast_candles_stored_total\{pair="XBTUSD",interval="1h",source="trades"\} \d+/);
  });

  test('a downtime longer than the OHLC window is healed from Trades', async () => {
    const newest = (await w.market.service.latestCandle('XBTUSD', 60))!.time;
    w.advance(40 * 86400);
    const r = await w.market.ingest.runAll();
    const h = r.pairs.find((p) => p.interval === '1h')!;
    assert.ok(h.heal, JSON.stringify(h));
    assert.equal(h.heal.from, newest + 3600);
    assert.equal(h.heal.status, 'queued');
    assert.equal(r.pairs.find((p) => p.interval === '1d')!.heal, undefined);
    const gapsBefore = await w.get('/api/crypto/assets/XBTUSD/gaps?interval=1h&from=2016-04-16');
    assert.ok(gapsBefore.body.missing > 200);
    for (const id of h.heal.backfillIds) assert.equal((await w.waitBackfill(id)).status, 'succeeded');
    const openHour = Math.floor(w.kraken.now() / 3600) * 3600;
    await assertEqualsSource(w, 'XBTUSD', 60, FROM, openHour);
    await assertEqualsSource(w, 'XBTUSD', 1440, FROM, Math.floor(w.kraken.now() / 86400) * 86400);
    // a second ingest finds no hole any more
    const again = await w.market.ingest.runAll();
    assert.equal(again.added, 0);
    assert.ok(again.pairs.every((p) => !p.heal));
  });
});
