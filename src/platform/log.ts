/**
 * pino JSON logs on stdout. A request id (or job run id) kept in AsyncLocalStorage is added to
 * every line written inside that request or job, so a problem can be traced end to end.
 * Recent lines are also kept in a bounded in-memory ring that admins can search.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LogContext {
  requestId?: string;
  jobRunId?: number;
  userId?: number;
}

export const logContext = new AsyncLocalStorage<LogContext>();

export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  const parent = logContext.getStore();
  return logContext.run({ ...parent, ...ctx }, fn);
}

/** Paths pino removes from every line: credentials must never reach a log. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-internal-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.passwordHash',
  '*.token',
  '*.access_token',
  '*.apiKey',
  '*.key',
  '*.secret',
  '*.secretEnc',
  '*.jwtSecret',
  '*.connectionString',
  'password',
  'token',
  'secret',
  'connectionString',
];

export interface LogRecord {
  time: number;
  level: number;
  levelName: string;
  msg: string;
  requestId?: string;
  jobRunId?: number;
  raw: string;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** A bounded ring of recent log lines (already redacted, since pino redacts before writing). */
export class LogBuffer {
  private items: (LogRecord | undefined)[];
  private next = 0;
  private count = 0;
  constructor(readonly capacity: number) {
    this.items = new Array(Math.max(0, capacity));
  }
  push(line: string): void {
    if (this.capacity === 0) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = typeof o.level === 'number' ? o.level : 30;
    this.items[this.next] = {
      time: typeof o.time === 'number' ? o.time : Date.now(),
      level,
      levelName: LEVEL_NAMES[level] ?? String(level),
      msg: typeof o.msg === 'string' ? o.msg : '',
      requestId: typeof o.requestId === 'string' ? o.requestId : typeof o.reqId === 'string' ? o.reqId : undefined,
      jobRunId: typeof o.jobRunId === 'number' ? o.jobRunId : undefined,
      raw: line.length > 4000 ? `${line.slice(0, 4000)}…` : line,
    };
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }
  /** Newest first. */
  search(q: { level?: string; text?: string; requestId?: string; jobRunId?: number; limit?: number } = {}): LogRecord[] {
    const minLevel = q.level ? (Object.entries(LEVEL_NAMES).find(([, n]) => n === q.level)?.[0] ?? '0') : '0';
    const text = q.text?.toLowerCase();
    const out: LogRecord[] = [];
    const limit = q.limit ?? 200;
    for (let i = 0; i < this.count && out.length < limit; i++) {
      const idx = (this.next - 1 - i + this.capacity) % this.capacity;
      const r = this.items[idx];
      if (!r) continue;
      if (r.level < Number(minLevel)) continue;
      if (q.requestId && r.requestId !== q.requestId) continue;
      if (q.jobRunId !== undefined && r.jobRunId !== q.jobRunId) continue;
      if (text && !r.raw.toLowerCase().includes(text)) continue;
      out.push(r);
    }
    return out;
  }
  get size(): number {
    return this.count;
  }
}

export interface CreateLoggerOptions {
  level: LevelWithSilent;
  buffer?: LogBuffer;
  /** where JSON lines go; stdout by default */
  destination?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}

export function createLogger(opts: CreateLoggerOptions): Logger {
  const dest = opts.destination ?? pino.destination({ fd: 1, sync: false });
  const buffer = opts.buffer;
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: dest }];
  if (buffer && buffer.capacity > 0) {
    streams.push({
      level: 'trace',
      stream: new Writable({
        write(chunk: Buffer, _enc, cb) {
          for (const line of chunk.toString('utf8').split('\n')) if (line) buffer.push(line);
          cb();
        },
      }),
    });
  }
  return pino(
    {
      level: opts.level,
      base: opts.base ?? { service: 'candlecast' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin() {
        const ctx = logContext.getStore();
        if (!ctx) return {};
        const out: Record<string, unknown> = {};
        if (ctx.requestId) out.requestId = ctx.requestId;
        if (ctx.jobRunId !== undefined) out.jobRunId = ctx.jobRunId;
        if (ctx.userId !== undefined) out.userId = ctx.userId;
        return out;
      },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    pino.multistream(streams),
  );
}
