import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateTrades, TradeAggregator, TradeOrderError } from '../../../src/modules/market/candles/aggregate.js';

const H = 3600;
const T0 = 1672531200; // 2023-01-01T00:00:00Z

test('builds open/high/low/close/volume/trades/vwap exactly', () => {
  const candles = aggregateTrades(
    [
      { price: '100.0', volume: '0.1', time: T0 + 1 },
      { price: '105.5', volume: '0.2', time: T0 + 10 },
      { price: '99.25', volume: '0.30000000', time: T0 + 20 },
      { price: '101', volume: '0.4', time: T0 + 3599.9999 },
    ],
    { intervalMinutes: 60, now: T0 + H },
  );
  assert.equal(candles.length, 1);
  assert.deepEqual(candles[0], {
    time: T0,
    open: '100.0',
    high: '105.5',
    low: '99.25',
    close: '101',
    volume: '1.00000000',
    trades: 4,
    // (10 + 21.1 + 29.775 + 40.4) / 1 = 101.275
    vwap: '101.28',
  });
});

test('volumes add up exactly where floats would not', () => {
  const trades = Array.from({ length: 10 }, (_, i) => ({ price: '1', volume: '0.1', time: T0 + i }));
  let float = 0;
  for (const t of trades) float += Number(t.volume);
  assert.notEqual(float, 1);
  const [c] = aggregateTrades(trades, { intervalMinutes: 60, now: T0 + H });
  assert.equal(c!.volume, '1.0');
});

test('emits only intervals that have closed', () => {
  const trades = [
    { price: '1', volume: '1', time: T0 + 5 },
    { price: '2', volume: '1', time: T0 + H + 5 },
    { price: '3', volume: '1', time: T0 + 3 * H + 5 },
  ];
  // Without now: the last interval seen may still be filling.
  assert.deepEqual(
    aggregateTrades(trades, { intervalMinutes: 60 }).map((c) => c.time),
    [T0, T0 + H],
  );
  // now inside the last interval: still open.
  assert.deepEqual(
    aggregateTrades(trades, { intervalMinutes: 60, now: T0 + 3 * H + 1800 }).map((c) => c.time),
    [T0, T0 + H],
  );
  // now at its end: closed. No candle is invented for the empty hour T0 + 2H.
  assert.deepEqual(
    aggregateTrades(trades, { intervalMinutes: 60, now: T0 + 4 * H }).map((c) => c.time),
    [T0, T0 + H, T0 + 3 * H],
  );
});

test('keeps the first spelling of an extreme and the exchange digits', () => {
  const [c] = aggregateTrades(
    [
      { price: '50.10', volume: '1', time: T0 },
      { price: '50.1', volume: '1', time: T0 + 1 },
      { price: '4E+1', volume: '1', time: T0 + 2 },
    ],
    { intervalMinutes: 60, now: T0 + H },
  );
  assert.equal(c!.high, '50.10');
  assert.equal(c!.low, '40');
  assert.equal(c!.close, '40');
});

test('streaming matches the one-shot function and refuses trades that arrive too late', () => {
  const agg = new TradeAggregator({ intervalMinutes: 60 });
  assert.deepEqual(agg.push({ price: '1', volume: '1', time: T0 + 1 }), []);
  assert.equal(agg.pendingTime, T0);
  const closed = agg.push({ price: '2', volume: '1', time: T0 + H + 1 });
  assert.equal(closed.length, 1);
  assert.throws(() => agg.push({ price: '1', volume: '1', time: T0 + 2 }), TradeOrderError);
  assert.equal(agg.closeUpTo(T0 + 2 * H).length, 1);
  assert.throws(() => agg.push({ price: '1', volume: '1', time: T0 + H + 10 }), TradeOrderError);
});

test('rejects bad trades', () => {
  assert.throws(() => aggregateTrades([{ price: '0', volume: '1', time: T0 }], { intervalMinutes: 60 }), /price must be > 0/);
  assert.throws(() => aggregateTrades([{ price: '1', volume: '-1', time: T0 }], { intervalMinutes: 60 }), /volume must be >= 0/);
  assert.throws(() => aggregateTrades([{ price: 'x', volume: '1', time: T0 }], { intervalMinutes: 60 }), /not a decimal/);
  assert.throws(() => new TradeAggregator({ intervalMinutes: 0 }), RangeError);
});

test('vwap is null for a candle without volume and honours vwapScale', () => {
  const [a] = aggregateTrades([{ price: '10', volume: '0', time: T0 }], { intervalMinutes: 60, now: T0 + H });
  assert.equal(a!.vwap, null);
  const [b] = aggregateTrades(
    [
      { price: '10', volume: '1', time: T0 },
      { price: '11', volume: '2', time: T0 + 1 },
    ],
    { intervalMinutes: 60, now: T0 + H, vwapScale: 5 },
  );
  assert.equal(b!.vwap, '10.66667');
});

test('extremes are found exactly, even where floats cannot tell prices apart', () => {
  assert.equal(Number('0.10000000000000000001'), Number('0.1'));
  const [c] = aggregateTrades(
    [
      { price: '0.1', volume: '1', time: T0 },
      { price: '0.10000000000000000001', volume: '1', time: T0 + 1 },
      { price: '0.09999999999999999999', volume: '1', time: T0 + 2 },
      { price: '0.1', volume: '1', time: T0 + 3 },
    ],
    { intervalMinutes: 60, now: T0 + H },
  );
  assert.equal(c!.high, '0.10000000000000000001');
  assert.equal(c!.low, '0.09999999999999999999');
});
