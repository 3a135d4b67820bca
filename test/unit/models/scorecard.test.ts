import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  blockBootstrap,
  coverage,
  dieboldMariano,
  directionWithInterval,
  mae,
  mase,
  meanWidth,
  naiveInSampleMae,
  normalQuantile,
  pinballLoss,
  rmse,
  scorecard,
  skillWithInterval,
  studentTCdf,
  wilsonInterval,
  winklerScore,
} from '../../../src/modules/models/index.js';
import type { DmAlternative } from '../../../src/modules/models/index.js';
import { loadBundledCandles } from '../../support/bundled-candles.js';

const near = (a: number | null | undefined, b: number, tol = 1e-9) => assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= tol, `${a} vs ${b} (tol ${tol})`);

interface DmFixture {
  source: string;
  from: number;
  to: number;
  driftWindow: number;
  n: number;
  series: Record<string, { e1: number[]; e2: number[] }>;
  cases: { h: number; power: number; alternative: DmAlternative; first: number | null; statistic: number; pValue: number }[];
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/dm/dm-test.json', import.meta.url), 'utf8')) as DmFixture;

const btc = loadBundledCandles('btcDaily');

describe('Diebold-Mariano vs R forecast::dm.test on BTC daily errors', () => {
  test('the fixture series are the naive and drift errors of the bundled candles', () => {
    const idx = btc.map((c, i) => [c.time, i] as const).filter(([t]) => t >= fixture.from && t < fixture.to).map(([, i]) => i);
    assert.equal(idx.length, fixture.n);
    const W = fixture.driftWindow;
    for (const h of [1, 3]) {
      const s = fixture.series[String(h)]!;
      idx.forEach((i, k) => {
        const y = btc[i]!.close;
        const base = btc[i - h]!.close;
        const drift = base + (h * (base - btc[i - h - W]!.close)) / W;
        near(s.e1[k], y - base, 1e-9);
        near(s.e2[k], y - drift, 1e-9);
      });
    }
  });

  for (const c of fixture.cases) {
    test(`h=${c.h} power=${c.power} ${c.alternative}${c.first ? ` first ${c.first}` : ''}: statistic and p-value match R to 1e-6`, () => {
      const s = fixture.series[String(c.h)]!;
      const e1 = c.first ? s.e1.slice(0, c.first) : s.e1;
      const e2 = c.first ? s.e2.slice(0, c.first) : s.e2;
      const r = dieboldMariano(e1, e2, { h: c.h, power: c.power, alternative: c.alternative });
      assert.ok(r);
      near(r.statistic, c.statistic, 1e-6);
      near(r.pValue, c.pValue, 1e-6);
      assert.equal(r.n, e1.length);
    });
  }

  test('identical errors have no DM statistic (zero variance), as R refuses', () => {
    const s = fixture.series['1']!;
    assert.equal(dieboldMariano(s.e1, s.e1), null);
  });

  test('Student t CDF against known quantiles', () => {
    near(studentTCdf(0, 5), 0.5, 1e-12);
    near(studentTCdf(2.570582, 5), 0.975, 1e-6); // qt(0.975, 5)
    near(studentTCdf(-1.959964, 1e6), 0.025, 1e-6);
    near(studentTCdf(1, 1), 0.75, 1e-12); // Cauchy
    near(normalQuantile(0.975), 1.959963984540054, 1e-12); // qnorm(0.975)
    near(normalQuantile(0.001), -3.090232306167813, 1e-12);
  });
});

// Real BTC daily closes 2023-08-27 .. 2023-08-31 (see metrics.test.ts): 26087.4, 26109.6, 27731.7, 27305.4, 25936.2
const at = (d: string) => btc.find((c) => c.time === Date.parse(`${d}T00:00:00Z`) / 1000)!.close;
const base = ['2023-08-27', '2023-08-28', '2023-08-29', '2023-08-30'].map(at);
const actual = ['2023-08-28', '2023-08-29', '2023-08-30', '2023-08-31'].map(at);

describe('point, band and direction scores against hand arithmetic on real closes', () => {
  test('the closes are the expected ones', () => {
    assert.deepEqual(actual, [26109.6, 27731.7, 27305.4, 25936.2]);
  });

  test('MAE, RMSE, MASE with the in-sample naive MAE as scale', () => {
    const guess = [26100, 26200, 27500, 27000];
    near(mae(actual, guess), (9.6 + 1531.7 + 194.6 + 1063.8) / 4, 1e-9);
    near(rmse(actual, guess), Math.sqrt((9.6 ** 2 + 1531.7 ** 2 + 194.6 ** 2 + 1063.8 ** 2) / 4), 1e-9);
    const scale = naiveInSampleMae([26087.4, 26109.6, 27731.7]);
    near(scale, (22.2 + 1622.1) / 2, 1e-9);
    near(mase(actual, guess, scale), 699.925 / 822.15, 1e-9);
    assert.equal(mase(actual, guess, 0), null);
  });

  test('coverage, mean width and Winkler score by hand', () => {
    // bands around each actual: inside, inside, below lower by 105.4, above upper by 436.2
    const lower = [26000, 27700, 27410.8, 25000];
    const upper = [26200, 27800, 27600, 25500];
    assert.equal(coverage(actual, lower, upper), 0.5);
    near(meanWidth(lower, upper), (200 + 100 + 189.2 + 500) / 4, 1e-9);
    // alpha 0.2: penalty 2/0.2 = 10 x the miss
    const w = (200 + 100 + (189.2 + 10 * (27410.8 - 27305.4)) + (500 + 10 * (25936.2 - 25500))) / 4;
    near(winklerScore(actual, lower, upper, 0.2), w, 1e-6);
    near(winklerScore(actual, lower, upper, 0.2), 1601.3, 1e-6);
    near(winklerScore(actual, lower, upper, 0.05), (200 + 100 + 189.2 + 40 * 105.4 + 500 + 40 * 436.2) / 4, 1e-6);
  });

  test('pinball loss by hand', () => {
    const q = [26000, 28000, 27305.4, 26000];
    // tau 0.9: u = 109.6 -> 0.9*109.6; u = -268.3 -> 0.1*268.3; u = 0 -> 0; u = -63.8 -> 0.1*63.8
    near(pinballLoss(actual, q, 0.9), (0.9 * 109.6 + 0.1 * 268.3 + 0 + 0.1 * 63.8) / 4, 1e-9);
  });

  test('directional accuracy with a Wilson interval', () => {
    const ac = actual.map((a, i) => a - base[i]!); // +, +, -, -
    const d = directionWithInterval(ac, [1, -1, 0, -5]);
    assert.equal(d.trials, 3);
    assert.equal(d.successes, 2);
    near(d.estimate, 2 / 3, 1e-12);
    // Wilson 95 % for 2/3: centre (p + z^2/2n)/(1+z^2/n), z = 1.959964
    const z = 1.959963984540054;
    const n = 3;
    const p = 2 / 3;
    const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
    const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
    near(d.lower, centre - half, 1e-9);
    near(d.upper, centre + half, 1e-9);
    // published value (Newcombe 1998, table I: 81/263): 0.2553 .. 0.3662
    const w = wilsonInterval(81, 263);
    near(w.lower, 0.2553, 5e-5);
    near(w.upper, 0.3662, 5e-5);
    assert.equal(wilsonInterval(0, 0).estimate, null);
  });
});

describe('skill vs naive with a block-bootstrap interval on BTC daily', () => {
  const closes = btc.map((c) => c.close);
  const from = closes.length - 400;
  const a = closes.slice(from);
  const naiveE = a.map((y, k) => y - closes[from + k - 1]!);
  const driftE = a.map((y, k) => {
    const b = closes[from + k - 1]!;
    return y - (b + (b - closes[from + k - 31]!) / 30);
  });

  for (const method of ['stationary', 'moving'] as const) {
    test(`${method}: the interval contains the point estimate and repeats exactly with the seed`, () => {
      const one = skillWithInterval(driftE, naiveE, { seed: 7, method, resamples: 500 });
      const two = skillWithInterval(driftE, naiveE, { seed: 7, method, resamples: 500 });
      const other = skillWithInterval(driftE, naiveE, { seed: 8, method, resamples: 500 });
      assert.ok(one && two && other);
      assert.deepEqual(one, two);
      assert.notEqual(one.lower, other.lower, 'another seed, other resamples');
      near(one.estimate, 1 - mae(a, a.map((y, k) => y - driftE[k]!)) / mae(a, a.map((y, k) => y - naiveE[k]!)), 1e-12);
      assert.ok(one.lower <= one.estimate && one.estimate <= one.upper, `${one.lower} <= ${one.estimate} <= ${one.upper}`);
      assert.ok(one.upper - one.lower > 0);
      assert.equal(one.blockLength, Math.round(Math.cbrt(400)));
    });
  }

  test('a bootstrap of the mean: wider blocks keep serial dependence, interval brackets the mean', () => {
    const x = naiveE.map(Math.abs);
    const mean = (idx: ArrayLike<number>) => {
      let s = 0;
      for (let k = 0; k < idx.length; k++) s += x[idx[k]!]!;
      return s / idx.length;
    };
    const r = blockBootstrap(x.length, mean, { seed: 1, blockLength: 10 });
    assert.ok(r);
    assert.ok(r.lower < r.estimate && r.estimate < r.upper);
  });
});

describe('scorecard: model beside naive on the same points', () => {
  test('naive scored against itself: skill 0, equal MAE, no DM (zero variance), naive bands scored', () => {
    const closes = btc.map((c) => c.close).slice(-300);
    const baseP = closes.slice(0, -1);
    const act = closes.slice(1);
    const bands = { lower80: baseP.map((b) => b * 0.97), upper80: baseP.map((b) => b * 1.03), lower95: baseP.map((b) => b * 0.94), upper95: baseP.map((b) => b * 1.06) };
    const sc = scorecard({ base: baseP, actual: act, predicted: baseP, modelBands: bands, naiveBands: bands, maseScale: naiveInSampleMae(btc.map((c) => c.close).slice(-600, -300)) });
    assert.equal(sc.n, 299);
    assert.equal(sc.model.mae, sc.naive.mae);
    assert.equal(sc.dm.squared.twoSided, null);
    assert.equal(sc.skill?.estimate, 0);
    assert.equal(sc.model.direction.trials, 0, 'naive makes no directional call');
    assert.deepEqual(sc.model.bands, sc.naive.bands);
    near(sc.model.bands!.coverage80, coverage(act, bands.lower80, bands.upper80), 0);
    assert.ok(sc.model.mase! > 0);
  });
});
