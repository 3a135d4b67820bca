/**
 * The only file of the market module that touches the database. Candle reads and writes are
 * raw SQL on purpose: reads cast to text (exact) or float8 (models) in Postgres instead of
 * building a decimal.js object per value, and writes go in as arrays through
 * INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING, one statement per chunk.
 */
import type { Prisma, PrismaClient } from '../../db/prisma.js';
import type { Candle, ExactCandle } from '../../platform/candle.js';

export type Tx = Prisma.TransactionClient | PrismaClient;
export type CandleSource = 'kraken' | 'trades' | 'import' | 'bundled';

/** Namespace (first int) of the market module's advisory locks; the second int says what is locked. */
export const MARKET_LOCK_NAMESPACE = 48151700;
/** second int of the lock taken while the bundled dataset is imported */
export const BUNDLED_LOCK = 1;
/** second int = BACKFILL_LOCK_BASE + pairId: one backfill worker per pair across instances */
export const BACKFILL_LOCK_BASE = 1_000_000;

export interface PairRow {
  id: number;
  exchange: string;
  key: string;
  altname: string;
  wsname: string | null;
  base: string;
  quote: string;
  pairDecimals: number;
  lotDecimals: number;
  status: string;
  tracked: boolean;
  intervals: number[];
  addedById: number | null;
  addedAt: Date;
  untrackedAt: Date | null;
}

export interface StoredCandle extends ExactCandle {
  vwap: string | null;
  source: CandleSource;
  anomaly: boolean;
  anomalyReason: string | null;
}

export interface PairInput {
  key: string;
  altname: string;
  wsname: string | null;
  base: string;
  quote: string;
  pairDecimals: number;
  lotDecimals: number;
  status: string;
}

export interface IngestRunRow {
  id: number;
  kind: string;
  pairId: number | null;
  interval: number | null;
  startedAt: Date;
  finishedAt: Date | null;
  status: string;
  candlesAdded: number;
  error: string | null;
  details: unknown;
  jobRunId: number | null;
}

