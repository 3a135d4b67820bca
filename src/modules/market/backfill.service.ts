/**
 * Backfill: a pair's history from a start date to now. Kraken's OHLC endpoint holds only the
 * 720 most recent candles of an interval, so a backfill is two phases per pair:
 *
 *   1. OHLC: one call per interval stores what the window holds (from the start date on);
 *   2. Trades: everything older than the oldest candle OHLC gave is rebuilt from Kraken's
 *      Trades endpoint (1000 trades per call, about one call a second), aggregated exactly
 *      into candles of every requested interval in a single pass over the trades.
 *
 * Only missing stretches are fetched (stored candles are never fetched twice), so running a
 * backfill again costs a few calls and adds nothing. Each committed page moves a cursor on
 * the Backfill row to the start of the first candle not yet complete; a crashed or stopped
 * run resumes from there. Rows are claimed with a lease (renewed while the run is alive) so
 * two workers (an instance and the CLI, or two instances) never work the same rows.
 */
import type { ExactCandle } from '../../platform/candle.js';
import type { Clock } from '../../platform/clock.js';
import { AppError } from '../../platform/errors.js';
import { JobAbortError, type Jobs, type LaunchResult } from '../../platform/jobs.js';
import type { Logger } from '../../platform/log.js';
import { TradeAggregator } from './candles/index.js';
import { pageTrades, type KrakenApi } from './kraken/index.js';
import type { BackfillRow, BackfillStatus, MarketRepo, PairRow } from './market.repo.js';
import type { CandleStore, StoreOutcome } from './candle-store.js';
import { intervalLabel } from './candle-store.js';

/** OHLC answers at most this many intervals, the still-open one included. */
export const OHLC_WINDOW = 720;
const TRADES_PER_CALL = 1000;
/** above this many estimated Kraken calls (about 17 minutes at one call a second) a backfill must be confirmed */
export const CONFIRM_ABOVE_CALLS = 1000;
/** a claimed row whose lease was not renewed for this long belongs to a dead worker */
const LEASE_SECONDS = 90;
const HEARTBEAT_MS = 20_000;
/** per-call latency assumed on top of the pacing when estimating time */
const ASSUMED_LATENCY_MS = 300;

export interface Segment {
  /** first missing open time */
  from: number;
  /** end, exclusive */
  to: number;
}

export interface IntervalPlan {
  interval: number;
  /** aligned start of the backfill */
  from: number;
  /** oldest open time OHLC is expected to hold now */
  ohlcWindowStart: number;
  /** stretches older than the window with no stored candles (what Trades must rebuild) */
  missing: Segment[];
  missingSeconds: number;
}

export interface BackfillEstimate {
  pair: string;
  from: number;
  now: number;
  intervals: IntervalPlan[];
  ohlcCalls: number;
  tradesCalls: number;
  estimatedCalls: number;
  estimatedTrades: number;
  estimatedSeconds: number;
  /** where the trade rate came from */
  basis: 'stored candles' | 'kraken samples' | 'unknown';
  tradesPerDay: number | null;
  needsConfirmation: boolean;
  confirmAboveCalls: number;
}

interface TradeModel {
  basis: BackfillEstimate['basis'];
  /** average trades per second over the range */
  perSecond: number;
  /** estimated trades in [a, b) */
  trades(a: number, b: number): number;
}

export interface BackfillRunContext {
  jobRunId?: number;
  signal?: AbortSignal;
  progress?(fraction: number, message?: string): Promise<void> | void;
  log?: Logger;
  /** only this pair's rows */
  pairId?: number;
}

export interface BackfillRunSummary {
  rows: { id: number; pair: string; interval: string; status: BackfillStatus; candlesAdded: number; error?: string }[];
  candlesAdded: number;
  calls: number;
  skipped: number[];
}

