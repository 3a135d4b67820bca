/**
 * Candle CSV import: Kraken's bulk OHLCVT files (no header) and ordinary exported CSVs with a
 * header in any column order. Pure: text in, candles or a list of row errors out.
 *
 * Lines are split here rather than by csv-parse because import errors must name the exact
 * line a person sees in an editor, and csv-parse's line counter drifts after skipped blank
 * lines. Candle files have no multi-line fields, so a line-based reader loses nothing.
 */
import type { ExactCandle } from '../../../platform/candle.js';
import { compareFixed, parseFixed, toPlainDecimal, tryParseFixed, type Fixed } from './decimal.js';

export type CandleCsvFormat = 'kraken-ohlcvt' | 'kraken-ohlcv' | 'header';
export type CandleCsvOrder = 'ascending' | 'descending' | 'unordered';

export interface CsvRowError {
  /** 1-based line number in the file, as an editor shows it */
  line: number;
  reason: string;
}

export type CandleCsvResult =
  | { ok: true; candles: ExactCandle[]; format: CandleCsvFormat; order: CandleCsvOrder }
  | { ok: false; errors: CsvRowError[]; truncated: boolean; format: CandleCsvFormat | null };

export interface ParseCandleCsvOptions {
  intervalMinutes: number;
  /** stop collecting after this many errors (the file is rejected either way); default 200 */
  maxErrors?: number;
}

type Field = 'time' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'trades' | 'vwap';

const HEADER_NAMES: Record<string, Field> = {
  time: 'time',
  timestamp: 'time',
  date: 'time',
  datetime: 'time',
  unix: 'time',
  unixtime: 'time',
  opentime: 'time',
  timeopen: 'time',
  ts: 'time',
  open: 'open',
  o: 'open',
  high: 'high',
  h: 'high',
  low: 'low',
  l: 'low',
  close: 'close',
  c: 'close',
  volume: 'volume',
  vol: 'volume',
  v: 'volume',
  trades: 'trades',
  count: 'trades',
  tradecount: 'trades',
  tradescount: 'trades',
  numberoftrades: 'trades',
  numtrades: 'trades',
  ntrades: 'trades',
  vwap: 'vwap',
};
const REQUIRED: readonly Field[] = ['time', 'open', 'high', 'low', 'close', 'volume'];
const KRAKEN_COLUMNS: readonly Field[] = ['time', 'open', 'high', 'low', 'close', 'volume', 'trades'];

type TimeKind = 'unix seconds' | 'unix milliseconds' | 'ISO date';

/** Splits one CSV line; handles quoted fields with embedded delimiters and doubled quotes. */
function splitLine(line: string, delimiter: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    while ((line[i] === ' ' || line[i] === '\t') && line[i] !== delimiter) i++;
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        const ch = line[i]!;
        if (ch === '"') {
          if (line[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += ch;
        i++;
      }
      while (i < line.length && line[i] !== delimiter) {
        if (line[i] !== ' ' && line[i] !== '\t') return null;
        i++;
      }
    } else {
      const end = line.indexOf(delimiter, i);
      cell = end === -1 ? line.slice(i) : line.slice(i, end);
      i = end === -1 ? line.length : end;
    }
    out.push(cell.trim());
    if (i >= line.length) return out;
    i++; // the delimiter
  }
}

function detectDelimiter(firstLine: string): string {
  if (firstLine.includes(',')) return ',';
  if (firstLine.includes(';')) return ';';
  if (firstLine.includes('\t')) return '\t';
  return ',';
}