export type BackfillStatus = 'awaiting_confirmation' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface BackfillRow {
  id: number;
  pairId: number;
  interval: number;
  fromTime: Date;
  toTime: Date;
  status: BackfillStatus;
  cursor: string | null;
  progress: number;
  candlesAdded: number;
  estimatedCalls: number | null;
  error: string | null;
  createdById: number | null;
  jobRunId: number | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

interface RawExactRow {
  t: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trades: number;
  vwap: string | null;
  source: CandleSource;
  anomaly: boolean;
  anomalyReason: string | null;
}

function toStored(r: RawExactRow): StoredCandle {
  return {
    time: Number(r.t),
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: r.volume,
    trades: r.trades,
    vwap: r.vwap,
    source: r.source,
    anomaly: r.anomaly,
    anomalyReason: r.anomalyReason,
  };
}

/** Open-ended range bounds inside Postgres' timestamp range (no candle predates 1970). */
const lo = (t: number | undefined) => (t === undefined || !Number.isFinite(t) || t < 0 ? 0 : t);
const hi = (t: number | undefined) => (t === undefined || !Number.isFinite(t) || t > 1e11 ? 1e11 : t);

/** Rows per INSERT statement: large enough to amortise the round trip, small enough for one parameter array each. */
export const INSERT_CHUNK = 20_000;

export interface InsertResult {
  inserted: number;
  /** newest open time among the rows actually inserted (Unix seconds), null when none */
  upTo: number | null;
  /** oldest open time among the rows actually inserted */
  firstInserted: number | null;
}

export interface CandleRange {
  /** open time >= from (Unix seconds) */
  from?: number;
  /** open time < to */
  to?: number;
}

export function createMarketRepo(prisma: PrismaClient) {
  return {
    prisma,

    /** Runs fn in one transaction; long enough for a whole-file import. */
    transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>, timeoutMs = 10 * 60_000): Promise<T> {
      return prisma.$transaction(fn, { timeout: timeoutMs, maxWait: 30_000 });
    },

    /** Blocks until this transaction holds the lock; released at commit or rollback. */
    async xactLock(tx: Tx, key: number): Promise<void> {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MARKET_LOCK_NAMESPACE}::int, ${key}::int)`;
    },

    /** false when another transaction holds the lock. */
    async tryXactLock(tx: Tx, key: number): Promise<boolean> {
      const rows = await tx.$queryRaw<{ ok: boolean }[]>`SELECT pg_try_advisory_xact_lock(${MARKET_LOCK_NAMESPACE}::int, ${key}::int) AS ok`;
      return rows[0]?.ok === true;
    },

    // ---- pairs ---------------------------------------------------------------------------

    async allPairs(): Promise<PairRow[]> {
      return (await prisma.pair.findMany({ orderBy: { id: 'asc' } })) as PairRow[];
    },

    async trackedPairs(): Promise<PairRow[]> {
      return (await prisma.pair.findMany({ where: { tracked: true }, orderBy: { id: 'asc' } })) as PairRow[];
    },

    async pairById(id: number): Promise<PairRow | null> {
      return (await prisma.pair.findUnique({ where: { id } })) as PairRow | null;
    },

    async pairByKey(key: string, tx: Tx = prisma): Promise<PairRow | null> {
      return (await tx.pair.findUnique({ where: { key } })) as PairRow | null;
    },

    /** Creates the pair, or updates its catalogue fields; `tracked`/`intervals` only change when given. */
    async upsertPair(
      input: PairInput,
      opts: { tracked?: boolean; intervals?: number[]; addedById?: number | null } = {},
      tx: Tx = prisma,
    ): Promise<PairRow> {
      const catalogue = {
        altname: input.altname,
        wsname: input.wsname,
        base: input.base,
        quote: input.quote,
        pairDecimals: input.pairDecimals,
        lotDecimals: input.lotDecimals,
        status: input.status,
      };
      const tracking =
        opts.tracked === undefined
          ? {}
          : opts.tracked
            ? { tracked: true, untrackedAt: null }
            : { tracked: false, untrackedAt: new Date() };
      return (await tx.pair.upsert({
        where: { key: input.key },
        create: {
          key: input.key,
          ...catalogue,
          tracked: opts.tracked ?? true,
          intervals: opts.intervals ?? [60, 1440],
          addedById: opts.addedById ?? null,
        },
        update: { ...catalogue, ...tracking, ...(opts.intervals ? { intervals: opts.intervals } : {}), ...(opts.tracked && opts.addedById !== undefined ? { addedById: opts.addedById } : {}) },
      })) as PairRow;
    },

    async setTracked(id: number, tracked: boolean): Promise<PairRow> {
      return (await prisma.pair.update({ where: { id }, data: tracked ? { tracked: true, untrackedAt: null } : { tracked: false, untrackedAt: new Date() } })) as PairRow;
    },

    // ---- candles: writes -----------------------------------------------------------------

    /**
     * Inserts candles that are not stored yet (the primary key (pair, interval, time) decides);
     * existing rows are left untouched, so repeating an insert adds nothing.
     */
    async insertCandles(tx: Tx, pairId: number, interval: number, source: CandleSource, candles: readonly ExactCandle[], onChunk?: (done: number) => void): Promise<InsertResult> {
      let inserted = 0;
      let upTo: number | null = null;
      let firstInserted: number | null = null;
      for (let off = 0; off < candles.length; off += INSERT_CHUNK) {
        const chunk = candles.slice(off, off + INSERT_CHUNK);
        const n = chunk.length;
        const t = new Array<number>(n);
        const o = new Array<string>(n);
        const h = new Array<string>(n);
        const l = new Array<string>(n);
        const c = new Array<string>(n);
        const v = new Array<string>(n);
        const k = new Array<number>(n);
        const w = new Array<string | null>(n);
        for (let i = 0; i < n; i++) {
          const x = chunk[i]!;
          t[i] = x.time;
          o[i] = x.open;
          h[i] = x.high;
          l[i] = x.low;
          c[i] = x.close;
          v[i] = x.volume;
          k[i] = x.trades;
          w[i] = x.vwap ?? null;
        }
        const rows = await tx.$queryRaw<{ n: number; up: number | null; first: number | null }[]>`
          WITH ins AS (
            INSERT INTO candles ("pairId", "interval", "time", "open", "high", "low", "close", "volume", "trades", "vwap", "source")
            SELECT ${pairId}::int, ${interval}::int, to_timestamp(u.t), u.o, u.h, u.l, u.c, u.v, u.k, u.w, ${source}::"CandleSource"
            FROM unnest(${t}::int8[], ${o}::numeric[], ${h}::numeric[], ${l}::numeric[], ${c}::numeric[], ${v}::numeric[], ${k}::int4[], ${w}::numeric[])
              AS u(t, o, h, l, c, v, k, w)
            ON CONFLICT DO NOTHING
            RETURNING "time"
          )
          SELECT count(*)::int AS n, extract(epoch FROM max("time"))::float8 AS up, extract(epoch FROM min("time"))::float8 AS first FROM ins`;
        const r = rows[0];
        if (r && r.n > 0) {
          inserted += r.n;
          if (r.up !== null && (upTo === null || r.up > upTo)) upTo = r.up;
          if (r.first !== null && (firstInserted === null || r.first < firstInserted)) firstInserted = r.first;
        }
        onChunk?.(Math.min(candles.length, off + n));
      }
      return { inserted, upTo, firstInserted };
    },

    async markAnomalies(tx: Tx, pairId: number, interval: number, flags: readonly { time: number; reason: string }[]): Promise<number> {
      if (flags.length === 0) return 0;
      const t = flags.map((f) => f.time);
      const r = flags.map((f) => f.reason);
      return tx.$executeRaw`
        UPDATE candles c SET anomaly = true, "anomalyReason" = u.r
        FROM unnest(${t}::int8[], ${r}::text[]) AS u(t, r)
        WHERE c."pairId" = ${pairId}::int AND c."interval" = ${interval}::int AND c."time" = to_timestamp(u.t)
          AND (c.anomaly IS DISTINCT FROM true OR c."anomalyReason" IS DISTINCT FROM u.r)`;
    },

    async deleteCandles(pairId: number): Promise<number> {
      return prisma.$executeRaw`DELETE FROM candles WHERE "pairId" = ${pairId}::int`;
    },

    // ---- candles: reads (one indexed range query each) -------------------------------------

    /** Exact candles in [from, to), ascending (or descending), at most `limit`. */
    async exactCandles(pairId: number, interval: number, range: CandleRange & { limit?: number; order?: 'asc' | 'desc' }, tx: Tx = prisma): Promise<StoredCandle[]> {
      const from = lo(range.from);
      const to = hi(range.to);
      const limit = range.limit ?? 1_000_000_000;
      const rows =
        range.order === 'desc'
          ? await tx.$queryRaw<RawExactRow[]>`
              SELECT extract(epoch FROM "time")::float8 AS t, open::text AS open, high::text AS high, low::text AS low, close::text AS close,
                     volume::text AS volume, trades, vwap::text AS vwap, source::text AS source, anomaly, "anomalyReason"
              FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
                AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)
              ORDER BY "time" DESC LIMIT ${limit}::int8`
          : await tx.$queryRaw<RawExactRow[]>`
              SELECT extract(epoch FROM "time")::float8 AS t, open::text AS open, high::text AS high, low::text AS low, close::text AS close,
                     volume::text AS volume, trades, vwap::text AS vwap, source::text AS source, anomaly, "anomalyReason"
              FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
                AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)
              ORDER BY "time" ASC LIMIT ${limit}::int8`;
      return rows.map(toStored);
    },

    /**
     * The newest `perPair` candles before `to` of each pair, newest first, in ONE query (a
     * LATERAL probe of the primary key per pair): what pages that list pairs need without N+1.
     */
    async recentExactCandlesMany(pairIds: readonly number[], interval: number, to: number, perPair: number): Promise<Map<number, StoredCandle[]>> {
      const out = new Map<number, StoredCandle[]>(pairIds.map((id) => [id, []]));
      if (pairIds.length === 0) return out;
      const rows = await prisma.$queryRaw<(RawExactRow & { pairId: number })[]>`
        SELECT p.id AS "pairId", c.* FROM unnest(${[...pairIds]}::int[]) AS p(id)
        CROSS JOIN LATERAL (
          SELECT extract(epoch FROM "time")::float8 AS t, open::text AS open, high::text AS high, low::text AS low, close::text AS close,
                 volume::text AS volume, trades, vwap::text AS vwap, source::text AS source, anomaly, "anomalyReason"
          FROM candles WHERE "pairId" = p.id AND "interval" = ${interval}::int AND "time" < to_timestamp(${to}::float8)
          ORDER BY "time" DESC LIMIT ${perPair}::int8) c`;
      for (const r of rows) out.get(r.pairId)?.push(toStored(r));
      return out;
    },

    /** Float candles for analysis and models, ascending. */
    async floatCandles(pairId: number, interval: number, range: CandleRange & { limit?: number }): Promise<Candle[]> {
      const from = lo(range.from);
      const to = hi(range.to);
      if (range.limit !== undefined) {
        // the most recent `limit` candles of the range, returned oldest first
        const rows = await prisma.$queryRaw<Candle[]>`
          SELECT * FROM (
            SELECT extract(epoch FROM "time")::float8 AS time, open::float8 AS open, high::float8 AS high, low::float8 AS low,
                   close::float8 AS close, volume::float8 AS volume, trades
            FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
              AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)
            ORDER BY "time" DESC LIMIT ${range.limit}::int8) x
          ORDER BY time ASC`;
        return rows;
      }
      return prisma.$queryRaw<Candle[]>`
        SELECT extract(epoch FROM "time")::float8 AS time, open::float8 AS open, high::float8 AS high, low::float8 AS low,
               close::float8 AS close, volume::float8 AS volume, trades
        FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
          AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)
        ORDER BY "time" ASC`;
    },

    /** Close prices (float) of the `n` candles before `before` plus every candle from `before` on, ascending: the context anomaly checks need. */
    async closesAround(tx: Tx, pairId: number, interval: number, before: number, n: number): Promise<{ time: number; close: number }[]> {
      return tx.$queryRaw<{ time: number; close: number }[]>`
        SELECT * FROM (
          SELECT extract(epoch FROM "time")::float8 AS time, close::float8 AS close FROM candles
          WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int AND "time" < to_timestamp(${before}::float8)
          ORDER BY "time" DESC LIMIT ${n}::int) x
        UNION ALL
        SELECT extract(epoch FROM "time")::float8 AS time, close::float8 AS close FROM candles
          WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int AND "time" >= to_timestamp(${before}::float8)
        ORDER BY time ASC`;
    },

    /** The `n` closes before `before`, ascending. */
    async closesBefore(tx: Tx, pairId: number, interval: number, before: number, n: number): Promise<{ time: number; close: number }[]> {
      return tx.$queryRaw<{ time: number; close: number }[]>`
        SELECT * FROM (
          SELECT extract(epoch FROM "time")::float8 AS time, close::float8 AS close FROM candles
          WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int AND "time" < to_timestamp(${before}::float8)
          ORDER BY "time" DESC LIMIT ${n}::int) x
        ORDER BY time ASC`;
    },

    /** The first close after `after`, if any. */
    async closeAfter(tx: Tx, pairId: number, interval: number, after: number): Promise<{ time: number; close: number } | null> {
      const rows = await tx.$queryRaw<{ time: number; close: number }[]>`
        SELECT extract(epoch FROM "time")::float8 AS time, close::float8 AS close FROM candles
        WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int AND "time" > to_timestamp(${after}::float8)
        ORDER BY "time" ASC LIMIT 1`;
      return rows[0] ?? null;
    },

    async countInRange(tx: Tx, pairId: number, interval: number, from: number, toInclusive: number): Promise<number> {
      const rows = await tx.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
          AND "time" >= to_timestamp(${from}::float8) AND "time" <= to_timestamp(${toInclusive}::float8)`;
      return rows[0]?.n ?? 0;
    },

    /** Newest stored open time (Unix seconds), through the primary key. */
    async newestTime(pairId: number, interval: number, tx: Tx = prisma): Promise<number | null> {
      const rows = await tx.$queryRaw<{ t: number | null }[]>`
        SELECT extract(epoch FROM max("time"))::float8 AS t FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int`;
      return rows[0]?.t ?? null;
    },

    async anyCandles(tx: Tx = prisma): Promise<boolean> {
      const rows = await tx.$queryRaw<{ e: boolean }[]>`SELECT EXISTS (SELECT 1 FROM candles) AS e`;
      return rows[0]?.e === true;
    },

    /** First and last open time and the row count per pair and interval (index-only where Postgres can). */
    async coverage(pairIds: number[]): Promise<{ pairId: number; interval: number; first: number; last: number; count: number }[]> {
      if (pairIds.length === 0) return [];
      return prisma.$queryRaw`
        SELECT "pairId", "interval", extract(epoch FROM min("time"))::float8 AS first, extract(epoch FROM max("time"))::float8 AS last, count(*)::int AS count
        FROM candles WHERE "pairId" = ANY(${pairIds}::int[]) GROUP BY "pairId", "interval" ORDER BY "pairId", "interval"`;
    },

    /**
     * Runs of missing candles strictly inside the stored range [from, to): each stored candle
     * whose successor is more than one interval later starts a gap. Leading and trailing
     * misses are added by the caller, who knows the expected bounds.
     */
    async innerGaps(pairId: number, interval: number, range: CandleRange): Promise<{ from: number; to: number; missing: number }[]> {
      const step = interval * 60;
      const from = lo(range.from);
      const to = hi(range.to);
      return prisma.$queryRaw`
        SELECT (t + ${step}::int8)::float8 AS "from", (nt - ${step}::int8)::float8 AS "to", ((nt - t) / ${step}::int8 - 1)::int AS missing
        FROM (
          SELECT extract(epoch FROM "time")::int8 AS t, extract(epoch FROM lead("time") OVER (ORDER BY "time"))::int8 AS nt
          FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
            AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)
        ) x
        WHERE nt - t > ${step}::int8
        ORDER BY t`;
    },

    async firstTimeFrom(pairId: number, interval: number, from: number, to: number): Promise<number | null> {
      const rows = await prisma.$queryRaw<{ t: number | null }[]>`
        SELECT extract(epoch FROM min("time"))::float8 AS t FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
          AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)`;
      return rows[0]?.t ?? null;
    },

    async lastTimeBefore(pairId: number, interval: number, from: number, to: number): Promise<number | null> {
      const rows = await prisma.$queryRaw<{ t: number | null }[]>`
        SELECT extract(epoch FROM max("time"))::float8 AS t FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
          AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)`;
      return rows[0]?.t ?? null;
    },

    async anomalies(pairId: number, interval: number, range: CandleRange & { limit: number }): Promise<StoredCandle[]> {
      const from = lo(range.from);
      const to = hi(range.to);
      const rows = await prisma.$queryRaw<RawExactRow[]>`
        SELECT extract(epoch FROM "time")::float8 AS t, open::text AS open, high::text AS high, low::text AS low, close::text AS close,
               volume::text AS volume, trades, vwap::text AS vwap, source::text AS source, anomaly, "anomalyReason"
        FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int AND anomaly
          AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)
        ORDER BY "time" DESC LIMIT ${range.limit}::int`;
      return rows.map(toStored);
    },

    /** Sum of stored trade counts and the span they cover, for cost estimates. */
    async tradeStats(pairId: number, interval: number, range: CandleRange): Promise<{ trades: number; candles: number }> {
      const from = lo(range.from);
      const to = hi(range.to);
      const rows = await prisma.$queryRaw<{ trades: number | null; candles: number }[]>`
        SELECT sum(trades)::float8 AS trades, count(*)::int AS candles FROM candles WHERE "pairId" = ${pairId}::int AND "interval" = ${interval}::int
          AND "time" >= to_timestamp(${from}::float8) AND "time" < to_timestamp(${to}::float8)`;
      return { trades: rows[0]?.trades ?? 0, candles: rows[0]?.candles ?? 0 };
    },

    // ---- ingest runs -----------------------------------------------------------------------

    async startIngestRun(data: { kind: string; pairId?: number; interval?: number; jobRunId?: number | null; details?: Prisma.InputJsonValue }): Promise<number> {
      const r = await prisma.ingestRun.create({
        data: { kind: data.kind, pairId: data.pairId ?? null, interval: data.interval ?? null, jobRunId: data.jobRunId ?? null, details: data.details },
        select: { id: true },
      });
      return r.id;
    },

    async finishIngestRun(id: number, data: { status: 'succeeded' | 'failed'; candlesAdded: number; error?: string | null; details?: Prisma.InputJsonValue }): Promise<void> {
      await prisma.ingestRun.update({
        where: { id },
        data: { status: data.status, candlesAdded: data.candlesAdded, error: data.error ?? null, details: data.details, finishedAt: new Date() },
      });
    },

    async ingestRuns(filter: { pairId?: number; limit: number }): Promise<IngestRunRow[]> {
      return prisma.ingestRun.findMany({
        where: filter.pairId === undefined ? {} : { pairId: filter.pairId },
        orderBy: { id: 'desc' },
        take: filter.limit,
      });
    },

    // ---- backfills -------------------------------------------------------------------------

    async createBackfill(data: {
      pairId: number;
      interval: number;
      fromTime: Date;
      toTime: Date;
      status: BackfillStatus;
      estimatedCalls: number;
      createdById: number | null;
    }, tx: Tx = prisma): Promise<BackfillRow> {
      return (await tx.backfill.create({ data })) as BackfillRow;
    },

    async backfill(id: number): Promise<BackfillRow | null> {
      return (await prisma.backfill.findUnique({ where: { id } })) as BackfillRow | null;
    },

    async backfills(filter: { pairId?: number; statuses?: BackfillStatus[]; limit?: number }, tx: Tx = prisma): Promise<BackfillRow[]> {
      return (await tx.backfill.findMany({
        where: {
          ...(filter.pairId === undefined ? {} : { pairId: filter.pairId }),
          ...(filter.statuses ? { status: { in: filter.statuses } } : {}),
        },
        orderBy: { id: 'desc' },
        take: filter.limit ?? 100,
      })) as BackfillRow[];
    },

    async pairIdsWithPendingBackfills(): Promise<number[]> {
      const rows = await prisma.backfill.findMany({ where: { status: { in: ['queued', 'running'] } }, select: { pairId: true }, distinct: ['pairId'] });
      return rows.map((r) => r.pairId);
    },

    async updateBackfill(id: number, data: Partial<Pick<BackfillRow, 'status' | 'cursor' | 'progress' | 'candlesAdded' | 'error' | 'jobRunId' | 'finishedAt' | 'fromTime' | 'toTime' | 'estimatedCalls'>>, tx: Tx = prisma): Promise<void> {
      await tx.backfill.update({ where: { id }, data });
    },

    /**
     * Claims rows for a worker: queued ones, and running ones whose lease (updatedAt, renewed
     * by the worker) is older than leaseSeconds by the database's clock (their worker died).
     */
    async claimBackfills(ids: number[], jobRunId: number | null, leaseSeconds: number): Promise<BackfillRow[]> {
      if (ids.length === 0) return [];
      const claimed = await prisma.$queryRaw<{ id: number }[]>`
        UPDATE backfills SET status = 'running', "jobRunId" = ${jobRunId}::int, "updatedAt" = now(), error = NULL
        WHERE id = ANY(${ids}::int[])
          AND (status = 'queued' OR (status = 'running' AND "updatedAt" < now() - make_interval(secs => ${leaseSeconds}::int)))
        RETURNING id`;
      if (claimed.length === 0) return [];
      return (await prisma.backfill.findMany({ where: { id: { in: claimed.map((c) => c.id) } }, orderBy: { id: 'asc' } })) as BackfillRow[];
    },

    async renewBackfillLease(ids: number[]): Promise<void> {
      if (ids.length === 0) return;
      await prisma.$executeRaw`UPDATE backfills SET "updatedAt" = now() WHERE id = ANY(${ids}::int[]) AND status = 'running'`;
    },

    /** Saves a running row's progress; false when the row is no longer running (cancelled meanwhile). */
    async saveBackfillProgress(id: number, data: { cursor: string; progress: number; candlesAdded: number }): Promise<boolean> {
      const r = await prisma.backfill.updateMany({ where: { id, status: 'running' }, data });
      return r.count > 0;
    },

    /** Records how a running row ended (a row cancelled meanwhile keeps its status). */
    async finishBackfill(id: number, data: { status: BackfillStatus; cursor: string; progress: number; candlesAdded: number; error: string | null }): Promise<void> {
      const terminal = data.status !== 'queued';
      await prisma.backfill.updateMany({ where: { id, status: 'running' }, data: { ...data, finishedAt: terminal ? new Date() : null } });
    },

    async deleteBackfills(pairId: number): Promise<void> {
      await prisma.backfill.deleteMany({ where: { pairId } });
    },

    async cancelOpenBackfills(pairId: number, reason: string): Promise<number> {
      const r = await prisma.backfill.updateMany({
        where: { pairId, status: { in: ['queued', 'awaiting_confirmation'] } },
        data: { status: 'cancelled', error: reason, finishedAt: new Date() },
      });
      return r.count;
    },

    // ---- settings --------------------------------------------------------------------------

    async setting(key: string): Promise<{ value: unknown; updatedAt: Date } | null> {
      return prisma.appSetting.findUnique({ where: { key } });
    },

    async saveSetting(key: string, value: Prisma.InputJsonValue): Promise<void> {
      await prisma.appSetting.upsert({ where: { key }, create: { key, value }, update: { value } });
    },
  };
}

export type MarketRepo = ReturnType<typeof createMarketRepo>;
