/**
 * Exact fixed-point decimals on BigInt for exchange prices and volumes.
 *
 * Kraken publishes prices and volumes as decimal strings. Summing volumes or comparing prices
 * in float64 drifts in the last digits (0.1 + 0.2), and a stored candle that no longer equals
 * the exchange's would make "did this candle change?" checks lie. Every sum, product and
 * comparison on stored values goes through here instead of Number().
 */

/** value = units / 10^scale. scale is never negative. */
export interface Fixed {
  readonly units: bigint;
  readonly scale: number;
}

export class DecimalFormatError extends Error {
  constructor(readonly input: string) {
    super(`not a decimal number: ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}...` : input)}`);
    this.name = 'DecimalFormatError';
  }
}

// Plain or scientific notation: "12", "-0.5", ".5", "5.", "4E+2", "1.5e-3". No spaces, no commas.
const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;
// Larger exponents are never real market data; refusing them keeps a hostile CSV from making BigInts of millions of digits.
const MAX_EXPONENT = 400;

const POW10_CACHE: bigint[] = [];
export function pow10(n: number): bigint {
  if (n < 0 || !Number.isInteger(n)) throw new RangeError(`pow10 of ${n}`);
  if (n < 64) {
    let v = POW10_CACHE[n];
    if (v === undefined) {
      v = 10n ** BigInt(n);
      POW10_CACHE[n] = v;
    }
    return v;
  }
  return 10n ** BigInt(n);
}

interface Parsed {
  negative: boolean;
  digits: string;
  /** digits after the point as written, after applying the exponent (never negative) */
  scale: number;
  /** 0 when the exponent is positive enough to need trailing zeros */
  zeros: number;
}

function parseParts(text: string): Parsed | null {
  const m = DECIMAL_RE.exec(text);
  if (!m) return null;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  if (intPart.length === 0 && fracPart.length === 0) return null;
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (Math.abs(exp) > MAX_EXPONENT) return null;
  let scale = fracPart.length - exp;
  let zeros = 0;
  if (scale < 0) {
    zeros = -scale;
    scale = 0;
  }
  return { negative: m[1] === '-', digits: intPart + fracPart, scale, zeros };
}

// Nearly every value the exchange sends is plain; this path skips the exponent handling.
const PLAIN_DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

export function tryParseFixed(text: string): Fixed | null {
  const plain = PLAIN_DECIMAL_RE.exec(text);
  if (plain) {
    const frac = plain[2];
    return frac === undefined ? { units: BigInt(plain[1]!), scale: 0 } : { units: BigInt(plain[1]! + frac), scale: frac.length };
  }
  const p = parseParts(text);
  if (!p) return null;
  let units = BigInt(p.digits);
  if (p.zeros > 0) units *= pow10(p.zeros);
  return { units: p.negative ? -units : units, scale: p.scale };
}

export function parseFixed(text: string): Fixed {
  const f = tryParseFixed(text);
  if (!f) throw new DecimalFormatError(text);
  return f;
}

export function isDecimal(text: string): boolean {
  return parseParts(text) !== null;
}

/** Digits after the decimal point as written ("122.0" -> 1, "4E+2" -> 0, "1.5e-3" -> 4). */
export function decimalPlaces(text: string): number {
  const p = parseParts(text);
  if (!p) throw new DecimalFormatError(text);
  return p.scale;
}

export function fixedFromBigInt(units: bigint, scale = 0): Fixed {
  return { units, scale };
}

export const ZERO: Fixed = { units: 0n, scale: 0 };

/** Same value at a larger scale; never loses digits. */
export function rescaleUp(f: Fixed, scale: number): Fixed {
  if (scale < f.scale) throw new RangeError(`cannot rescale ${f.scale} digits down to ${scale} without rounding`);
  if (scale === f.scale) return f;
  return { units: f.units * pow10(scale - f.scale), scale };
}

function align(a: Fixed, b: Fixed): [bigint, bigint, number] {
  if (a.scale === b.scale) return [a.units, b.units, a.scale];
  if (a.scale > b.scale) return [a.units, b.units * pow10(a.scale - b.scale), a.scale];
  return [a.units * pow10(b.scale - a.scale), b.units, b.scale];
}

export function addFixed(a: Fixed, b: Fixed): Fixed {
  const [x, y, scale] = align(a, b);
  return { units: x + y, scale };
}

export function subFixed(a: Fixed, b: Fixed): Fixed {
  const [x, y, scale] = align(a, b);
  return { units: x - y, scale };
}

export function mulFixed(a: Fixed, b: Fixed): Fixed {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function mulInt(a: Fixed, n: bigint): Fixed {
  return { units: a.units * n, scale: a.scale };
}

export function compareFixed(a: Fixed, b: Fixed): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function signOf(a: Fixed): -1 | 0 | 1 {
  return a.units < 0n ? -1 : a.units > 0n ? 1 : 0;
}

/** Integer division rounding half away from zero, the rule people expect from "round to N places". */
function divRoundHalfUp(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  let q = an / ad;
  const r = an % ad;
  if (r * 2n >= ad) q += 1n;
  return negative ? -q : q;
}

/** a / b rounded half away from zero to `scale` digits. */
export function divFixed(a: Fixed, b: Fixed, scale: number): Fixed {
  if (b.units === 0n) throw new RangeError('division by zero');
  // a.units/10^a.s / (b.units/10^b.s) * 10^scale = a.units * 10^(scale + b.s) / (b.units * 10^a.s)
  const num = a.units * pow10(scale + b.scale);
  const den = b.units * pow10(a.scale);
  return { units: divRoundHalfUp(num, den), scale };
}

/** Rounds half away from zero to `scale` digits (or pads when already shorter). */
export function roundFixed(a: Fixed, scale: number): Fixed {
  if (scale >= a.scale) return rescaleUp(a, scale);
  return { units: divRoundHalfUp(a.units, pow10(a.scale - scale)), scale };
}

/** Rounds toward negative infinity to `scale` digits. */
export function floorFixed(a: Fixed, scale: number): Fixed {
  if (scale >= a.scale) return rescaleUp(a, scale);
  const d = pow10(a.scale - scale);
  let q = a.units / d;
  if (a.units < 0n && q * d !== a.units) q -= 1n;
  return { units: q, scale };
}

/** Plain notation with exactly f.scale digits after the point (trailing zeros kept: they carry the exchange's precision). */
export function formatFixed(f: Fixed): string {
  const negative = f.units < 0n;
  const digits = (negative ? -f.units : f.units).toString();
  if (f.scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(f.scale + 1, '0');
  const intPart = padded.slice(0, padded.length - f.scale);
  const frac = padded.slice(padded.length - f.scale);
  return `${negative ? '-' : ''}${intPart}.${frac}`;
}

/** The smallest scale that still holds the value exactly. */
export function trimFixed(f: Fixed): Fixed {
  if (f.units === 0n) return ZERO;
  let { units, scale } = f;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

/**
 * The one canonical spelling of a decimal value: plain notation, no trailing zeros, no
 * trailing point, no "+", no "-0". Two strings are the same number exactly when their
 * normalised forms are equal, so tests and change checks compare these.
 */
export function normalizeDecimal(value: string | Fixed): string {
  const f = typeof value === 'string' ? parseFixed(value) : value;
  return formatFixed(trimFixed(f));
}

/**
 * Plain notation for a decimal string, keeping the digits as written when they are already
 * plain ("122.0" stays "122.0") and expanding scientific notation ("4E+2" -> "400").
 */
export function toPlainDecimal(text: string): string {
  const p = parseParts(text);
  if (!p) throw new DecimalFormatError(text);
  if (/^(?:0|[1-9]\d*)(?:\.\d+)?$/.test(text)) return text;
  return formatFixed(parseFixed(text));
}

export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  return compareFixed(parseFixed(a), parseFixed(b));
}

export function decimalEquals(a: string, b: string): boolean {
  return compareDecimal(a, b) === 0;
}

/** Exact sum; the result has as many digits as the most precise term. */
export function sumDecimals(values: Iterable<string>): string {
  let acc: Fixed = ZERO;
  for (const v of values) acc = addFixed(acc, parseFixed(v));
  return formatFixed(acc);
}

export function maxFixed(a: Fixed, b: Fixed): Fixed {
  return compareFixed(a, b) >= 0 ? a : b;
}

export function minFixed(a: Fixed, b: Fixed): Fixed {
  return compareFixed(a, b) <= 0 ? a : b;
}
