/**
 * A local stand-in for Kraken's public REST API, for tests and offline local runs.
 *
 * It answers /0/public/AssetPairs, /OHLC, /Trades and /Ticker with Kraken's JSON shapes, from
 * the recorded real responses in test/fixtures/kraken/api and from real candle series (by
 * default the bundled BTC and ETH daily files and the BTC hourly file). Time is a settable
 * "now", so a test decides which candles are closed, which one is still open and what OHLC's
 * 720-interval window contains.
 *
 * Trades are synthetic but exact: each source candle is turned into a deterministic list of
 * trades whose aggregation gives back that candle digit for digit (open, high, low, close,
 * volume) and its trade count when the count can carry the four prices; see `buildPlan`.
 * Trade i of a candle is computed directly (no list is materialised), so paging through a day
 * of 200k trades costs the same per page as paging through an hour of ten.
 *
 * Faults can be switched on to test the client's resilience: rate limits, EService errors,
 * HTTP 5xx, slow answers, non-JSON bodies, dropped connections, and candles missing from the
 * series.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ExactCandle } from '../../src/platform/candle.js';
import { parseCandleCsv, formatCsvErrors } from '../../src/modules/market/candles/csv.js';
import {
  addFixed,
  compareFixed,
  decimalPlaces,
  divFixed,
  type Fixed,
  fixedFromBigInt,
  formatFixed,
  mulFixed,
  mulInt,
  parseFixed,
  rescaleUp,
  subFixed,
  ZERO,
} from '../../src/modules/market/candles/decimal.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const STANDIN_FILES = {
  assetPairs: 'test/fixtures/kraken/api/asset_pairs.json',
  ohlcBtcDaily: 'test/fixtures/kraken/api/ohlc_XXBTZUSD_1440.json',
  tickerBtc: 'test/fixtures/kraken/api/ticker_XXBTZUSD.json',
  btcDaily: 'data/bundled/XBTUSD_1440.csv',
  ethDaily: 'data/bundled/ETHUSD_1440.csv',
  btcHourly: 'test/fixtures/kraken/XBTUSD_60.csv',
} as const;

/**
 * Default "now": 2023-01-07T09:30:00Z, half an hour into the last hour of the bundled hourly
 * file, so all three default series have a full 720-interval window and an open candle that
 * is a real partial candle.
 */
export const DEFAULT_STANDIN_NOW = 1673083800;
/** A moment inside the day the recorded OHLC and Ticker answers were taken (2026-09-19 UTC). */
export const RECORDED_NOW = 1789776000 + 12 * 3600;

export const KRAKEN_INTERVALS: readonly number[] = [1, 5, 15, 30, 60, 240, 1440, 10080, 21600];
const OHLC_WINDOW = 720;
const TRADES_PAGE = 1000;
/** trade times are multiples of 100 µs (Kraken prints 4+ decimals of seconds) */
const TICKS_PER_SECOND = 10_000;
const SEGMENTS = 8;

// ---------------------------------------------------------------------------------------------
// Types

export type StandinEndpoint = 'AssetPairs' | 'OHLC' | 'Trades' | 'Ticker';

export type StandinFault =
  /** answers {"error":["EAPI:Rate limit exceeded"]} */
  | { kind: 'rate-limit'; times?: number; endpoints?: StandinEndpoint[] }
  /** answers {"error":["EService:Unavailable"]} (or the message given, e.g. EService:Busy) */
  | { kind: 'service-unavailable'; message?: string; times?: number; endpoints?: StandinEndpoint[] }
  /** answers with this HTTP status (default 502) and a small HTML page, like a CDN does */
  | { kind: 'http-error'; status?: number; times?: number; endpoints?: StandinEndpoint[] }
  /** waits delayMs before answering normally */
  | { kind: 'slow'; delayMs: number; times?: number; endpoints?: StandinEndpoint[] }
  /** answers 200 with a body that is not JSON */
  | { kind: 'garbage'; body?: string; times?: number; endpoints?: StandinEndpoint[] }
  /** closes the connection without answering */
  | { kind: 'disconnect'; times?: number; endpoints?: StandinEndpoint[] }
  /** answers {"error":[error]} with any Kraken error string */
  | { kind: 'kraken-error'; error: string; times?: number; endpoints?: StandinEndpoint[] }
  /** removes these candle open times from the series (OHLC and Trades) until faults are cleared */
  | { kind: 'missing-candles'; pair: string; intervalMinutes: number; times: number[] };

export interface StandinRequest {
  endpoint: string;
  query: Record<string, string>;
  status: number;
  /** the fault that shaped this answer, if any */
  fault?: StandinFault['kind'];
  /** the stand-in's "now" when answered */
  now: number;
}