function normaliseHeader(name: string): string {
  return name.toLowerCase().replace(/[\s_\-.()[\]"']/g, '');
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

function parseTime(raw: string): { seconds: number; kind: TimeKind } | { error: string } {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    // 1e11 seconds is the year 5138, so anything that long is milliseconds.
    if (raw.length >= 12) {
      if (n % 1000 !== 0) return { error: `time ${raw} (unix milliseconds) is not on a whole second` };
      return { seconds: n / 1000, kind: 'unix milliseconds' };
    }
    return { seconds: n, kind: 'unix seconds' };
  }
  if (/^\d+\.\d+$/.test(raw)) {
    const [int, frac] = raw.split('.') as [string, string];
    if (/^0+$/.test(frac) && int.length < 12) return { seconds: Number(int), kind: 'unix seconds' };
    return { error: `time ${raw} is not a whole number of seconds` };
  }
  const m = ISO_RE.exec(raw);
  if (m) {
    const [, y, mo, d, hh, mi, ss, frac, zone] = m;
    if (frac !== undefined && !/^\.0+$/.test(frac)) return { error: `time ${raw} has fractions of a second` };
    const zonePart = zone === undefined || zone.toUpperCase() === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const text = `${y}-${mo}-${d}T${hh ?? '00'}:${mi ?? '00'}:${ss ?? '00'}${zonePart}`;
    const ms = Date.parse(text);
    // Date.parse rolls 2023-02-30 over to March; a calendar check catches that.
    const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    const calendarOk = day.getUTCFullYear() === Number(y) && day.getUTCMonth() + 1 === Number(mo) && day.getUTCDate() === Number(d);
    if (Number.isNaN(ms) || !calendarOk || Number(hh ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(ss ?? 0) > 59) {
      return { error: `time ${raw} is not a valid date` };
    }
    // Dates without a zone are read as UTC: candle files are UTC by convention, and a
    // server's local zone must not shift imported history.
    return { seconds: ms / 1000, kind: 'ISO date' };
  }
  return { error: `time ${JSON.stringify(raw)} is not unix seconds, unix milliseconds or an ISO date` };
}

function positiveDecimal(raw: string, name: string, errors: string[]): { text: string; value: Fixed } | null {
  const f = tryParseFixed(raw);
  if (!f) {
    errors.push(`${name} ${JSON.stringify(raw)} is not a number`);
    return null;
  }
  if (f.units <= 0n) {
    errors.push(`${name} ${raw} must be greater than 0`);
    return null;
  }
  return { text: PLAIN_RE.test(raw) ? raw : toPlainDecimal(raw), value: f };
}

const PLAIN_RE = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;

/**
 * Parses a candle CSV for one interval. Returns every candle sorted ascending, or (if any row
 * is bad) the list of row errors and no candles, so an import is all-or-nothing by default.
 * Kraken's 6-column variant has no trade count: those candles get `trades: 0`.
 */
export function parseCandleCsv(input: string | Uint8Array, opts: ParseCandleCsvOptions): CandleCsvResult {
  const step = opts.intervalMinutes * 60;
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`intervalMinutes must be a positive integer, got ${opts.intervalMinutes}`);
  const maxErrors = opts.maxErrors ?? 200;
  let text = typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r\n|\n|\r/);

  const errors: CsvRowError[] = [];
  let truncated = false;
  const fail = (line: number, reason: string) => {
    if (errors.length >= maxErrors) {
      truncated = true;
      return;
    }
    errors.push({ line, reason });
  };

  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (first >= lines.length) return { ok: false, errors: [{ line: 1, reason: 'the file has no rows' }], truncated: false, format: null };

  const delimiter = detectDelimiter(lines[first]!);
  const firstCells = splitLine(lines[first]!, delimiter);
  if (!firstCells) return { ok: false, errors: [{ line: first + 1, reason: 'unbalanced quotes' }], truncated: false, format: null };

  let format: CandleCsvFormat;
  let columns: Map<Field, number>;
  let expectedCells: number;
  let dataStart: number;
  if (firstCells.every((c) => tryParseFixed(c) !== null)) {
    if (firstCells.length !== 6 && firstCells.length !== 7) {
      return {
        ok: false,
        errors: [{ line: first + 1, reason: `a file without a header must be Kraken OHLCVT with 6 or 7 columns (time,open,high,low,close,volume[,trades]); found ${firstCells.length}` }],
        truncated: false,
        format: null,
      };
    }
    format = firstCells.length === 7 ? 'kraken-ohlcvt' : 'kraken-ohlcv';
    columns = new Map(KRAKEN_COLUMNS.slice(0, firstCells.length).map((f, i) => [f, i]));
    expectedCells = firstCells.length;
    dataStart = first;
  } else {
    format = 'header';
    columns = new Map();
    const volumeLike: number[] = [];
    firstCells.forEach((name, i) => {
      const key = normaliseHeader(name);
      const field = HEADER_NAMES[key];
      if (field) {
        if (columns.has(field)) fail(first + 1, `two columns mean "${field}": "${firstCells[columns.get(field)!]}" and "${name}"`);
        else columns.set(field, i);
      } else if (key.startsWith('volume')) {
        volumeLike.push(i);
      }
    });
    // Exports such as "Volume BTC" name the unit in the header; accept it when it is the only one.
    if (!columns.has('volume') && volumeLike.length === 1) columns.set('volume', volumeLike[0]!);
    else if (!columns.has('volume') && volumeLike.length > 1) {
      fail(first + 1, `which column is the volume is ambiguous: ${volumeLike.map((i) => `"${firstCells[i]}"`).join(', ')}; rename one to "volume"`);
    }
    if (columns.size === 0 && volumeLike.length === 0) {
      return {
        ok: false,
        errors: [{ line: first + 1, reason: `no header found: the first line must name the columns (time, open, high, low, close, volume, optional trades) unless the file is Kraken OHLCVT (unix seconds, 6 or 7 numeric columns); found: ${firstCells.join(', ')}` }],
        truncated: false,
        format: null,
      };
    }
    const missing = REQUIRED.filter((f) => !columns.has(f));
    if (missing.length > 0) fail(first + 1, `missing column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (found: ${firstCells.join(', ')})`);
    if (errors.length > 0) return { ok: false, errors, truncated, format };
    expectedCells = firstCells.length;
    dataStart = first + 1;
  }

  const candles: ExactCandle[] = [];
  const seen = new Map<number, number>();
  let timeKind: { kind: TimeKind; line: number } | null = null;
  let ascending = true;
  let descending = true;
  let prevTime: number | undefined;

  const col: Partial<Record<Field, number>> = Object.fromEntries(columns);
  const iTime = col.time!;
  const iOpen = col.open!;
  const iHigh = col.high!;
  const iLow = col.low!;
  const iClose = col.close!;
  const iVolume = col.volume!;
  const iTrades = col.trades;
  const iVwap = col.vwap;
  for (let idx = dataStart; idx < lines.length; idx++) {
    if (truncated) break;
    const raw = lines[idx]!;
    if (raw.trim() === '') continue;
    const line = idx + 1;
    const cells = splitLine(raw, delimiter);
    if (!cells) {
      fail(line, 'unbalanced quotes');
      continue;
    }
    if (cells.length !== expectedCells) {
      fail(line, `expected ${expectedCells} columns, found ${cells.length}`);
      continue;
    }
    const problems: string[] = [];

    let time: number | undefined;
    const t = parseTime(cells[iTime]!);
    if ('error' in t) problems.push(t.error);
    else {
      if (timeKind && timeKind.kind !== t.kind) problems.push(`time ${cells[iTime]} is ${t.kind}, but line ${timeKind.line} used ${timeKind.kind}`);
      else {
        timeKind ??= { kind: t.kind, line };
        time = t.seconds;
        if (time % step !== 0) {
          problems.push(`time ${cells[iTime]} (${isoDate(time * 1000)}) is not aligned to the ${opts.intervalMinutes}-minute interval`);
          time = undefined;
        }
      }
    }

    const open = positiveDecimal(cells[iOpen]!, 'open', problems);
    const high = positiveDecimal(cells[iHigh]!, 'high', problems);
    const low = positiveDecimal(cells[iLow]!, 'low', problems);
    const close = positiveDecimal(cells[iClose]!, 'close', problems);

    let volume: string | undefined;
    const volRaw = cells[iVolume]!;
    const volF = tryParseFixed(volRaw);
    if (!volF) problems.push(`volume ${JSON.stringify(volRaw)} is not a number`);
    else if (volF.units < 0n) problems.push(`volume ${volRaw} must not be negative`);
    else volume = PLAIN_RE.test(volRaw) ? volRaw : toPlainDecimal(volRaw);

    let trades = 0;
    const tradesRaw = (iTrades === undefined ? undefined : cells[iTrades]);
    if (tradesRaw !== undefined) {
      if (/^\d+$/.test(tradesRaw) && Number.isSafeInteger(Number(tradesRaw))) trades = Number(tradesRaw);
      else problems.push(`trades ${JSON.stringify(tradesRaw)} is not a whole number >= 0`);
    }

    let vwap: string | null | undefined;
    const vwapRaw = (iVwap === undefined ? undefined : cells[iVwap]);
    if (vwapRaw !== undefined && vwapRaw !== '') {
      const v = positiveDecimal(vwapRaw, 'vwap', problems);
      vwap = v ? v.text : undefined;
    }

    if (open && high && low && close) {
      const top = compareFixed(open.value, close.value) >= 0 ? open : close;
      const bottom = top === open ? close : open;
      if (compareFixed(high.value, top.value) < 0) problems.push(`high ${high.text} is below ${top === open ? 'open' : 'close'} ${top.text}`);
      if (compareFixed(low.value, bottom.value) > 0) problems.push(`low ${low.text} is above ${bottom === open ? 'open' : 'close'} ${bottom.text}`);
    }

    if (time !== undefined) {
      const firstLine = seen.get(time);
      if (firstLine !== undefined) problems.push(`duplicate time ${cells[iTime]} (${isoDate(time * 1000)}), first on line ${firstLine}`);
      else {
        seen.set(time, line);
        if (prevTime !== undefined) {
          if (time <= prevTime) ascending = false;
          if (time >= prevTime) descending = false;
        }
        prevTime = time;
      }
    }

    if (problems.length > 0) {
      for (const p of problems) fail(line, p);
      continue;
    }
    const candle: ExactCandle = { time: time!, open: open!.text, high: high!.text, low: low!.text, close: close!.text, volume: volume!, trades };
    if (vwap !== undefined) candle.vwap = vwap;
    candles.push(candle);
  }

  if (errors.length > 0) return { ok: false, errors, truncated, format };
  if (candles.length === 0) return { ok: false, errors: [{ line: dataStart + 1, reason: 'the file has no candle rows' }], truncated: false, format };
  const order: CandleCsvOrder = ascending ? 'ascending' : descending ? 'descending' : 'unordered';
  if (order === 'descending') candles.reverse();
  else if (order === 'unordered') candles.sort((a, b) => a.time - b.time);
  return { ok: true, candles, format, order };
}

/** One readable line per error, e.g. for a CLI or a 422 body. */
export function formatCsvErrors(errors: readonly CsvRowError[], truncated = false): string {
  const lines = errors.map((e) => `line ${e.line}: ${e.reason}`);
  if (truncated) lines.push('(more errors not shown)');
  return lines.join('\n');
}

// Kept for callers that hold parsed values and want the same rule the parser applies.
export function checkOhlc(c: Pick<ExactCandle, 'open' | 'high' | 'low' | 'close'>): string | null {
  const o = parseFixed(c.open);
  const h = parseFixed(c.high);
  const l = parseFixed(c.low);
  const cl = parseFixed(c.close);
  for (const [name, v] of [['open', o], ['high', h], ['low', l], ['close', cl]] as const) if (v.units <= 0n) return `${name} must be greater than 0`;
  if (compareFixed(h, o) < 0 || compareFixed(h, cl) < 0) return 'high is below open or close';
  if (compareFixed(l, o) > 0 || compareFixed(l, cl) > 0) return 'low is above open or close';
  return null;
}
