/**
 * Numbers and times formatted for people. Every time shown states its time zone (the user's
 * preference, UTC by default), and carries the exact ISO instant in a <time> element so
 * nothing is lost. Pure functions: the view gets a `fmt` object bound to one time zone.
 */

const LOCALE = 'en-GB';

/** A valid IANA zone name, or undefined. Intl throws RangeError on an unknown zone. */
export function validTimeZone(tz: string | null | undefined): string | undefined {
  if (!tz) return undefined;
  try {
    new Intl.DateTimeFormat(LOCALE, { timeZone: tz });
    return tz;
  } catch {
    return undefined;
  }
}

/** The zones offered on the account page (UTC first). */
export function timeZones(): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return ['UTC', ...all.filter((z) => z !== 'UTC')];
}

type DateInput = Date | string | number | null | undefined;

function toDate(v: DateInput): Date | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function numberFormat(opts: Intl.NumberFormatOptions, locale = LOCALE): Intl.NumberFormat {
  const key = 'n' + locale + JSON.stringify(opts);
  let f = cache.get(key) as Intl.NumberFormat | undefined;
  if (!f) cache.set(key, (f = new Intl.NumberFormat(locale, opts)));
  return f;
}
function dateFormat(opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = 'd' + JSON.stringify(opts);
  let f = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!f) cache.set(key, (f = new Intl.DateTimeFormat(LOCALE, opts)));
  return f;
}

const DASH = '–';

/** 12,345.68 (fixed decimals). */
export function formatNumber(v: number | null | undefined, decimals = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  return numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(v);
}

/** 1.2k, 3.4M: for volumes and counts where the exact value would be noise. */
export function formatCompact(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  // en-GB writes "1.2m"; traders read "1.2M".
  return numberFormat({ notation: 'compact', maximumFractionDigits: 1 }, 'en-US').format(v);
}

export function formatInteger(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  return numberFormat({ maximumFractionDigits: 0 }).format(v);
}

/**
 * A price with as many decimals as it needs: large prices in cents, small ones (a few cents or
 * less) with enough significant digits to see them move. `decimals` (the pair's own precision)
 * caps it when known.
 */
export function formatPrice(v: number | null | undefined, decimals?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  const abs = Math.abs(v);
  let d = abs >= 1000 ? 2 : abs >= 1 ? 4 : abs >= 0.01 ? 6 : 8;
  if (decimals !== undefined) d = Math.min(d, Math.max(0, decimals));
  if (abs >= 1000) d = Math.min(d, 2);
  return numberFormat({ minimumFractionDigits: Math.min(d, 2), maximumFractionDigits: d }).format(v);
}

/** A fraction as a percent: 0.0123 -> "1.23 %"; `signed` adds "+" for gains. */
export function formatPercent(fraction: number | null | undefined, decimals = 2, signed = false): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  const s = numberFormat({ minimumFractionDigits: decimals, maximumFractionDigits: decimals, signDisplay: signed ? 'exceptZero' : 'auto' }).format(fraction * 100);
  return `${s} %`;
}

/** "1 h 5 min", "42 s", "850 ms". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const days = Math.floor(h / 24);
  return h % 24 ? `${days} d ${h % 24} h` : `${days} d`;
}

/** Candle interval in minutes as people say it: 60 -> "1 h", 1440 -> "1 day". */
export function formatInterval(minutes: number): string {
  if (minutes % 10080 === 0) return minutes === 10080 ? '1 week' : `${minutes / 10080} weeks`;
  if (minutes % 1440 === 0) return minutes === 1440 ? '1 day' : `${minutes / 1440} days`;
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}

/** "29 Nov 2025, 18:40 UTC": date and time in `timeZone`, with the zone named. */
export function formatDateTime(v: DateInput, timeZone = 'UTC', withSeconds = false): string {
  const d = toDate(v);
  if (!d) return DASH;
  return dateFormat({ timeZone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', ...(withSeconds ? { second: '2-digit' } : {}), hourCycle: 'h23', timeZoneName: 'short' }).format(d);
}

/** "29 Nov 2025" in `timeZone`. */
export function formatDate(v: DateInput, timeZone = 'UTC'): string {
  const d = toDate(v);
  if (!d) return DASH;
  return dateFormat({ timeZone, day: 'numeric', month: 'short', year: 'numeric' }).format(d);
}

/** "3 min ago", "in 2 h": relative to `now`. */
export function formatRelative(v: DateInput, now: Date): string {
  const d = toDate(v);
  if (!d) return DASH;
  const diff = d.getTime() - now.getTime();
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(LOCALE, { numeric: 'auto' });
  if (abs < 45_000) return 'just now';
  if (abs < 3_600_000) return rtf.format(Math.round(diff / 60_000), 'minute');
  if (abs < 86_400_000 * 2) return rtf.format(Math.round(diff / 3_600_000), 'hour');
  return rtf.format(Math.round(diff / 86_400_000), 'day');
}

/** The value for an <input type="datetime-local"> or type="date" in `timeZone`. */
export function toLocalInput(v: DateInput, timeZone = 'UTC', dateOnly = false): string {
  const d = toDate(v);
  if (!d) return '';
  const parts = Object.fromEntries(
    dateFormat({ timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return dateOnly ? date : `${date}T${parts.hour}:${parts.minute}`;
}

/** The formatters a view uses, bound to the viewer's time zone and the request's "now". */
export interface Formatters {
  timeZone: string;
  number: typeof formatNumber;
  integer: typeof formatInteger;
  compact: typeof formatCompact;
  price: typeof formatPrice;
  percent: typeof formatPercent;
  duration: typeof formatDuration;
  interval: typeof formatInterval;
  dateTime(v: DateInput, withSeconds?: boolean): string;
  date(v: DateInput): string;
  relative(v: DateInput): string;
  /** ISO string for <time datetime> */
  iso(v: DateInput): string;
  localInput(v: DateInput, dateOnly?: boolean): string;
}

export function formatters(timeZone: string, now: Date): Formatters {
  const tz = validTimeZone(timeZone) ?? 'UTC';
  return {
    timeZone: tz,
    number: formatNumber,
    integer: formatInteger,
    compact: formatCompact,
    price: formatPrice,
    percent: formatPercent,
    duration: formatDuration,
    interval: formatInterval,
    dateTime: (v, withSeconds = false) => formatDateTime(v, tz, withSeconds),
    date: (v) => formatDate(v, tz),
    relative: (v) => formatRelative(v, now),
    iso: (v) => toDate(v)?.toISOString() ?? '',
    localInput: (v, dateOnly = false) => toLocalInput(v, tz, dateOnly),
  };
}
