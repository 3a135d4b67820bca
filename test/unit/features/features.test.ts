import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Candle } from '../../../src/platform/candle.js';
import { buildFeatures, cleanCandles, featureNames, parseFeatureConfig, trainableRows, warmupCandles } from '../../../src/modules/features/index.js';
import type { FeatureFrame } from '../../../src/modules/features/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const cfg = parseFeatureConfig({});
const daily = cleanCandles(loadBundledCandles('btcDaily'), 1440).candles;
const frame = buildFeatures(daily, 1440, cfg);
const col = (f: FeatureFrame, name: string) => {
  const j = f.names.indexOf(name);
  assert.ok(j >= 0, `no feature ${name}`);
  return f.columns[j]!;
};

/** Scales every price of the candles after index t by a varying factor: new, valid, different candles. */
function perturbAfter(candles: readonly Candle[], t: number): Candle[] {
  return candles.map((c, i) => {
    if (i <= t) return { ...c };
    const f = 1 + 0.2 * Math.sin(i * 1.7);
    return { ...c, open: c.open * f, high: c.high * f * 1.01, low: c.low * f * 0.99, close: c.close * f, volume: c.volume * (2 + Math.cos(i)), trades: c.trades + 7 };
  });
}

describe('buildFeatures', () => {
  test('no leakage: changing candles after t changes no feature at or before t (several t, daily and hourly)', () => {
    const hourly = cleanCandles(loadBundledCandles('btcHourly').slice(-6000), 60).candles;
    for (const [candles, interval, ts] of [
      [daily, 1440, [60, 400, 1500, 2999, daily.length - 2]],
      [hourly, 60, [100, 2500, 5998]],
    ] as const) {
      const base = buildFeatures(candles, interval, cfg);
      for (const t of ts) {
        const changed = buildFeatures(perturbAfter(candles, t), interval, cfg);
        for (let j = 0; j < base.names.length; j++) {
          const a = base.columns[j]!;
          const b = changed.columns[j]!;
          for (let i = 0; i <= t; i++) assert.ok(Object.is(a[i], b[i]), `${base.names[j]} at row ${i} changed when candles after ${t} changed`);
        }
        for (let i = 0; i <= t; i++) assert.equal(base.complete[i], changed.complete[i]);
        // Guard against a vacuous pass: the perturbation is visible after t, and the target of
        // row t (the NEXT candle's return) must move with it.
        assert.notEqual(base.target[t], changed.target[t]);
        for (let i = 0; i < t; i++) assert.ok(Object.is(base.target[i], changed.target[i]));
        const p = base.names.indexOf('logret');
        assert.notEqual(base.columns[p]![t + 1], changed.columns[p]![t + 1]);
      }
    }
  });

  test('feature values equal hand computations on a real row', () => {
    const i = 2000;
    const c = daily.map((d) => d.close);
    const r = (k: number) => Math.log(c[k]! / c[k - 1]!);
    const close = c[i]!;
    const near = (a: number, b: number, msg: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${msg}: ${a} vs ${b}`);
    near(col(frame, 'logret')[i]!, r(i), 'logret');
    near(col(frame, 'logret_lag3')[i]!, r(i - 3), 'lag3');
    near(col(frame, 'mom_5')[i]!, Math.log(close / c[i - 5]!), 'mom_5');
    let s = 0;
    for (let k = i - 19; k <= i; k++) s += c[k]!;
    near(col(frame, 'sma_ratio_20')[i]!, Math.log(close / (s / 20)), 'sma_ratio_20');
    const rets = [];
    for (let k = i - 9; k <= i; k++) rets.push(r(k));
    const m = rets.reduce((a, b) => a + b, 0) / 10;
    near(col(frame, 'vol_10')[i]!, Math.sqrt(rets.reduce((a, b) => a + (b - m) ** 2, 0) / 9), 'vol_10');
    near(col(frame, 'range')[i]!, Math.log(daily[i]!.high / daily[i]!.low), 'range');
    near(col(frame, 'body')[i]!, Math.log(daily[i]!.close / daily[i]!.open), 'body');
    const lv = [];
    for (let k = i - 19; k <= i; k++) lv.push(Math.log(1 + daily[k]!.volume));
    const lm = lv.reduce((a, b) => a + b, 0) / 20;
    const ls = Math.sqrt(lv.reduce((a, b) => a + (b - lm) ** 2, 0) / 19);
    near(col(frame, 'volume_z_20')[i]!, (lv[19]! - lm) / ls, 'volume_z_20');
    // EMA(12) seeded with the SMA of the first 12 closes, then the textbook recursion.
    let e = c.slice(0, 12).reduce((a, b) => a + b, 0) / 12;
    for (let k = 12; k <= i; k++) e = (2 / 13) * c[k]! + (1 - 2 / 13) * e;
    near(col(frame, 'ema_ratio_12')[i]!, Math.log(close / e), 'ema_ratio_12');
    // Wilder RSI(14)
    let g = 0;
    let l = 0;
    for (let k = 1; k <= 14; k++) {
      const d = c[k]! - c[k - 1]!;
      g += Math.max(d, 0) / 14;
      l += Math.max(-d, 0) / 14;
    }
    for (let k = 15; k <= i; k++) {
      const d = c[k]! - c[k - 1]!;
      g = (g * 13 + Math.max(d, 0)) / 14;
      l = (l * 13 + Math.max(-d, 0)) / 14;
    }
    near(col(frame, 'rsi_14')[i]!, (100 - 100 / (1 + g / l)) / 100 - 0.5, 'rsi_14');
    const dow = new Date(daily[i]!.time * 1000).getUTCDay();
    near(col(frame, 'dow_sin')[i]!, Math.sin((2 * Math.PI * dow) / 7), 'dow_sin');
    near(col(frame, 'dow_cos')[i]!, Math.cos((2 * Math.PI * dow) / 7), 'dow_cos');
  });

  test('the target is the log return of the next candle, and missing across gaps', () => {
    for (const i of [100, 1234, 3000]) assert.equal(frame.target[i], Math.log(daily[i + 1]!.close / daily[i]!.close));
    assert.ok(Number.isNaN(frame.target[daily.length - 1]!), 'the last candle has no next candle yet');
    // 2014-09-25 is followed by 2014-09-28: that row has no one-day-ahead target.
    const gapRow = daily.findIndex((c) => c.time === Date.UTC(2014, 8, 25) / 1000);
    assert.ok(gapRow > 0);
    assert.ok(Number.isNaN(frame.target[gapRow]!));
    assert.ok(!trainableRows(frame).includes(gapRow));
  });

  test('warm-up rows are incomplete, later rows complete; hour features only intraday', () => {
    const w = warmupCandles(cfg);
    assert.equal(frame.complete[w - 1], 0);
    assert.equal(frame.complete[w], 1);
    assert.ok(!featureNames(cfg, 1440).includes('hour_sin'));
    assert.ok(featureNames(cfg, 60).includes('hour_sin'));
    const hourly = cleanCandles(loadBundledCandles('btcHourly').slice(-500), 60).candles;
    const hf = buildFeatures(hourly, 60, cfg);
    const hour = new Date(hourly[400]!.time * 1000).getUTCHours();
    assert.ok(Math.abs(col(hf, 'hour_sin')[400]! - Math.sin((2 * Math.PI * hour) / 24)) < 1e-12);
  });

  test('a smaller config builds only what it asks for', () => {
    const small = parseFeatureConfig({ lags: 1, momentumWindows: [], smaWindows: [3], emaWindows: [], rsiPeriod: null, volatilityWindows: [], volumeWindow: null, range: false, calendar: false });
    assert.deepEqual(featureNames(small, 1440), ['logret', 'logret_lag1', 'sma_ratio_3']);
    assert.throws(() => parseFeatureConfig({ lags: -1 }), /Invalid feature config/);
  });
});
