import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyKrakenErrors, Pacer, PairCatalogue, type KrakenAssetPair } from '../../../src/modules/market/kraken/index.js';
import { fakeTime, readProjectFile } from './market-helpers.js';

function recordedPairs(): KrakenAssetPair[] {
  const body = JSON.parse(readProjectFile('test/fixtures/kraken/api/asset_pairs.json')) as {
    result: Record<string, { altname: string; wsname?: string; base: string; quote: string; pair_decimals: number; lot_decimals: number }>;
  };
  return Object.entries(body.result).map(([key, p]) => ({
    key,
    altname: p.altname,
    wsname: p.wsname ?? null,
    base: p.base,
    quote: p.quote,
    pairDecimals: p.pair_decimals,
    lotDecimals: p.lot_decimals,
    costDecimals: null,
    tickSize: null,
    orderMin: null,
    status: null,
  }));
}

test('catalogue: every name people and Kraken use resolves to the one entry', () => {
  const cat = new PairCatalogue(recordedPairs());
  assert.equal(cat.size, 10);
  const cases: [string, string][] = [
    ['XXBTZUSD', 'XXBTZUSD'],
    ['XBTUSD', 'XXBTZUSD'],
    ['XBT/USD', 'XXBTZUSD'],
    ['BTC/USD', 'XXBTZUSD'],
    ['btcusd', 'XXBTZUSD'],
    [' btc-usd ', 'XXBTZUSD'],
    ['btc_usd', 'XXBTZUSD'],
    ['ETH/USD', 'XETHZUSD'],
    ['xethzusd', 'XETHZUSD'],
    ['SOL/USD', 'SOLUSD'],
    ['EUR/USD', 'ZEURZUSD'],
    ['EURUSD', 'ZEURZUSD'],
    ['USD/JPY', 'ZUSDZJPY'],
    ['usdchf', 'USDCHF'],
  ];
  for (const [name, key] of cases) assert.equal(cat.resolve(name)?.key, key, name);
  for (const unknown of ['DOGE/USD', 'XBTEUR', 'USD/BTC', '', 'XBT']) assert.equal(cat.resolve(unknown), undefined, unknown);
});

test('catalogue: an exact name of one pair is never shadowed by an alias of another', () => {
  const pairs: KrakenAssetPair[] = [
    { ...recordedPairs()[0]!, key: 'XXBTZUSD', altname: 'XBTUSD', wsname: 'XBT/USD' },
    // a (made up) pair whose altname is what the first pair's alias would be
    { ...recordedPairs()[0]!, key: 'BTCUSD_OTHER', altname: 'BTCUSD', wsname: null },
  ];
  const cat = new PairCatalogue(pairs);
  assert.equal(cat.resolve('BTCUSD')?.key, 'BTCUSD_OTHER');
  assert.equal(cat.resolve('BTC/USD')?.key, 'BTCUSD_OTHER');
  assert.equal(cat.resolve('XBT/USD')?.key, 'XXBTZUSD');
});

test('error classification: transient first, warnings ignored', () => {
  assert.equal(classifyKrakenErrors([]), null);
  assert.equal(classifyKrakenErrors(['WGeneral:Something']), null);
  assert.equal(classifyKrakenErrors(['EAPI:Rate limit exceeded']), 'rate_limited');
  assert.equal(classifyKrakenErrors(['EService:Unavailable']), 'unavailable');
  assert.equal(classifyKrakenErrors(['EService:Busy']), 'unavailable');
  assert.equal(classifyKrakenErrors(['EService:Deadline elapsed']), 'unavailable');
  assert.equal(classifyKrakenErrors(['EQuery:Unknown asset pair']), 'unknown_pair');
  assert.equal(classifyKrakenErrors(['EGeneral:Invalid arguments']), 'invalid_arguments');
  assert.equal(classifyKrakenErrors(['EGeneral:Invalid arguments:interval']), 'invalid_arguments');
  assert.equal(classifyKrakenErrors(['EGeneral:Permission denied']), 'rejected');
  assert.equal(classifyKrakenErrors(['EQuery:Unknown asset pair', 'EService:Busy']), 'unavailable');
});

test('pacer: strict spacing, refill after a quiet spell, burst, and zero means off', async () => {
  const t = fakeTime();
  const p = new Pacer({ minIntervalMs: 1000, now: t.now, sleep: t.sleep });
  assert.equal(await p.take(), 0);
  assert.equal(await p.take(), 1000);
  assert.equal(await p.take(), 1000);
  await t.sleep(5000); // quiet: the bucket refills to its capacity of 1, no more
  t.sleeps.length = 0;
  assert.equal(await p.take(), 0);
  assert.equal(await p.take(), 1000);
  assert.deepEqual(t.sleeps, [1000]);

  const b = fakeTime();
  const burst = new Pacer({ minIntervalMs: 500, burst: 3, now: b.now, sleep: b.sleep });
  const waits = [];
  for (let i = 0; i < 5; i++) waits.push(await burst.take());
  assert.deepEqual(waits, [0, 0, 0, 500, 500]);

  const off = new Pacer({ minIntervalMs: 0, sleep: () => assert.fail('must not sleep') });
  for (let i = 0; i < 3; i++) assert.equal(await off.take(), 0);
  assert.throws(() => new Pacer({ minIntervalMs: -1 }), RangeError);
});
