/**
 * The Kraken client against the real stand-in over real HTTP: parsing, the open candle, pair
 * names, retries on each transient fault, clear non-retried errors, and pacing.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { FakeClock } from '../../../src/platform/clock.js';
import { UpstreamError } from '../../../src/platform/errors.js';
import { KrakenError, KrakenHttpClient } from '../../../src/modules/market/kraken/index.js';
import { DEFAULT_STANDIN_NOW, RECORDED_NOW, startKrakenStandin, type KrakenStandin, type StandinFault } from '../../support/kraken-standin.js';
import { fakeTime, norm, readProjectFile, requestsTo, testClient } from './market-helpers.js';

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

type OhlcRow = [number, string, string, string, string, string, string, number];

test('AssetPairs: parses every recorded pair with its names and decimals', async () => {
  const { client } = testClient(standin);
  const pairs = await client.assetPairs();
  assert.equal(pairs.length, 10);
  const btc = pairs.find((p) => p.key === 'XXBTZUSD');
  assert.deepEqual(btc, {
    key: 'XXBTZUSD',
    altname: 'XBTUSD',
    wsname: 'XBT/USD',
    base: 'XXBT',
    quote: 'ZUSD',
    pairDecimals: 1,
    lotDecimals: 8,
    costDecimals: 5,
    tickSize: '0.1',
    orderMin: '0.00005',
    status: 'online',
  });
});

test('OHLC: the recorded answer parses to its closed candles, digits intact, open candle dropped', async () => {
  standin.setNow(RECORDED_NOW);
  const { client } = testClient(standin, { clock: new FakeClock(RECORDED_NOW * 1000) });
  const res = await client.ohlc('XBTUSD', 1440);
  const recorded = JSON.parse(readProjectFile('test/fixtures/kraken/api/ohlc_XXBTZUSD_1440.json')) as { result: { XXBTZUSD: OhlcRow[]; last: number } };
  const rows = recorded.result.XXBTZUSD;
  assert.equal(res.pair, 'XXBTZUSD');
  assert.equal(res.last, recorded.result.last);
  assert.equal(res.candles.length, rows.length - 1);
  const toCandle = ([time, open, high, low, close, vwap, volume, trades]: OhlcRow) => ({ time, open, high, low, close, vwap, volume, trades });
  // exact strings, not just equal values: nothing went through a float
  assert.deepEqual(res.candles, rows.slice(0, -1).map(toCandle));
  assert.deepEqual(res.openCandle, toCandle(rows.at(-1)!));
  assert.equal(res.candles.at(-1)!.time, recorded.result.last);
});

test('OHLC: drops the open candle of a live window and keeps every closed one', async () => {
  const { client } = testClient(standin);
  const res = await client.ohlc('XBTUSD', 60);
  const openTime = Math.floor(DEFAULT_STANDIN_NOW / 3600) * 3600;
  assert.equal(res.openCandle?.time, openTime);
  assert.equal(res.last, openTime - 3600);
  assert.equal(res.candles.at(-1)!.time, openTime - 3600);
  const expected = standin.sourceCandles('XBTUSD', 60).filter((c) => c.time >= openTime - 719 * 3600 && c.time < openTime);
  assert.ok(expected.length > 700);
  assert.deepEqual(
    res.candles.map((c) => norm(c)),
    expected.map((c) => norm(c)),
  );
  assert.ok(res.candles.every((c) => c.time + 3600 <= DEFAULT_STANDIN_NOW));
});

test('OHLC: a row Kraken calls committed is still dropped while our clock says its interval runs', async () => {
  // Our clock 30 minutes behind the exchange: the 08:00 hour looks open to us.
  const { client } = testClient(standin, { clock: new FakeClock((DEFAULT_STANDIN_NOW - 3600) * 1000) });
  const res = await client.ohlc('XBTUSD', 60);
  const openTime = Math.floor(DEFAULT_STANDIN_NOW / 3600) * 3600;
  assert.equal(res.last, openTime - 3600);
  assert.equal(res.candles.at(-1)!.time, openTime - 7200);
});

test('OHLC: since trims the window (exclusive), polling with last gives only new candles', async () => {
  const { client } = testClient(standin);
  const first = await client.ohlc('XBTUSD', 60);
  const trimmed = await client.ohlc('XBTUSD', 60, first.last - 3 * 3600);
  assert.deepEqual(
    trimmed.candles.map((c) => c.time),
    [first.last - 2 * 3600, first.last - 3600, first.last],
  );
  standin.advance(3600);
  const { client: later } = testClient(standin);
  const next = await later.ohlc('XBTUSD', 60, first.last);
  assert.deepEqual(
    next.candles.map((c) => c.time),
    [first.last + 3600],
  );
  assert.equal(next.last, first.last + 3600);
});

test('Ticker: parses the recorded answer', async () => {
  standin.setNow(RECORDED_NOW);
  const { client } = testClient(standin);
  const t = await client.ticker('XBT/USD');
  assert.deepEqual(t, {
    pair: 'XXBTZUSD',
    ask: { price: '81416.10000', wholeLotVolume: '1', lotVolume: '1.000' },
    bid: { price: '81416.00000', wholeLotVolume: '2', lotVolume: '2.000' },
    lastTrade: { price: '81412.20000', volume: '0.00046062' },
    volume: { today: '1370.47713512', last24h: '2208.74493042' },
    vwap: { today: '81290.52650', last24h: '81232.38764' },
    trades: { today: 66399, last24h: 93218 },
    low: { today: '80823.70000', last24h: '80823.70000' },
    high: { today: '81915.00000', last24h: '81915.00000' },
    open: '80878.10000',
  });
});

test('pair names: key, altname, wsname and BTC aliases resolve; Kraken gets the altname', async () => {
  const { client } = testClient(standin);
  for (const name of ['XXBTZUSD', 'XBTUSD', 'XBT/USD', 'BTC/USD', 'btcusd', 'btc-usd']) {
    const t = await client.ticker(name);
    assert.equal(t.pair, 'XXBTZUSD', name);
  }
  assert.equal((await client.ticker('eth/usd')).pair, 'XETHZUSD');
  assert.equal(requestsTo(standin, 'AssetPairs').length, 1, 'the catalogue is fetched once');
  assert.ok(requestsTo(standin, 'Ticker').every((r) => r.query.pair === 'XBTUSD' || r.query.pair === 'ETHUSD'));
});

// ---- errors ----------------------------------------------------------------------------------

test('unknown pair: a clear error, never retried', async () => {
  // Resolved locally: the catalogue says no, OHLC is never called.
  const a = testClient(standin);
  await assert.rejects(a.client.ohlc('DOGE/USD', 1440), (err: unknown) => {
    assert.ok(err instanceof KrakenError);
    assert.equal(err.kind, 'unknown_pair');
    assert.equal(err.retryable, false);
    assert.match(err.message, /no asset pair named "DOGE\/USD"/);
    return true;
  });
  assert.equal(requestsTo(standin, 'OHLC').length, 0);

  // Sent as given: Kraken's own EQuery error, one request, no sleep.
  const b = testClient(standin, { resolvePairs: false });
  await assert.rejects(b.client.ohlc('NOPEUSD', 1440), (err: unknown) => {
    assert.ok(err instanceof KrakenError && err instanceof UpstreamError);
    assert.equal(err.kind, 'unknown_pair');
    assert.deepEqual(err.krakenErrors, ['EQuery:Unknown asset pair']);
    assert.equal(err.attempts, 1);
    assert.equal(err.retryable, false);
    return true;
  });
  assert.equal(requestsTo(standin, 'OHLC').length, 1);
  assert.deepEqual(b.time.sleeps, []);
  assert.equal(b.events.filter((e) => e.type === 'retry').length, 0);
});

test('client errors are not retried: invalid arguments, other Kraken errors, HTTP 4xx', async () => {
  const cases: [StandinFault, string][] = [
    [{ kind: 'kraken-error', error: 'EGeneral:Invalid arguments', endpoints: ['OHLC'] }, 'invalid_arguments'],
    [{ kind: 'kraken-error', error: 'EGeneral:Permission denied', endpoints: ['OHLC'] }, 'rejected'],
    [{ kind: 'http-error', status: 403, endpoints: ['OHLC'] }, 'http_4xx'],
  ];
  for (const [fault, kind] of cases) {
    standin.requests.length = 0;
    standin.setFault(fault);
    const { client, time } = testClient(standin, { resolvePairs: false });
    await assert.rejects(client.ohlc('XBTUSD', 60), (err: unknown) => {
      assert.ok(err instanceof KrakenError);
      assert.equal(err.kind, kind);
      assert.equal(err.retryable, false);
      return true;
    });
    assert.equal(requestsTo(standin, 'OHLC').length, 1, kind);
    assert.deepEqual(time.sleeps, [], kind);
  }
  // Refused locally, before any request: an interval Kraken does not have.
  const { client } = testClient(standin, { resolvePairs: false });
  await assert.rejects(client.ohlc('XBTUSD', 120), (err: unknown) => err instanceof KrakenError && err.kind === 'invalid_arguments');
});

const TRANSIENT: [string, StandinFault, string][] = [
  ['rate limit', { kind: 'rate-limit', times: 2, endpoints: ['OHLC'] }, 'rate_limited'],
  ['EService:Unavailable', { kind: 'service-unavailable', times: 2, endpoints: ['OHLC'] }, 'unavailable'],
  ['EService:Busy', { kind: 'service-unavailable', message: 'EService:Busy', times: 2, endpoints: ['OHLC'] }, 'unavailable'],
  ['HTTP 502', { kind: 'http-error', status: 502, times: 2, endpoints: ['OHLC'] }, 'http_5xx'],
  ['HTTP 503', { kind: 'http-error', status: 503, times: 2, endpoints: ['OHLC'] }, 'http_5xx'],
  ['garbage body', { kind: 'garbage', times: 2, endpoints: ['OHLC'] }, 'unparseable_body'],
  ['dropped connection', { kind: 'disconnect', times: 2, endpoints: ['OHLC'] }, 'network'],
];

for (const [name, fault, kind] of TRANSIENT) {
  test(`retries on ${name}, with exponential backoff and jitter, then succeeds`, async () => {
    standin.setFault(fault);
    const { client, time, logger, events } = testClient(standin, { resolvePairs: false });
    const res = await client.ohlc('XBTUSD', 60);
    assert.ok(res.candles.length > 700);
    assert.equal(requestsTo(standin, 'OHLC').length, 3);
    // base 100 ms doubling, equal jitter with random() = 0.5: 75 then 150
    assert.deepEqual(time.sleeps, [75, 150]);
    const retries = events.filter((e) => e.type === 'retry');
    assert.deepEqual(
      retries.map((e) => e.type === 'retry' && e.kind),
      [kind, kind],
    );
    assert.deepEqual(
      events.filter((e) => e.type === 'success').map((e) => e.type === 'success' && e.attempts),
      [3],
    );
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 2);
    assert.equal(warnings[0]!.msg, 'kraken call failed, retrying');
    assert.equal(warnings[0]!.obj.reason, kind);
    assert.equal(warnings[0]!.obj.endpoint, 'OHLC');
  });
}

test('retries on a timeout, then succeeds', async () => {
  standin.setFault({ kind: 'slow', delayMs: 800, times: 1, endpoints: ['OHLC'] });
  const { client, events } = testClient(standin, { resolvePairs: false, timeoutMs: 150 });
  const res = await client.ohlc('XBTUSD', 60);
  assert.ok(res.candles.length > 700);
  assert.deepEqual(
    events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.kind),
    ['timeout'],
  );
});

test('gives up after maxRetries with a retryable error that says how often it tried', async () => {
  standin.setFault({ kind: 'rate-limit', times: 100, endpoints: ['OHLC'] });
  const { client, time, logger, events } = testClient(standin, { resolvePairs: false, maxRetries: 3, retryMaxDelayMs: 300 });
  await assert.rejects(client.ohlc('XBTUSD', 60), (err: unknown) => {
    assert.ok(err instanceof KrakenError);
    assert.equal(err.kind, 'rate_limited');
    assert.equal(err.retryable, true);
    assert.equal(err.attempts, 4);
    assert.equal(err.status, 502);
    return true;
  });
  assert.equal(requestsTo(standin, 'OHLC').length, 4);
  // 75, 150, then 400 ms capped to 300 before the jitter: 150 + 0.5 * 150
  assert.deepEqual(time.sleeps, [75, 150, 225]);
  assert.equal(logger.lines.filter((l) => l.msg === 'kraken call failed, giving up').length, 1);
  assert.deepEqual(
    events.filter((e) => e.type === 'failure').map((e) => e.type === 'failure' && [e.kind, e.attempts, e.retryable]),
    [['rate_limited', 4, true]],
  );
});

test('an unreachable Kraken is a network error after the retries', async () => {
  const closed = await startKrakenStandin({ defaults: false });
  const url = closed.url;
  await closed.close();
  const client = new KrakenHttpClient({ baseUrl: url, minIntervalMs: 0, maxRetries: 2, retryBaseDelayMs: 1, sleep: fakeTime().sleep, resolvePairs: false });
  await assert.rejects(client.ticker('XBTUSD'), (err: unknown) => err instanceof KrakenError && err.kind === 'network' && err.attempts === 3);
});

test('a broken event hook does not break the call', async () => {
  const { client } = testClient(standin, {
    onEvent: () => {
      throw new Error('metrics exploded');
    },
  });
  assert.equal((await client.ticker('XBTUSD')).pair, 'XXBTZUSD');
});

// ---- pacing ----------------------------------------------------------------------------------

test('pacer: sequential calls are spaced one interval apart (fake sleep, no wall time)', async () => {
  const time = fakeTime();
  const client = new KrakenHttpClient({ baseUrl: standin.url, minIntervalMs: 1000, sleep: time.sleep, monotonicNow: time.now, resolvePairs: false });
  for (let i = 0; i < 4; i++) await client.ticker('XBTUSD');
  assert.deepEqual(time.sleeps, [1000, 1000, 1000]);
  assert.equal(time.now(), 3000);
});

test('pacer: concurrent calls queue up one interval apart', async () => {
  const time = fakeTime({ frozen: true });
  const client = new KrakenHttpClient({ baseUrl: standin.url, minIntervalMs: 1000, sleep: time.sleep, monotonicNow: time.now, resolvePairs: false });
  await Promise.all([client.ticker('XBTUSD'), client.ticker('XBTUSD'), client.ticker('ETHUSD'), client.ohlc('XBTUSD', 60)]);
  assert.deepEqual(
    [...time.sleeps].sort((a, b) => a - b),
    [1000, 2000, 3000],
  );
  assert.equal(standin.requests.length, 4);
});

test('pacer: retries take their turn too, after the backoff', async () => {
  standin.setFault({ kind: 'service-unavailable', times: 1, endpoints: ['Ticker'] });
  const time = fakeTime();
  const client = new KrakenHttpClient({
    baseUrl: standin.url,
    minIntervalMs: 1000,
    retryBaseDelayMs: 100,
    random: () => 0.5,
    sleep: time.sleep,
    monotonicNow: time.now,
    resolvePairs: false,
  });
  await client.ticker('XBTUSD');
  // backoff 75 ms, then the pacer holds the retry until 1000 ms after the first call
  assert.deepEqual(time.sleeps, [75, 925]);
});
