import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cleanCandles, resampleCandles } from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const DAY = 86_400;
const hourly = cleanCandles(loadBundledCandles('btcHourly'), 60).candles;

function handDay(dayStart: number) {
  const hours = hourly.filter((c) => c.time >= dayStart && c.time < dayStart + DAY);
  let high = -Infinity;
  let low = Infinity;
  let volume = 0;
  let trades = 0;
  for (const h of hours) {
    high = Math.max(high, h.high);
    low = Math.min(low, h.low);
    volume += h.volume;
    trades += h.trades;
  }
  return { time: dayStart, open: hours[0]!.open, high, low, close: hours[hours.length - 1]!.close, volume, trades, parts: hours.length };
}

describe('resampleCandles 1h -> 1d', () => {
  const daily = resampleCandles(hourly, 1440);
  const byTime = new Map(daily.map((d) => [d.time, d]));

  test('agrees with hand aggregation on a few days (full, crash day, and days with missing hours)', () => {
    const days = [
      Date.UTC(2021, 4, 19) / 1000, // the May 2021 crash
      Date.UTC(2017, 11, 17) / 1000,
      Date.UTC(2020, 2, 12) / 1000,
      Date.UTC(2014, 2, 3) / 1000, // 2014: hours without trades are missing
      Date.UTC(2013, 9, 12) / 1000,
    ];
    for (const d of days) {
      const hand = handDay(d);
      const got = byTime.get(d);
      assert.ok(got, `day ${new Date(d * 1000).toISOString()} missing`);
      assert.deepEqual({ ...got, volume: 0 }, { ...hand, volume: 0 });
      assert.ok(Math.abs(got.volume - hand.volume) <= 1e-9 * hand.volume);
    }
    assert.ok(byTime.get(Date.UTC(2014, 2, 3) / 1000)!.parts < 24, 'a 2014 day should be built from fewer than 24 hours');
  });

  test('every closed day equals Kraken\'s own daily candle from the bundled daily file', () => {
    const closedBefore = hourly[hourly.length - 1]!.time + 3600;
    const closed = resampleCandles(hourly, 1440, { closedBefore });
    assert.equal(closed.length, daily.length - 1, 'the unfinished last day is dropped');
    const kraken = new Map(loadBundledCandles('btcDaily').map((c) => [c.time, c]));
    for (const d of closed) {
      const k = kraken.get(d.time);
      assert.ok(k, `no Kraken daily candle for ${d.time}`);
      assert.deepEqual([d.open, d.high, d.low, d.close, d.trades], [k.open, k.high, k.low, k.close, k.trades], `day ${d.time}`);
      assert.ok(Math.abs(d.volume - k.volume) <= 1e-6 * Math.max(1, k.volume));
    }
  });

  test('days are UTC-midnight aligned and no empty day is invented', () => {
    for (const d of daily) assert.equal(d.time % DAY, 0);
    const withHours = new Set(hourly.map((h) => Math.floor(h.time / DAY) * DAY));
    assert.equal(daily.length, withHours.size);
    assert.equal(daily.reduce((s, d) => s + d.parts, 0), hourly.length);
  });

  test('minParts drops thin days; unsorted input is refused', () => {
    const strict = resampleCandles(hourly, 1440, { minParts: 24 });
    assert.ok(strict.every((d) => d.parts === 24));
    assert.ok(strict.length < daily.length);
    assert.throws(() => resampleCandles([hourly[5]!, hourly[4]!], 1440), /sorted/);
  });
});