export interface BackfillDeps {
  repo: MarketRepo;
  kraken: KrakenApi;
  /** the client for estimates (a person is waiting): fewer retries; default `kraken` */
  probe?: KrakenApi;
  store: CandleStore;
  clock: Clock;
  log: Logger;
  /** the Jobs port; when absent (CLI without a scheduler) backfills run only when asked to */
  jobs?: Jobs;
  /** config KRAKEN_MIN_INTERVAL_MS, for time estimates */
  minIntervalMs: number;
}

export class ConfirmationRequiredError extends AppError {
  constructor(readonly estimate: BackfillEstimate) {
    const minutes = Math.ceil(estimate.estimatedSeconds / 60);
    super(
      422,
      'confirmation_required',
      `This backfill needs about ${estimate.estimatedCalls.toLocaleString('en-US')} Kraken calls (about ${minutes.toLocaleString('en-US')} minutes); send it again with "confirm": true to start it`,
      { details: { estimate } },
    );
  }
}

const align = (t: number, step: number) => Math.floor(t / step) * step;
const alignUp = (t: number, step: number) => Math.ceil(t / step) * step;
const nsCursor = (t: number) => (BigInt(t) * 1_000_000_000n - 1n).toString();
/** the time a cursor says everything before is complete */
function cursorTime(cursor: string | null): number | null {
  if (!cursor || !/^\d+$/.test(cursor)) return null;
  return Number((BigInt(cursor) + 1n) / 1_000_000_000n);
}

/** Merges sorted-or-not segments that overlap or lie closer than `joinGap` seconds. */
export function mergeSegments(segments: readonly Segment[], joinGap: number): Segment[] {
  const s = [...segments].filter((x) => x.to > x.from).sort((a, b) => a.from - b.from);
  const out: Segment[] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && x.from - last.to <= joinGap) last.to = Math.max(last.to, x.to);
    else out.push({ ...x });
  }
  return out;
}