/** AssetPairs entry as Kraken writes it; only the names are required. */
export interface StandinPairInput {
  key: string;
  altname?: string;
  wsname?: string;
  base?: string;
  quote?: string;
  pair_decimals?: number;
  lot_decimals?: number;
  [field: string]: unknown;
}

export interface StandinSeriesInput {
  /** key, altname or wsname of a known pair; an unknown name becomes a new pair with that key */
  pair: string;
  intervalMinutes: number;
  candles?: ExactCandle[];
  /** candle CSV text (any format parseCandleCsv accepts) */
  csv?: string;
  /** path of a candle CSV, absolute or relative to the project root */
  file?: string;
}

export interface KrakenStandinOptions {
  port?: number;
  host?: string;
  /** Unix seconds; default DEFAULT_STANDIN_NOW */
  now?: number;
  /** load the recorded AssetPairs/OHLC/Ticker and the bundled candle files; default true */
  defaults?: boolean;
  pairs?: StandinPairInput[];
  series?: StandinSeriesInput[];
  /** trades per Trades page; default 1000 like Kraken */
  tradesPageSize?: number;
}

export interface KrakenStandin {
  /** base URL to give the client, e.g. http://127.0.0.1:41234/0/public */
  url: string;
  port: number;
  now(): number;
  setNow(unixSeconds: number): void;
  advance(seconds: number): void;
  /** a transient fault replaces the previous one; missing-candles faults add up; null clears all */
  setFault(fault: StandinFault | null): void;
  addPair(pair: StandinPairInput): void;
  addSeries(series: StandinSeriesInput): void;
  /** which interval's candles the Trades endpoint is synthesised from (default: the finest) */
  setTradesSource(pair: string, intervalMinutes: number): void;
  /** back to the starting "now", no faults, default trade sources, empty request log */
  reset(): void;
  /**
   * The candle of one interval as its trades stood at `at` (Unix seconds; default now): the
   * forming candle a live feed shows. At or after the interval's end it is the source candle
   * itself. Null when no trade of it happened before `at`.
   */
  candleAt(pair: string, intervalMinutes: number, openTime: number, at?: number): (ExactCandle & { vwap: string }) | null;
  /** the source candles of a series (missing-candles faults not applied) */
  sourceCandles(pair: string, intervalMinutes: number): readonly ExactCandle[];
  requests: StandinRequest[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Source data

interface SourceCandle extends ExactCandle {
  /** Kraken's own VWAP, for candles taken from a recorded answer */
  recordedVwap?: string;
}

type OhlcRow = [number, string, string, string, string, string, string, number];

interface Series {
  intervalMinutes: number;
  candles: SourceCandle[];
  times: number[];
  byTime: Map<number, number>;
  /** still-open rows recorded from Kraken, served verbatim when now falls in their interval */
  recordedOpen: Map<number, OhlcRow>;
  missing: Set<number>;
  plans: Map<number, Plan>;
}

interface PairState {
  key: string;
  entry: Record<string, unknown>;
  series: Map<number, Series>;
  tradesInterval: number | null;
  recordedTicker: { from: number; to: number; body: unknown } | null;
}

const fileCache = new Map<string, ExactCandle[]>();

function projectPath(p: string): string {
  return p.startsWith('/') ? p : `${ROOT}${p}`;
}

function loadCandleFile(path: string, intervalMinutes: number): ExactCandle[] {
  const key = `${path}#${intervalMinutes}`;
  let candles = fileCache.get(key);
  if (!candles) {
    candles = parseCandles(readFileSync(projectPath(path), 'utf8'), intervalMinutes, path);
    fileCache.set(key, candles);
  }
  return candles;
}

function parseCandles(text: string, intervalMinutes: number, label: string): ExactCandle[] {
  const parsed = parseCandleCsv(text, { intervalMinutes, maxErrors: 10 });
  if (!parsed.ok) throw new Error(`kraken stand-in: bad candle CSV ${label}:\n${formatCsvErrors(parsed.errors, parsed.truncated)}`);
  return parsed.candles;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(projectPath(path), 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Synthetic trades

interface PricePoint {
  text: string;
  value: Fixed;
}

/** How one source candle is spread over trades. Trade i is a pure function of the plan. */
interface Plan {
  count: number;
  slots: number;
  priceScale: number;
  volScale: number;
  /** each trade's volume is q or q + 1 units (the first r trades get the +1) */
  q: bigint;
  r: number;
  /** trade index -> price for the open, the close and any high/low not equal to them */
  special: Map<number, PricePoint>;
  /** filler prices, one per segment of the trade list, walking from open to close */
  seg: PricePoint[];
}

/**
 * Trade 0 is the open and the last trade the close; a high or low different from both gets
 * a trade of its own (the dip before the rise on a rising candle, the spike before the fall on
 * a falling one). All other trades walk from open to close in SEGMENTS steps, so they stay
 * within [low, high] and never move an extreme. Volume is split into equal units with the
 * remainder on the first trades, at the candle's volume digits (at least 8, Kraken's lot
 * precision), so the volumes add up exactly.
 *
 * Limits: a candle whose trade count is smaller than the prices it needs (e.g. 1 trade but
 * open != close) gets the minimum count instead (2 to 4); a volume with fewer units than
 * trades gets extra digits; a count is capped below the interval's 100 µs slots (never hit by
 * real data).
 */
function buildPlan(c: SourceCandle, intervalMinutes: number): Plan {
  const point = (text: string): PricePoint => ({ text, value: parseFixed(text) });
  const open = point(c.open);
  const high = point(c.high);
  const low = point(c.low);
  const close = point(c.close);
  const eq = (a: PricePoint, b: PricePoint) => compareFixed(a.value, b.value) === 0;
  const priceScale = Math.max(decimalPlaces(c.open), decimalPlaces(c.high), decimalPlaces(c.low), decimalPlaces(c.close));
  const needHigh = !eq(high, open) && !eq(high, close);
  const needLow = !eq(low, open) && !eq(low, close);
  const middle: PricePoint[] = [];
  if (compareFixed(close.value, open.value) >= 0) {
    if (needLow) middle.push(low);
    if (needHigh) middle.push(high);
  } else {
    if (needHigh) middle.push(high);
    if (needLow) middle.push(low);
  }
  const minimal = eq(open, close) && middle.length === 0 ? 1 : 2 + middle.length;
  const slots = intervalMinutes * 60 * TICKS_PER_SECOND;
  const count = Math.min(Math.max(c.trades, minimal), slots - 1);

  const vol = parseFixed(c.volume);
  let volScale = Math.max(vol.scale, 8);
  let units = rescaleUp(vol, volScale).units;
  while (units > 0n && units < BigInt(count)) {
    volScale += 1;
    units *= 10n;
  }
  const q = units / BigInt(count);
  const r = Number(units % BigInt(count));

  const special = new Map<number, PricePoint>();
  special.set(0, open);
  if (count > 1) special.set(count - 1, close);
  middle.forEach((p, k) => special.set(1 + Math.floor((k * (count - 2)) / middle.length), p));

  const k = Math.min(SEGMENTS, count);
  const seg: PricePoint[] = [];
  const span = subFixed(close.value, open.value);
  for (let s = 0; s < k; s++) {
    const num = addFixed(mulInt(open.value, BigInt(2 * k)), mulInt(span, BigInt(2 * s + 1)));
    const value = divFixed(num, fixedFromBigInt(BigInt(2 * k)), priceScale);
    seg.push({ text: formatFixed(value), value });
  }
  return { count, slots, priceScale, volScale, q, r, special, seg };
}

function segOf(plan: Plan, i: number): number {
  return Math.floor((i * plan.seg.length) / plan.count);
}

function priceAt(plan: Plan, i: number): PricePoint {
  return plan.special.get(i) ?? plan.seg[segOf(plan, i)]!;
}

function volUnitsAt(plan: Plan, i: number): bigint {
  return plan.q + (i < plan.r ? 1n : 0n);
}

function sumVolUnits(plan: Plan, a: number, b: number): bigint {
  if (b <= a) return 0n;
  return BigInt(b - a) * plan.q + BigInt(Math.max(0, Math.min(b, plan.r) - a));
}

/** offset of trade i from the candle's open, in 100 µs ticks: strictly inside the interval */
function tickOffset(plan: Plan, i: number): number {
  return Math.floor(((i + 1) * plan.slots) / (plan.count + 1));
}

interface Summary {
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  vwap: string | null;
  count: number;
}

/** The candle made by the first j trades of a plan, computed per segment rather than per trade. */
function summarise(plan: Plan, j: number): Summary {
  let pv: Fixed = ZERO;
  let hi: PricePoint | null = null;
  let lo: PricePoint | null = null;
  const consider = (p: PricePoint) => {
    if (!hi || compareFixed(p.value, hi.value) > 0) hi = p;
    if (!lo || compareFixed(p.value, lo.value) < 0) lo = p;
  };
  const k = plan.seg.length;
  const specialVol = new Array<bigint>(k).fill(0n);
  const specialCount = new Array<number>(k).fill(0);
  for (const [i, p] of [...plan.special.entries()].sort((a, b) => a[0] - b[0])) {
    if (i >= j) continue;
    const v = volUnitsAt(plan, i);
    pv = addFixed(pv, mulFixed(p.value, fixedFromBigInt(v, plan.volScale)));
    consider(p);
    const s = segOf(plan, i);
    specialVol[s]! += v;
    specialCount[s]! += 1;
  }
  for (let s = 0; s < k; s++) {
    const a = Math.ceil((s * plan.count) / k);
    const b = Math.min(Math.ceil(((s + 1) * plan.count) / k), j);
    if (b <= a) continue;
    if (b - a - specialCount[s]! <= 0) continue;
    const fillerVol = sumVolUnits(plan, a, b) - specialVol[s]!;
    pv = addFixed(pv, mulFixed(plan.seg[s]!.value, fixedFromBigInt(fillerVol, plan.volScale)));
    consider(plan.seg[s]!);
  }
  const volume = sumVolUnits(plan, 0, j);
  const h = hi as PricePoint | null;
  const l = lo as PricePoint | null;
  return {
    open: priceAt(plan, 0).text,
    high: h ? h.text : priceAt(plan, 0).text,
    low: l ? l.text : priceAt(plan, 0).text,
    close: priceAt(plan, Math.max(0, j - 1)).text,
    volume: formatFixed(fixedFromBigInt(volume, plan.volScale)),
    vwap: volume === 0n ? null : formatFixed(divFixed(pv, fixedFromBigInt(volume, plan.volScale), plan.priceScale)),
    count: j,
  };
}

/**
 * Every synthetic trade of one candle, as the Trades endpoint would serve them (times in
 * Unix seconds). For tests that check the synthesis itself; the server never materialises this.
 */
export function synthesizeTrades(candle: ExactCandle, intervalMinutes: number): { price: string; volume: string; time: number }[] {
  const plan = buildPlan(candle, intervalMinutes);
  const base = candle.time * TICKS_PER_SECOND;
  return Array.from({ length: plan.count }, (_, i) => ({
    price: priceAt(plan, i).text,
    volume: formatFixed(fixedFromBigInt(volUnitsAt(plan, i), plan.volScale)),
    time: (base + tickOffset(plan, i)) / TICKS_PER_SECOND,
  }));
}

// ---------------------------------------------------------------------------------------------
// The server

function krakenBody(result: unknown): string {
  return JSON.stringify({ error: [], result });
}

function errorBody(...errors: string[]): string {
  return JSON.stringify({ error: errors });
}

function lowerBound(arr: readonly number[], value: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function startKrakenStandin(opts: KrakenStandinOptions = {}): Promise<KrakenStandin> {
  const initialNow = opts.now ?? DEFAULT_STANDIN_NOW;
  let now = initialNow;
  const pageSize = opts.tradesPageSize ?? TRADES_PAGE;
  const pairs = new Map<string, PairState>();
  const names = new Map<string, string>();
  let fault: (StandinFault & { remaining: number }) | null = null;
  const requests: StandinRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const indexNames = (p: PairState) => {
    for (const n of [p.key, p.entry.altname, p.entry.wsname]) if (typeof n === 'string' && n) names.set(n.toUpperCase(), p.key);
  };
  const find = (name: string): PairState | undefined => {
    const key = names.get(name.trim().toUpperCase());
    return key === undefined ? undefined : pairs.get(key);
  };

  const addPair = (input: StandinPairInput) => {
    const { key, ...rest } = input;
    const existing = pairs.get(key);
    const entry: Record<string, unknown> = {
      altname: key,
      base: key.slice(0, 3),
      quote: key.slice(-3),
      pair_decimals: 5,
      lot_decimals: 8,
      cost_decimals: 5,
      status: 'online',
      ...(existing?.entry ?? {}),
      ...rest,
    };
    const state: PairState = existing ?? { key, entry, series: new Map(), tradesInterval: null, recordedTicker: null };
    state.entry = entry;
    pairs.set(key, state);
    indexNames(state);
  };

  const pairFor = (name: string): PairState => {
    const hit = find(name);
    if (hit) return hit;
    addPair({ key: name.toUpperCase() });
    return pairs.get(name.toUpperCase())!;
  };

  const putSeries = (pair: PairState, intervalMinutes: number, candles: SourceCandle[], recordedOpen?: Map<number, OhlcRow>) => {
    if (!KRAKEN_INTERVALS.includes(intervalMinutes)) throw new Error(`kraken stand-in: Kraken has no ${intervalMinutes}-minute interval`);
    const existing = pair.series.get(intervalMinutes);
    const merged = new Map<number, SourceCandle>();
    for (const c of existing?.candles ?? []) merged.set(c.time, c);
    for (const c of candles) merged.set(c.time, c);
    const sorted = [...merged.values()].sort((a, b) => a.time - b.time);
    const series: Series = {
      intervalMinutes,
      candles: sorted,
      times: sorted.map((c) => c.time),
      byTime: new Map(sorted.map((c, i) => [c.time, i])),
      recordedOpen: new Map([...(existing?.recordedOpen ?? []), ...(recordedOpen ?? [])]),
      missing: existing?.missing ?? new Set(),
      plans: new Map(),
    };
    pair.series.set(intervalMinutes, series);
  };

  const addSeries = (input: StandinSeriesInput) => {
    const pair = pairFor(input.pair);
    let candles: ExactCandle[];
    if (input.candles) candles = input.candles;
    else if (input.csv !== undefined) candles = parseCandles(input.csv, input.intervalMinutes, `series ${input.pair}/${input.intervalMinutes}`);
    else if (input.file) candles = loadCandleFile(input.file, input.intervalMinutes);
    else throw new Error('kraken stand-in: a series needs candles, csv or file');
    putSeries(pair, input.intervalMinutes, candles);
  };

  if (opts.defaults ?? true) {
    const ap = readJson(STANDIN_FILES.assetPairs) as { result: Record<string, Record<string, unknown>> };
    for (const [key, entry] of Object.entries(ap.result)) addPair({ key, ...entry });
    addSeries({ pair: 'XXBTZUSD', intervalMinutes: 1440, file: STANDIN_FILES.btcDaily });
    addSeries({ pair: 'XETHZUSD', intervalMinutes: 1440, file: STANDIN_FILES.ethDaily });
    addSeries({ pair: 'XXBTZUSD', intervalMinutes: 60, file: STANDIN_FILES.btcHourly });
    // The recorded OHLC answer extends the daily BTC series into 2025-2026 (after a real gap
    // in the data we hold), and its still-open row is served verbatim inside its day.
    const rec = readJson(STANDIN_FILES.ohlcBtcDaily) as { result: { XXBTZUSD: OhlcRow[]; last: number } };
    const rows = rec.result.XXBTZUSD;
    const closed = rows.filter((r) => r[0] <= rec.result.last);
    const open = rows.filter((r) => r[0] > rec.result.last);
    putSeries(
      pairs.get('XXBTZUSD')!,
      1440,
      closed.map(([time, o, h, l, c, vwap, volume, count]) => ({ time, open: o, high: h, low: l, close: c, volume, trades: count, recordedVwap: vwap })),
      new Map(open.map((r) => [r[0], r])),
    );
    const openTime = open[0]?.[0];
    if (openTime !== undefined) {
      const ticker = readJson(STANDIN_FILES.tickerBtc) as { result: Record<string, unknown> };
      pairs.get('XXBTZUSD')!.recordedTicker = { from: openTime, to: openTime + 86400, body: ticker.result.XXBTZUSD };
    }
  }
  for (const p of opts.pairs ?? []) addPair(p);
  for (const s of opts.series ?? []) addSeries(s);

  // ---- per-series helpers ----

  const planOf = (series: Series, idx: number): Plan => {
    let plan = series.plans.get(idx);
    if (!plan) {
      plan = buildPlan(series.candles[idx]!, series.intervalMinutes);
      series.plans.set(idx, plan);
    }
    return plan;
  };

  const visible = (series: Series, idx: number) => !series.missing.has(series.times[idx]!);

  const closedRow = (series: Series, idx: number): OhlcRow => {
    const c = series.candles[idx]!;
    const vwap = c.recordedVwap ?? summarise(planOf(series, idx), planOf(series, idx).count).vwap ?? c.close;
    return [c.time, c.open, c.high, c.low, c.close, vwap, c.volume, c.trades];
  };

  const lastCloseBefore = (series: Series, time: number): string | null => {
    for (let i = lowerBound(series.times, time) - 1; i >= 0; i--) if (visible(series, i)) return series.candles[i]!.close;
    return null;
  };

  const openRow = (series: Series, openTime: number, at = now): OhlcRow | null => {
    const recorded = series.recordedOpen.get(openTime);
    if (recorded) return recorded;
    const idx = series.byTime.get(openTime);
    if (idx !== undefined && visible(series, idx)) {
      const plan = planOf(series, idx);
      // trades strictly before `at`: offset(i) <= elapsed ticks - 1
      const elapsed = (at - openTime) * TICKS_PER_SECOND;
      const j = Math.min(plan.count, Math.max(0, Math.ceil((elapsed * (plan.count + 1)) / plan.slots) - 1));
      if (j > 0) {
        const s = summarise(plan, j);
        return [openTime, s.open, s.high, s.low, s.close, s.vwap ?? s.close, s.volume, s.count];
      }
    }
    const prev = lastCloseBefore(series, openTime);
    if (prev === null) return null;
    return [openTime, prev, prev, prev, prev, prev, '0.00000000', 0];
  };

  // ---- endpoints ----

  type Answer = { status: number; body: string };

  const assetPairs = (q: Record<string, string>): Answer => {
    const wanted = q.pair ? q.pair.split(',') : null;
    const result: Record<string, unknown> = {};
    if (wanted) {
      for (const name of wanted) {
        const p = find(name);
        if (!p) return { status: 200, body: errorBody('EQuery:Unknown asset pair') };
        result[p.key] = p.entry;
      }
    } else {
      for (const p of pairs.values()) result[p.key] = p.entry;
    }
    return { status: 200, body: krakenBody(result) };
  };

  const ohlc = (q: Record<string, string>): Answer => {
    if (!q.pair) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
    const pair = find(q.pair);
    if (!pair) return { status: 200, body: errorBody('EQuery:Unknown asset pair') };
    const interval = q.interval === undefined ? 1 : Number(q.interval);
    if (!KRAKEN_INTERVALS.includes(interval)) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
    if (q.since !== undefined && !/^\d+$/.test(q.since)) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
    const since = q.since === undefined ? -Infinity : Number(q.since);
    const step = interval * 60;
    const openTime = Math.floor(now / step) * step;
    const rows: OhlcRow[] = [];
    const series = pair.series.get(interval);
    if (series) {
      // 720 intervals including the open one, counted in time, not rows: Kraken keeps no row
      // for an interval without trades, and a gap does not reach further back.
      const from = Math.max(openTime - (OHLC_WINDOW - 1) * step, since + 1);
      for (let i = lowerBound(series.times, from); i < series.times.length && series.times[i]! < openTime; i++) {
        if (visible(series, i)) rows.push(closedRow(series, i));
      }
      if (openTime > since) {
        const open = openRow(series, openTime);
        if (open) rows.push(open);
      }
    }
    // `last` is the open time of the newest committed interval: the cursor to poll with.
    return { status: 200, body: krakenBody({ [pair.key]: rows, last: openTime - step }) };
  };

  const tradesSeries = (pair: PairState): Series | undefined => {
    if (pair.tradesInterval !== null) return pair.series.get(pair.tradesInterval);
    const finest = [...pair.series.keys()].sort((a, b) => a - b)[0];
    return finest === undefined ? undefined : pair.series.get(finest);
  };

  const trades = (q: Record<string, string>): Answer => {
    if (!q.pair) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
    const pair = find(q.pair);
    if (!pair) return { status: 200, body: errorBody('EQuery:Unknown asset pair') };
    if (q.since !== undefined && !/^\d{1,25}$/.test(q.since)) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
    let limit = pageSize;
    if (q.count !== undefined) {
      const n = Number(q.count);
      if (!Number.isInteger(n) || n < 1 || n > 1000) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
      limit = Math.min(limit, n);
    }
    const series = tradesSeries(pair);
    const out: unknown[] = [];
    // Short numbers are Unix seconds, long ones nanoseconds, as Kraken accepts both.
    const sinceNs = q.since === undefined ? null : q.since.length <= 11 ? BigInt(q.since) * 1_000_000_000n : BigInt(q.since);
    let lastNs = sinceNs ?? BigInt(now) * 1_000_000_000n;
    if (series && series.times.length > 0) {
      const step = series.intervalMinutes * 60;
      const closedEnd = lowerBound(series.times, Math.floor(now / step) * step - step + 1); // candles with time + step <= now
      let idx: number;
      let i: number;
      if (sinceNs === null) {
        // No cursor: the most recent `limit` trades, as Kraken does.
        idx = closedEnd;
        i = 0;
        let need = limit;
        while (idx > 0 && need > 0) {
          idx--;
          if (!visible(series, idx)) continue;
          const n = planOf(series, idx).count;
          if (n >= need) {
            i = n - need;
            need = 0;
          } else need -= n;
        }
      } else {
        const sinceTicks = Number(sinceNs / 100_000n); // trades strictly after since: ticks > floor(since / 100 µs)
        idx = lowerBound(series.times, Math.floor(sinceTicks / TICKS_PER_SECOND) - step + 1);
        i = 0;
        while (idx < closedEnd) {
          const base = series.times[idx]! * TICKS_PER_SECOND;
          if (base + step * TICKS_PER_SECOND <= sinceTicks) {
            idx++;
            continue;
          }
          const plan = planOf(series, idx);
          const off = sinceTicks - base;
          i = off < 0 ? 0 : Math.max(0, Math.ceil(((off + 1) * (plan.count + 1)) / plan.slots) - 1);
          while (i < plan.count && tickOffset(plan, i) <= off) i++;
          if (i < plan.count) break;
          idx++;
          i = 0;
        }
      }
      while (out.length < limit && idx < closedEnd) {
        if (!visible(series, idx)) {
          idx++;
          i = 0;
          continue;
        }
        const plan = planOf(series, idx);
        const base = series.times[idx]! * TICKS_PER_SECOND;
        for (; i < plan.count && out.length < limit; i++) {
          const ticks = base + tickOffset(plan, i);
          const price = priceAt(plan, i).text;
          const volume = formatFixed(fixedFromBigInt(volUnitsAt(plan, i), plan.volScale));
          const side = i % 3 === 1 ? 's' : 'b';
          const type = i % 5 === 4 ? 'l' : 'm';
          // Ids only need to grow: candle index in the high digits, trade index below.
          out.push([price, volume, ticks / TICKS_PER_SECOND, side, type, '', idx * 1_000_000 + i + 1]);
          lastNs = BigInt(ticks) * 100_000n;
        }
        if (i >= plan.count) {
          idx++;
          i = 0;
        }
      }
    }
    return { status: 200, body: krakenBody({ [pair.key]: out, last: lastNs.toString() }) };
  };

  const ticker = (q: Record<string, string>): Answer => {
    if (!q.pair) return { status: 200, body: errorBody('EGeneral:Invalid arguments') };
    const result: Record<string, unknown> = {};
    for (const name of q.pair.split(',')) {
      const pair = find(name);
      if (!pair) return { status: 200, body: errorBody('EQuery:Unknown asset pair') };
      result[pair.key] = tickerFor(pair);
    }
    return { status: 200, body: krakenBody(result) };
  };

  /** Today's and the last 24 hours' figures from the finest series at `now`. */
  const tickerFor = (pair: PairState): unknown => {
    const rec = pair.recordedTicker;
    if (rec && now >= rec.from && now < rec.to) return rec.body;
    const finest = [...pair.series.keys()].sort((a, b) => a - b)[0];
    const series = finest === undefined ? undefined : pair.series.get(finest);
    const rowsSince = (from: number): OhlcRow[] => {
      if (!series) return [];
      const step = series.intervalMinutes * 60;
      const openTime = Math.floor(now / step) * step;
      const rows: OhlcRow[] = [];
      for (let i = lowerBound(series.times, from); i < series.times.length && series.times[i]! < openTime; i++) {
        if (visible(series, i)) rows.push(closedRow(series, i));
      }
      const open = openRow(series, openTime);
      if (open && open[0] >= from) rows.push(open);
      return rows;
    };
    const combine = (rows: OhlcRow[]) => {
      if (rows.length === 0) return null;
      let high = parseFixed(rows[0]![2]);
      let low = parseFixed(rows[0]![3]);
      let vol: Fixed = ZERO;
      let pv: Fixed = ZERO;
      let count = 0;
      let highText = rows[0]![2];
      let lowText = rows[0]![3];
      for (const r of rows) {
        const h = parseFixed(r[2]);
        const l = parseFixed(r[3]);
        if (compareFixed(h, high) > 0) [high, highText] = [h, r[2]];
        if (compareFixed(l, low) < 0) [low, lowText] = [l, r[3]];
        const v = parseFixed(r[6]);
        vol = addFixed(vol, v);
        pv = addFixed(pv, mulFixed(parseFixed(r[5]), v));
        count += r[7];
      }
      const scale = Math.max(...rows.map((r) => decimalPlaces(r[4])));
      return {
        open: rows[0]![1],
        close: rows[rows.length - 1]![4],
        high: highText,
        low: lowText,
        volume: formatFixed(vol),
        vwap: vol.units === 0n ? rows[rows.length - 1]![4] : formatFixed(divFixed(pv, vol, scale)),
        count,
      };
    };
    const today = combine(rowsSince(Math.floor(now / 86400) * 86400));
    const day = combine(rowsSince(now - 86400 + 1));
    const last = day?.close ?? today?.close ?? '0';
    const t = today ?? { open: last, close: last, high: last, low: last, volume: '0.00000000', vwap: last, count: 0 };
    const d = day ?? t;
    return {
      a: [last, '1', '1.000'],
      b: [last, '1', '1.000'],
      c: [last, '0.00100000'],
      v: [t.volume, d.volume],
      p: [t.vwap, d.vwap],
      t: [t.count, d.count],
      l: [t.low, d.low],
      h: [t.high, d.high],
      o: t.open,
    };
  };

  const handlers: Record<StandinEndpoint, (q: Record<string, string>) => Answer> = {
    AssetPairs: assetPairs,
    OHLC: ohlc,
    Trades: trades,
    Ticker: ticker,
  };

  // ---- faults and HTTP ----

  const takeFault = (endpoint: string): StandinFault | null => {
    if (!fault || fault.kind === 'missing-candles') return null;
    if (fault.endpoints && !fault.endpoints.includes(endpoint as StandinEndpoint)) return null;
    if (fault.remaining <= 0) return null;
    fault.remaining -= 1;
    const f = fault;
    if (fault.remaining <= 0) fault = null;
    return f;
  };

  const send = (res: ServerResponse, a: Answer, contentType = 'application/json; charset=utf-8') => {
    if (res.destroyed) return;
    res.writeHead(a.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(a.body) });
    res.end(a.body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://standin');
    const query = Object.fromEntries(url.searchParams);
    const m = /^\/0\/public\/([A-Za-z]+)$/.exec(url.pathname);
    const endpoint = m?.[1] ?? url.pathname;
    const log = (status: number, f?: StandinFault) => requests.push({ endpoint, query, status, now, ...(f ? { fault: f.kind } : {}) });
    const handler = m && Object.hasOwn(handlers, endpoint) ? handlers[endpoint as StandinEndpoint] : undefined;
    if (!handler) {
      log(404);
      send(res, { status: 404, body: errorBody('EGeneral:Unknown method') });
      return;
    }
    const f = takeFault(endpoint);
    const answer = () => {
      let a: Answer;
      try {
        a = handler(query);
      } catch (err) {
        a = { status: 500, body: errorBody(`EGeneral:Internal error`) };
        console.error('kraken stand-in handler failed', err);
      }
      log(a.status, f ?? undefined);
      send(res, a);
    };
    if (!f) return answer();
    switch (f.kind) {
      case 'rate-limit':
        log(200, f);
        return send(res, { status: 200, body: errorBody('EAPI:Rate limit exceeded') });
      case 'service-unavailable':
        log(200, f);
        return send(res, { status: 200, body: errorBody(f.message ?? 'EService:Unavailable') });
      case 'kraken-error':
        log(200, f);
        return send(res, { status: 200, body: errorBody(f.error) });
      case 'http-error': {
        const status = f.status ?? 502;
        log(status, f);
        return send(res, { status, body: `<html><body><h1>${status}</h1>upstream error</body></html>` }, 'text/html');
      }
      case 'garbage':
        log(200, f);
        return send(res, { status: 200, body: f.body ?? '<html>cloudflare says hi' }, 'text/html');
      case 'disconnect':
        log(0, f);
        req.socket.destroy();
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, f.delayMs);
        timers.add(timer);
        return;
      }
      case 'missing-candles':
        return answer();
    }
  };

  const setFault = (f: StandinFault | null) => {
    if (f === null) {
      fault = null;
      for (const p of pairs.values()) for (const s of p.series.values()) s.missing.clear();
      return;
    }
    if (f.kind === 'missing-candles') {
      const pair = find(f.pair);
      const series = pair?.series.get(f.intervalMinutes);
      if (!series) throw new Error(`kraken stand-in: no ${f.intervalMinutes}-minute series for ${f.pair}`);
      for (const t of f.times) series.missing.add(t);
      return;
    }
    fault = { ...f, remaining: f.times ?? 1 };
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/0/public`,
    port: address.port,
    now: () => now,
    setNow(t: number) {
      if (!Number.isInteger(t)) throw new RangeError(`now must be whole Unix seconds, got ${t}`);
      now = t;
    },
    advance(seconds: number) {
      now += Math.round(seconds);
    },
    setFault,
    reset() {
      now = initialNow;
      setFault(null);
      for (const p of pairs.values()) p.tradesInterval = null;
      requests.length = 0;
    },
    addPair,
    addSeries,
    setTradesSource(name: string, intervalMinutes: number) {
      const pair = find(name);
      if (!pair?.series.has(intervalMinutes)) throw new Error(`kraken stand-in: no ${intervalMinutes}-minute series for ${name}`);
      pair.tradesInterval = intervalMinutes;
    },
    candleAt(name: string, intervalMinutes: number, openTime: number, at?: number) {
      const series = find(name)?.series.get(intervalMinutes);
      if (!series) return null;
      const step = intervalMinutes * 60;
      const when = Math.min(at ?? now, openTime + step);
      const idx = series.byTime.get(openTime);
      if (idx === undefined || when <= openTime) return null;
      const row = when >= openTime + step ? closedRow(series, idx) : openRow(series, openTime, when);
      if (!row || (when < openTime + step && row[7] === 0)) return null;
      const [time, open, high, low, close, vwap, volume, trades] = row;
      return { time, open, high, low, close, vwap, volume, trades };
    },
    sourceCandles(name: string, intervalMinutes: number) {
      return find(name)?.series.get(intervalMinutes)?.candles ?? [];
    },
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
