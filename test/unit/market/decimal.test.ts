import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  addFixed,
  compareDecimal,
  decimalPlaces,
  divFixed,
  formatFixed,
  isDecimal,
  mulFixed,
  normalizeDecimal,
  parseFixed,
  roundFixed,
  sumDecimals,
  toPlainDecimal,
} from '../../../src/modules/market/candles/decimal.js';

test('parses plain and scientific notation exactly', () => {
  assert.deepEqual(parseFixed('122.0'), { units: 1220n, scale: 1 });
  assert.deepEqual(parseFixed('4E+2'), { units: 400n, scale: 0 });
  assert.deepEqual(parseFixed('1.5e-3'), { units: 15n, scale: 4 });
  assert.deepEqual(parseFixed('-0.25'), { units: -25n, scale: 2 });
  assert.deepEqual(parseFixed('.5'), { units: 5n, scale: 1 });
  assert.equal(formatFixed(parseFixed('0.00046062')), '0.00046062');
});

test('rejects what is not a decimal', () => {
  for (const bad of ['', '.', '-', '1,5', '1.2.3', 'abc', '1e', 'NaN', 'Infinity', ' 1', '1e9999', '0x10']) {
    assert.equal(isDecimal(bad), false, bad);
    assert.throws(() => parseFixed(bad), /not a decimal/, bad);
  }
});

test('normalizeDecimal gives one spelling per value', () => {
  const cases: [string, string][] = [
    ['122.0', '122'],
    ['122', '122'],
    ['0.10000000', '0.1'],
    ['-0.000', '0'],
    ['+5.50', '5.5'],
    ['4E+2', '400'],
    ['1.5e-3', '0.0015'],
    ['007.50', '7.5'],
    ['.5', '0.5'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeDecimal(input), want, input);
});

test('toPlainDecimal keeps the digits as written unless they are not plain', () => {
  assert.equal(toPlainDecimal('122.0'), '122.0');
  assert.equal(toPlainDecimal('0.10000000'), '0.10000000');
  assert.equal(toPlainDecimal('4E+2'), '400');
  assert.equal(toPlainDecimal('5E+1'), '50');
  assert.equal(toPlainDecimal('.5'), '0.5');
});

test('sums without float drift', () => {
  assert.equal(0.1 + 0.2 === 0.3, false); // the trap this module exists for
  assert.equal(sumDecimals(['0.1', '0.2']), '0.3');
  assert.equal(normalizeDecimal(sumDecimals(['1478.19066168', '2307.09531837', '8500.0932666401'])), '12285.3792466901');
  assert.equal(decimalPlaces(sumDecimals(['1.5', '0.00000001'])), 8);
});

test('compares by value, not by spelling', () => {
  assert.equal(compareDecimal('1.10', '1.1'), 0);
  assert.equal(compareDecimal('1.09', '1.1'), -1);
  assert.equal(compareDecimal('10', '9.99999999'), 1);
  assert.equal(compareDecimal('-1', '0'), -1);
});

test('division rounds half away from zero', () => {
  assert.equal(formatFixed(divFixed(parseFixed('1'), parseFixed('3'), 4)), '0.3333');
  assert.equal(formatFixed(divFixed(parseFixed('2'), parseFixed('3'), 4)), '0.6667');
  assert.equal(formatFixed(divFixed(parseFixed('0.125'), parseFixed('1'), 2)), '0.13');
  assert.equal(formatFixed(divFixed(parseFixed('-0.125'), parseFixed('1'), 2)), '-0.13');
  assert.equal(formatFixed(roundFixed(parseFixed('2.345'), 2)), '2.35');
  assert.throws(() => divFixed(parseFixed('1'), parseFixed('0'), 2), /division by zero/);
});

test('arithmetic agrees with BigInt on random values', () => {
  const dec = fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }));
  fc.assert(
    fc.property(dec, dec, ([ua, sa], [ub, sb]) => {
      const a = { units: ua, scale: sa };
      const b = { units: ub, scale: sb };
      // round trip through text
      assert.deepEqual(parseFixed(formatFixed(a)), a);
      // a + b, scaled to a common denominator by hand
      const s = Math.max(sa, sb);
      const want = ua * 10n ** BigInt(s - sa) + ub * 10n ** BigInt(s - sb);
      const sum = addFixed(a, b);
      assert.equal(sum.units * 10n ** BigInt(s - sum.scale), want);
      const prod = mulFixed(a, b);
      assert.equal(prod.units, ua * ub);
      assert.equal(prod.scale, sa + sb);
    }),
    { numRuns: 300 },
  );
});