export function createBackfillService(deps: BackfillDeps) {
  const { repo, kraken, store, clock } = deps;
  const probe = deps.probe ?? kraken;
  const modelCache = new Map<string, { at: number; model: TradeModel }>();
  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

  /** Stretches of [from, to) with no stored candle. */
  async function missingSegments(pairId: number | null, interval: number, from: number, to: number): Promise<Segment[]> {
    if (to <= from) return [];
    if (pairId === null) return [{ from, to }];
    const step = interval * 60;
    const first = await repo.firstTimeFrom(pairId, interval, from, to);
    if (first === null) return [{ from, to }];
    const last = (await repo.lastTimeBefore(pairId, interval, from, to))!;
    const out: Segment[] = [];
    if (first > from) out.push({ from, to: first });
    for (const g of await repo.innerGaps(pairId, interval, { from, to })) out.push({ from: g.from, to: g.to + step });
    if (last + step < to) out.push({ from: last + step, to });
    return out;
  }

  /**
   * How many trades [from, to) holds, before fetching them. Stored candles of the pair know
   * it exactly where they cover the range. Otherwise the rate is sampled at both ends, one
   * Kraken call each (cached for an hour): the first page of trades after `from` gives the
   * rate at the start (and when the pair's trading began), the oldest month of the daily
   * OHLC window the rate at the end; in between it is taken to change exponentially, as
   * trading activity mostly does, so old, quiet years are not priced like recent ones.
   */
  async function tradeModel(pair: { id: number | null; altname: string }, from: number, to: number, opts: { sample?: boolean } = {}): Promise<TradeModel | null> {
    if (pair.id !== null) {
      let best: { trades: number; seconds: number } | null = null;
      for (const interval of [1440, 60]) {
        const s = await repo.tradeStats(pair.id, interval, { from, to });
        const seconds = s.candles * interval * 60;
        if (s.candles > 0 && (!best || seconds > best.seconds)) best = { trades: s.trades, seconds };
      }
      if (best && best.seconds >= Math.max(86400, (to - from) / 2) && best.trades > 0) {
        const perSecond = best.trades / best.seconds;
        return { basis: 'stored candles', perSecond, trades: (a, b) => Math.max(0, b - a) * perSecond };
      }
    }
    if (opts.sample === false) return null;
    const key = `${pair.altname}:${from}`;
    const cached = modelCache.get(key);
    if (cached && clock.now().getTime() - cached.at < 3600_000) return cached.model;
    try {
      const daily = await probe.ohlc(pair.altname, 1440);
      // the month of daily candles around the end of the range, or the window's oldest month when the range ends before it
      let near = daily.candles.filter((c) => c.time >= to - 30 * 86400 && c.time < to);
      if (near.length === 0) near = daily.candles.slice(0, 30);
      if (near.length === 0) return null;
      const endRate = Math.max(1e-6, near.reduce((a, c) => a + c.trades, 0) / (near.length * 86400));
      const endAt = (near[0]!.time + near[near.length - 1]!.time + 86400) / 2;
      const sample = await probe.trades(pair.altname, String(from));
      const ts = sample.trades.map((t) => t.time);
      let startAt = from;
      let startRate = endRate;
      if (ts.length >= 2) {
        startAt = Math.max(from, ts[0]!);
        startRate = Math.max(1e-6, (ts.length - 1) / Math.max(1, ts[ts.length - 1]! - ts[0]!));
      } else if (ts.length === 0) {
        // nothing after `from` at all: there is nothing to fetch
        startAt = to;
      }
      // rate(t) = startRate * e^(k (t - startAt)) between the two samples, flat outside them
      const span = endAt - startAt;
      const k = span > 86400 ? Math.log(endRate / startRate) / span : 0;
      const flat = k === 0 ? (startRate + endRate) / 2 : 0;
      const rateAt = (t: number) => startRate * Math.exp(k * (Math.min(Math.max(t, startAt), endAt) - startAt));
      const integral = (a: number, b: number) => {
        const lo = Math.max(a, startAt);
        const hi = Math.max(lo, b);
        if (hi <= lo) return 0;
        if (k === 0) return (hi - lo) * flat;
        const inLo = Math.min(lo, endAt);
        const inHi = Math.min(hi, endAt);
        const curved = inHi > inLo ? (rateAt(inHi) - rateAt(inLo)) / k : 0;
        return curved + Math.max(0, hi - Math.max(lo, endAt)) * endRate;
      };
      const total = integral(from, to);
      const model: TradeModel = { basis: 'kraken samples', perSecond: total / Math.max(1, to - Math.max(from, startAt)), trades: integral };
      modelCache.set(key, { at: clock.now().getTime(), model });
      return model;
    } catch (err) {
      deps.log.warn({ pair: pair.altname, err: (err as Error).message }, 'no trade rate for a backfill estimate');
      return null;
    }
  }

  const joinGapFor = (perSecond: number, minStep: number) => Math.min(30 * 86400, Math.max(minStep, TRADES_PER_CALL / Math.max(perSecond, 1e-9)));

  /** `from` undefined: each interval from the start of its OHLC window (no Trades needed). */
  async function estimate(pair: { id: number | null; altname: string }, intervals: readonly number[], from?: number): Promise<BackfillEstimate> {
    const now = nowSeconds();
    const plans: IntervalPlan[] = [];
    for (const interval of intervals) {
      const step = interval * 60;
      const windowStart = align(now, step) - (OHLC_WINDOW - 1) * step;
      const start = from === undefined ? windowStart : alignUp(from, step);
      const missing = start < windowStart ? await missingSegments(pair.id, interval, start, windowStart) : [];
      plans.push({ interval, from: start, ohlcWindowStart: windowStart, missing, missingSeconds: missing.reduce((a, s) => a + s.to - s.from, 0) });
    }
    const all = plans.flatMap((p) => p.missing);
    let tradesCalls = 0;
    let trades = 0;
    let basis: BackfillEstimate['basis'] = 'unknown';
    let perDay: number | null = null;
    if (all.length > 0) {
      const lo = Math.min(...all.map((s) => s.from));
      const hi = Math.max(...all.map((s) => s.to));
      const model = await tradeModel(pair, lo, hi);
      if (model) {
        basis = model.basis;
        perDay = Math.round(model.perSecond * 86400);
        const minStep = Math.min(...intervals) * 60;
        for (const s of mergeSegments(all, joinGapFor(model.perSecond, minStep))) {
          const n = model.trades(s.from, s.to);
          trades += n;
          tradesCalls += Math.max(1, Math.ceil(n / TRADES_PER_CALL));
        }
      }
    }
    const ohlcCalls = intervals.length;
    const unknownCost = all.length > 0 && basis === 'unknown';
    const estimatedCalls = ohlcCalls + tradesCalls;
    const perCall = Math.max(deps.minIntervalMs, ASSUMED_LATENCY_MS) / 1000;
    return {
      pair: pair.altname,
      from: Math.min(...plans.map((p) => p.from)),
      now,
      intervals: plans,
      ohlcCalls,
      tradesCalls,
      estimatedCalls,
      estimatedTrades: Math.round(trades),
      estimatedSeconds: Math.ceil(estimatedCalls * perCall),
      basis,
      tradesPerDay: perDay,
      needsConfirmation: unknownCost || estimatedCalls > CONFIRM_ABOVE_CALLS,
      confirmAboveCalls: CONFIRM_ABOVE_CALLS,
    };
  }

  async function launch(trigger: 'api' | 'event' | 'manual', startedById?: number): Promise<LaunchResult | null> {
    if (!deps.jobs) return null;
    try {
      return await deps.jobs.launch('backfill', {}, { trigger, startedById });
    } catch (err) {
      deps.log.error({ err }, 'could not launch the backfill job');
      return null;
    }
  }

  interface Target {
    row: BackfillRow;
    interval: number;
    step: number;
    from: number;
    tradesTo: number;
    segments: Segment[];
    segIdx: number;
    agg: TradeAggregator;
    pending: ExactCandle[];
    /** complete before this time */
    done: number;
    added: number;
    acc: StoreOutcome | null;
    active: boolean;
  }

  function accumulate(t: Target, o: StoreOutcome): void {
    if (o.inserted === 0) return;
    if (!t.acc) t.acc = { ...o, anomalies: [...o.anomalies] };
    else {
      t.acc.inserted += o.inserted;
      t.acc.upTo = Math.max(t.acc.upTo ?? 0, o.upTo ?? 0);
      t.acc.anomalies.push(...o.anomalies);
    }
  }

  function progressOf(t: Target): number {
    if (t.tradesTo <= t.from) return 1;
    return Math.min(1, Math.max(0, (t.done - t.from) / (t.tradesTo - t.from)));
  }

  /** Works the claimed rows of one pair: OHLC per interval, then one Trades pass for all. */
  async function runPair(pair: PairRow, rows: BackfillRow[], ctx: BackfillRunContext, summary: BackfillRunSummary): Promise<void> {
    const log = (ctx.log ?? deps.log).child({ pair: pair.altname });
    const now = nowSeconds();
    const targets: Target[] = rows.map((row) => {
      const step = row.interval * 60;
      const from = alignUp(row.fromTime.getTime() / 1000, step);
      return {
        row,
        interval: row.interval,
        step,
        from,
        tradesTo: from,
        segments: [],
        segIdx: 0,
        agg: new TradeAggregator({ intervalMinutes: row.interval }),
        pending: [],
        done: Math.max(from, cursorTime(row.cursor) ?? from),
        added: row.candlesAdded,
        acc: null,
        active: true,
      };
    });
    const ids = rows.map((r) => r.id);
    const heartbeat = setInterval(() => {
      repo.renewBackfillLease(ids).catch((err: unknown) => log.warn({ err }, 'backfill lease renewal failed'));
    }, HEARTBEAT_MS);
    heartbeat.unref();

    const report = async (message: string) => {
      const f = targets.reduce((a, t) => a + progressOf(t), 0) / targets.length;
      await ctx.progress?.(f, message);
    };
    const checkAbort = () => {
      if (ctx.signal?.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new JobAbortError('cancelled', 'cancelled');
    };
    /** Persists each active target's cursor and counts; drops targets whose row was cancelled meanwhile. */
    const saveRows = async () => {
      for (const t of targets) {
        if (!t.active) continue;
        const still = await repo.saveBackfillProgress(t.row.id, { cursor: nsCursor(t.done), progress: progressOf(t), candlesAdded: t.added });
        if (!still) {
          t.active = false;
          log.info({ backfill: t.row.id }, 'backfill row cancelled while running');
        }
      }
    };
    let calls = 0;
    try {
      // ---- phase 1: OHLC
      for (const interval of [...new Set(targets.map((t) => t.interval))]) {
        checkAbort();
        const mine = targets.filter((t) => t.interval === interval && t.active);
        if (mine.length === 0) continue;
        const step = interval * 60;
        const ohlc = await kraken.ohlc(pair.altname, interval);
        calls++;
        const minFrom = Math.min(...mine.map((t) => t.from));
        const candles = ohlc.candles.filter((c) => c.time >= minFrom);
        const outcome = await repo.transaction((tx) => store.store(tx, pair, interval, 'kraken', candles));
        store.published(outcome);
        // everything older than the oldest candle the window gave must come from Trades
        const windowFrom = ohlc.candles[0]?.time ?? align(now, step);
        for (const [i, t] of mine.entries()) {
          if (i === 0) t.added += outcome.inserted;
          t.tradesTo = Math.max(t.from, align(windowFrom, step));
          if (t.done >= t.tradesTo) t.done = t.tradesTo;
        }
        await saveRows();
        await report(`${pair.altname} ${intervalLabel(interval)}: recent candles stored`);
      }

      // ---- phase 2: Trades
      for (const t of targets) {
        t.segments = t.active && t.done < t.tradesTo ? await missingSegments(pair.id, t.interval, t.done, t.tradesTo) : [];
      }
      const all = targets.flatMap((t) => t.segments);
      if (all.length > 0) {
        const lo = Math.min(...all.map((s) => s.from));
        const hi = Math.max(...all.map((s) => s.to));
        // stored stretches between missing ones are fetched through when that is cheaper than a new start
        const model = await tradeModel(pair, lo, hi, { sample: false });
        const minStep = Math.min(...targets.map((t) => t.step));
        const union = mergeSegments(all, model ? joinGapFor(model.perSecond, minStep) : Math.max(minStep, 6 * 3600));
        log.info({ segments: union.length, from: lo, to: hi }, 'backfill: rebuilding candles from trades');
        for (const seg of union) {
          if (targets.every((t) => !t.active)) break;
          for (const t of targets) t.agg = new TradeAggregator({ intervalMinutes: t.interval });
          let pos = seg.from;
          for await (const page of pageTrades(kraken, pair.altname, { since: nsCursor(seg.from), until: seg.to })) {
            calls++;
            for (const trade of page.trades) {
              if (trade.time < seg.from) continue;
              for (const t of targets) {
                if (!t.active) continue;
                while (t.segIdx < t.segments.length && t.segments[t.segIdx]!.to <= trade.time) t.segIdx++;
                const s = t.segments[t.segIdx];
                if (s && trade.time >= s.from) t.pending.push(...t.agg.push(trade));
              }
            }
            const lastTrade = page.trades[page.trades.length - 1];
            if (lastTrade) pos = Math.max(pos, lastTrade.time);
            if (page.done) {
              // the feed is complete up to the segment's end (or up to now, if Kraken ran out)
              const upTo = page.stop === 'until' ? seg.to : Math.min(seg.to, nowSeconds());
              for (const t of targets) if (t.active) t.pending.push(...t.agg.closeUpTo(upTo));
              pos = Math.max(pos, upTo);
            }
            const outcomes = await repo.transaction(async (tx) => {
              const out: [Target, StoreOutcome][] = [];
              for (const t of targets) {
                if (!t.active) continue;
                if (t.pending.length > 0) {
                  const o = await store.store(tx, pair, t.interval, 'trades', t.pending);
                  t.added += o.inserted;
                  out.push([t, o]);
                  t.pending = [];
                }
                const pendingTime = t.agg.pendingTime;
                const complete = pendingTime ?? align(pos, t.step);
                t.done = Math.min(t.tradesTo, Math.max(t.done, complete));
              }
              return out;
            });
            for (const [t, o] of outcomes) accumulate(t, o);
            await saveRows();
            await report(targets.map((t) => `${intervalLabel(t.interval)} ${Math.round(progressOf(t) * 100)}% (${t.added} candles)`).join(', '));
            checkAbort();
            if (targets.every((t) => !t.active)) break;
          }
          for (const t of targets) if (t.active && seg.to <= t.tradesTo) t.done = Math.max(t.done, align(seg.to, t.step));
        }
      }
      for (const t of targets) {
        if (!t.active) continue;
        t.done = t.tradesTo;
        await repo.finishBackfill(t.row.id, { status: 'succeeded', cursor: nsCursor(t.tradesTo), progress: 1, candlesAdded: t.added, error: null });
        summary.rows.push({ id: t.row.id, pair: pair.altname, interval: intervalLabel(t.interval), status: 'succeeded', candlesAdded: t.added });
      }
      log.info({ rows: ids, calls }, 'backfill finished');
    } catch (err) {
      const abort = err instanceof JobAbortError ? err : null;
      // stopped by shutdown or a lost run: back to the queue, to resume from the cursor
      const status: BackfillStatus = abort ? (abort.kind === 'cancelled' ? 'cancelled' : 'queued') : 'failed';
      const message = err instanceof Error ? err.message : String(err);
      for (const t of targets) {
        if (!t.active) continue;
        await repo
          .finishBackfill(t.row.id, { status, cursor: nsCursor(t.done), progress: progressOf(t), candlesAdded: t.added, error: status === 'queued' ? null : message })
          .catch((e: unknown) => log.error({ err: e }, 'could not record the backfill outcome'));
        summary.rows.push({ id: t.row.id, pair: pair.altname, interval: intervalLabel(t.interval), status, candlesAdded: t.added, error: message });
      }
      if (!abort) log.warn({ rows: ids, err: message }, 'backfill failed; it resumes from its cursor when run again');
      throw err;
    } finally {
      clearInterval(heartbeat);
      summary.calls += calls;
      for (const t of targets) {
        if (t.acc) store.published(t.acc);
        summary.candlesAdded += t.added - t.row.candlesAdded;
      }
    }
  }

  return {
    estimate,
    missingSegments,

    /**
     * Records a backfill of `pair` from `from` to now for each interval and launches the job.
     * A request whose estimate is above CONFIRM_ABOVE_CALLS needs `confirm`; without it the
     * request is refused (kind 'request') or parked as awaiting_confirmation (kind 'heal').
     */
    async request(
      pair: PairRow,
      opts: { from?: number; intervals: readonly number[]; confirm?: boolean; createdById?: number | null; kind?: 'request' | 'heal'; estimate?: BackfillEstimate; launch?: boolean },
    ): Promise<{ rows: BackfillRow[]; estimate: BackfillEstimate; launched: LaunchResult | null }> {
      const est = opts.estimate ?? (await estimate(pair, opts.intervals, opts.from));
      const parked = est.needsConfirmation && !opts.confirm;
      if (parked && (opts.kind ?? 'request') === 'request') throw new ConfirmationRequiredError(est);
      const now = new Date(est.now * 1000);
      const rows: BackfillRow[] = [];
      for (const plan of est.intervals) {
        rows.push(
          await repo.createBackfill({
            pairId: pair.id,
            interval: plan.interval,
            fromTime: new Date(plan.from * 1000),
            toTime: now,
            status: parked ? 'awaiting_confirmation' : 'queued',
            estimatedCalls: est.estimatedCalls,
            createdById: opts.createdById ?? null,
          }),
        );
      }
      if (parked) {
        deps.log.warn({ pair: pair.altname, calls: est.estimatedCalls, rows: rows.map((r) => r.id) }, 'backfill parked: its cost needs an administrator to confirm it');
      }
      const launched = !parked && opts.launch !== false ? await launch(opts.kind === 'heal' ? 'event' : 'api', opts.createdById ?? undefined) : null;
      return { rows, estimate: est, launched };
    },

    /** Puts a failed, cancelled, interrupted or awaiting row back in the queue and launches the job. */
    async resume(id: number, opts: { confirm?: boolean; userId?: number } = {}): Promise<{ row: BackfillRow; launched: LaunchResult | null }> {
      const row = await repo.backfill(id);
      if (!row) throw new AppError(404, 'not_found', `No backfill ${id}`);
      if (row.status === 'succeeded') throw new AppError(409, 'already_done', `Backfill ${id} already finished`);
      if (row.status === 'awaiting_confirmation' && !opts.confirm) {
        throw new AppError(422, 'confirmation_required', `Backfill ${id} needs about ${row.estimatedCalls ?? '?'} Kraken calls; send "confirm": true to start it`);
      }
      if (row.status !== 'running') await repo.updateBackfill(id, { status: 'queued', error: null, finishedAt: null });
      const launched = await launch('api', opts.userId);
      return { row: (await repo.backfill(id))!, launched };
    },

    async cancel(id: number): Promise<BackfillRow> {
      const row = await repo.backfill(id);
      if (!row) throw new AppError(404, 'not_found', `No backfill ${id}`);
      if (['succeeded', 'failed', 'cancelled'].includes(row.status)) return row;
      await repo.updateBackfill(id, { status: 'cancelled', error: 'cancelled by an administrator', finishedAt: new Date() });
      return (await repo.backfill(id))!;
    },

    /** Works every queued row (and rows whose worker died), pair by pair, until none is left. */
    async runPending(ctx: BackfillRunContext = {}): Promise<BackfillRunSummary> {
      const summary: BackfillRunSummary = { rows: [], candlesAdded: 0, calls: 0, skipped: [] };
      const seen = new Set<number>();
      for (;;) {
        const open = (await repo.backfills({ statuses: ['queued', 'running'], pairId: ctx.pairId, limit: 1000 })).reverse();
        const fresh = open.filter((r) => !seen.has(r.id));
        if (fresh.length === 0) break;
        const pairId = fresh[0]!.pairId;
        const candidates = fresh.filter((r) => r.pairId === pairId);
        for (const r of candidates) seen.add(r.id);
        const claimed = await repo.claimBackfills(candidates.map((r) => r.id), ctx.jobRunId ?? null, LEASE_SECONDS);
        summary.skipped.push(...candidates.filter((r) => !claimed.some((c) => c.id === r.id)).map((r) => r.id));
        if (claimed.length === 0) continue;
        const pair = await repo.pairById(pairId);
        if (!pair) continue;
        await runPair(pair, claimed, ctx, summary);
      }
      return summary;
    },

    /** Launches the backfill job when rows wait in the queue (the ingest job calls this). */
    async kickIfPending(): Promise<void> {
      if ((await repo.pairIdsWithPendingBackfills()).length > 0) await launch('event');
    },

    launch,
  };
}

export type BackfillService = ReturnType<typeof createBackfillService>;
