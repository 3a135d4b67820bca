/** Shared bits for the market unit tests: one decimal normaliser, fake time, a log recorder. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ExactCandle } from '../../../src/platform/candle.js';
import { FakeClock } from '../../../src/platform/clock.js';
import { normalizeDecimal } from '../../../src/modules/market/candles/decimal.js';
import { KrakenHttpClient, type KrakenClientEvent, type KrakenHttpClientOptions, type KrakenLogger } from '../../../src/modules/market/kraken/index.js';
import type { KrakenStandin } from '../../support/kraken-standin.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function readProjectFile(rel: string): string {
  return readFileSync(`${ROOT}${rel}`, 'utf8');
}

/** The comparable form of a candle: every decimal through normalizeDecimal, vwap left out unless asked. */
export function norm(c: ExactCandle, withVwap = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    time: c.time,
    open: normalizeDecimal(c.open),
    high: normalizeDecimal(c.high),
    low: normalizeDecimal(c.low),
    close: normalizeDecimal(c.close),
    volume: normalizeDecimal(c.volume),
    trades: c.trades,
  };
  if (withVwap) out.vwap = c.vwap == null ? null : normalizeDecimal(c.vwap);
  return out;
}

export interface LogLine {
  level: 'warn' | 'debug';
  obj: Record<string, unknown>;
  msg: string;
}

export function recordingLogger(): { log: KrakenLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    log: {
      warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      debug: (obj, msg) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
    },
  };
}

/** A monotonic clock that moves only when something sleeps, and a record of every sleep. */
export function fakeTime(opts: { frozen?: boolean } = {}) {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      if (!opts.frozen) t += ms;
    },
  };
}

/**
 * A client wired for tests against a stand-in: no pacing, tiny deterministic backoff,
 * recorded sleeps, and a wall clock that agrees with the stand-in's "now".
 */
export function testClient(standin: KrakenStandin, overrides: Partial<KrakenHttpClientOptions> = {}) {
  const time = fakeTime();
  const logger = recordingLogger();
  const events: KrakenClientEvent[] = [];
  const client = new KrakenHttpClient({
    baseUrl: standin.url,
    minIntervalMs: 0,
    retryBaseDelayMs: 100,
    retryMaxDelayMs: 2000,
    maxRetries: 3,
    timeoutMs: 5000,
    sleep: time.sleep,
    monotonicNow: time.now,
    random: () => 0.5,
    clock: new FakeClock(standin.now() * 1000),
    log: logger.log,
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { client, time, logger, events };
}

export function requestsTo(standin: KrakenStandin, endpoint: string) {
  return standin.requests.filter((r) => r.endpoint === endpoint);
}
