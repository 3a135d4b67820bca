/**
 * Every fault the stand-in can produce leaves the database consistent, and the run either
 * completes after retries or fails with a visible error (the ingest run row, the error it
 * throws). Hourly BTC, "now" 2016-04-15 10:30 UTC; two retries per call.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { IngestFailedError } from '../../../src/modules/market/index.js';
import type { StandinFault } from '../../support/kraken-standin.js';
import { assertEqualsSource } from './compare.js';
import { startMarketWorld, ts, type MarketWorld } from './setup.js';

const NOW = ts('2016-04-15T10:30:00');
const WINDOW_START = ts('2016-03-16T11:00:00');

describe('Kraken faults during ingest and backfill', () => {
  let w: MarketWorld;
  const openHour = () => Math.floor(w.kraken.now() / 3600) * 3600;
  const newest = async () => (await w.market.service.latestCandle('XBTUSD', 60))!.time;

  before(async () => {
    w = await startMarketWorld({ standin: { now: NOW }, env: { KRAKEN_MAX_RETRIES: '2' } });
    const r = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', intervals: ['1h'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await w.waitBackfill(r.body.backfill.backfills[0].id)).status, 'succeeded');
    await assertEqualsSource(w, 'XBTUSD', 60, WINDOW_START, openHour());
  });
  after(async () => {
    await w?.stop();
  });

  const transient: [string, Exclude<StandinFault, { kind: 'missing-candles' }>][] = [
    ['rate limit', { kind: 'rate-limit', times: 2 }],
    ['EService:Unavailable', { kind: 'service-unavailable', times: 2 }],
    ['EService:Busy', { kind: 'service-unavailable', message: 'EService:Busy', times: 2 }],
    ['HTTP 502 from a CDN', { kind: 'http-error', status: 502, times: 2 }],
    ['HTTP 503', { kind: 'http-error', status: 503, times: 1 }],
    ['a body that is not JSON', { kind: 'garbage', times: 2 }],
    ['a dropped connection', { kind: 'disconnect', times: 2 }],
    ['an answer slower than the timeout', { kind: 'slow', delayMs: 2500, times: 1 }],
  ];
  for (const [name, fault] of transient) {
    test(`${name}: ingest completes after retries and adds exactly the new candles`, async () => {
      const before = await newest();
      w.advance(3600);
      const mark = w.kraken.requests.length;
      w.kraken.setFault({ ...fault, endpoints: ['OHLC'] });
      const r = await w.market.ingest.runAll();
      const faulted = w.kraken.requests.slice(mark).filter((q) => q.fault === fault.kind).length;
      assert.equal(faulted, fault.times, `the stand-in answered ${faulted} times with ${fault.kind}`);
      const expected = w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time > before && c.time < openHour()).length;
      assert.equal(r.added, expected);
      await assertEqualsSource(w, 'XBTUSD', 60, WINDOW_START, openHour());
    });
  }

  test('a fault that outlasts the retries fails the ingest visibly and changes nothing; the next run catches up', async () => {
    const before = await newest();
    w.advance(2 * 3600);
    w.kraken.setFault({ kind: 'rate-limit', times: 3, endpoints: ['OHLC'] });
    await assert.rejects(w.market.ingest.runAll(), (err: unknown) => {
      assert.ok(err instanceof IngestFailedError);
      assert.match(err.message, /XBTUSD 1h: .*Rate limit exceeded/);
      return true;
    });
    assert.equal(await newest(), before);
    const runs = (await w.get('/api/crypto/ingest_runs?asset=XBTUSD')).body;
    assert.equal(runs[0].status, 'failed');
    assert.match(runs[0].error, /Rate limit exceeded/);
    const r = await w.market.ingest.runAll();
    assert.equal(r.added, w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time > before && c.time < openHour()).length);
    await assertEqualsSource(w, 'XBTUSD', 60, WINDOW_START, openHour());
  });

  test('an error that no retry can fix (invalid arguments, an unexpected shape) fails at once', async () => {
    w.advance(3600);
    const before = await newest();
    let mark = w.kraken.requests.length;
    w.kraken.setFault({ kind: 'kraken-error', error: 'EGeneral:Invalid arguments', times: 5, endpoints: ['OHLC'] });
    await assert.rejects(w.market.ingest.runAll(), /Invalid arguments/);
    assert.equal(w.kraken.requests.slice(mark).filter((q) => q.endpoint === 'OHLC').length, 1);
    w.kraken.setFault(null);
    mark = w.kraken.requests.length;
    w.kraken.setFault({ kind: 'garbage', body: '{"error":[],"result":{"XXBTZUSD":[[1,"a"]],"last":1}}', times: 1, endpoints: ['OHLC'] });
    await assert.rejects(w.market.ingest.runAll(), /unexpected shape/);
    assert.equal(w.kraken.requests.slice(mark).filter((q) => q.endpoint === 'OHLC').length, 1);
    assert.equal(await newest(), before);
    assert.ok((await w.market.ingest.runAll()).added >= 0);
    await assertEqualsSource(w, 'XBTUSD', 60, WINDOW_START, openHour());
  });

  test('candles missing from Kraken are reported as gaps, not invented; a backfill fills them once they exist', async () => {
    const start = openHour();
    const hidden = [start + 3600, start + 2 * 3600].filter((t) => w.kraken.sourceCandles('XBTUSD', 60).some((c) => c.time === t));
    assert.equal(hidden.length, 2, 'the source has both hours');
    w.kraken.setFault({ kind: 'missing-candles', pair: 'XBTUSD', intervalMinutes: 60, times: hidden });
    w.advance(5 * 3600);
    const r = await w.market.ingest.runAll();
    const expected = w.kraken.sourceCandles('XBTUSD', 60).filter((c) => c.time >= start && c.time < openHour()).length;
    assert.equal(r.added, expected - 2);
    const gaps = await w.get(`/api/crypto/assets/XBTUSD/gaps?interval=1h&from=${start}`);
    assert.deepEqual(gaps.body.gaps, [{ from: new Date(hidden[0]! * 1000).toISOString(), to: new Date(hidden[1]! * 1000).toISOString(), missing: 2, kind: 'inner' }]);
    assert.equal((await w.market.ingest.runAll()).added, 0);

    w.kraken.setFault(null);
    const b = await w.send('POST', '/api/crypto/assets/XBTUSD/backfill', { from: new Date(start * 1000).toISOString(), interval: '1h' });
    assert.equal(b.status, 202);
    const done = await w.waitBackfill(b.body.backfills[0].id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.candles_added, 2);
    await assertEqualsSource(w, 'XBTUSD', 60, WINDOW_START, openHour());
  });

  test('a backfill through Trades survives transient faults and ends exact', async () => {
    // the estimate samples Trades once (and caches it): take it first, so the faults hit the run's pages
    assert.equal((await w.get('/api/crypto/assets/XBTUSD/backfill/estimate?from=2016-03-01&interval=1h')).status, 200);
    const mark = w.kraken.requests.length;
    w.kraken.setFault({ kind: 'rate-limit', times: 2, endpoints: ['Trades'] });
    const b = await w.send('POST', '/api/crypto/assets/XBTUSD/backfill', { from: '2016-03-01', interval: '1h' });
    assert.equal(b.status, 202, JSON.stringify(b.body));
    const done = await w.waitBackfill(b.body.backfills[0].id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.ok(done.candles_added > 300);
    const trades = w.kraken.requests.slice(mark).filter((q) => q.endpoint === 'Trades');
    assert.equal(trades.filter((q) => q.fault === 'rate-limit').length, 2);
    assert.ok(trades.length > 5);
    await assertEqualsSource(w, 'XBTUSD', 60, ts('2016-03-01'), openHour());
  });

  test('Kraken unreachable: the catalogue answers from its stored copy', async () => {
    // the memory copy is fresh, so force a refresh that fails
    w.kraken.setFault({ kind: 'http-error', status: 500, times: 10, endpoints: ['AssetPairs'] });
    const r = await w.get('/api/crypto/kraken_assets?refresh=true', w.admin);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 10);
    w.kraken.setFault(null);
  });
});
