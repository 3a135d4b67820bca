/**
 * /api/crypto: the original gateway's paths, request and response shapes and status codes
 * (lists stay JSON arrays with the original field names; fields, parameters and endpoints
 * are added). Every route needs a signed-in user; writes need an administrator.
 */
import express, { Router, type Request, type Response } from 'express';
import { requireRole, requireUser } from '../../http/auth-context.js';
import { parse } from '../../http/validate.js';
import { ValidationError } from '../../platform/errors.js';
import { csvLine } from '../../platform/csv.js';
import type { BackfillService } from './backfill.service.js';
import { intervalLabel } from './candle-store.js';
import { strongEtag, type HistoryBody, type HistoryCache, type HistoryRange } from './history-cache.js';
import type { ImportService } from './import.service.js';
import type { BackfillRow, IngestRunRow, StoredCandle } from './market.repo.js';
import {
  addAssetBody,
  assetsQuery,
  backfillBody,
  catalogueQuery,
  deleteQuery,
  estimateQuery,
  historyQuery,
  idParam,
  importQuery,
  latestQuery,
  rangeQuery,
  resumeBody,
} from './market.schemas.js';
import type { MarketPair, MarketService } from './market.service.js';

export interface MarketRoutesDeps {
  market: MarketService;
  backfill: BackfillService;
  importer: ImportService;
  /** largest CSV upload accepted */
  uploadLimit?: string;
  /** closed candles' history answered from memory; without it every read goes to the database */
  history?: HistoryCache;
}

const iso = (t: number) => new Date(t * 1000).toISOString();

export function assetJson(p: MarketPair) {
  return {
    id: p.id,
    asset: p.key,
    symbol: p.altname,
    exchange: p.exchange,
    altname: p.altname,
    wsname: p.wsname,
    base: p.base,
    quote: p.quote,
    status: p.status,
    tracked: p.tracked,
    intervals: p.intervals.map(intervalLabel),
    added_at: p.addedAt.toISOString(),
  };
}

function candleJson(p: MarketPair, interval: number, c: StoredCandle, exact: boolean) {
  const n = (v: string) => (exact ? v : Number(v));
  return {
    asset: p.key,
    symbol: p.altname,
    interval: intervalLabel(interval),
    dtutc: iso(c.time),
    time: c.time,
    open: n(c.open),
    high: n(c.high),
    low: n(c.low),
    close: n(c.close),
    volume: n(c.volume),
    trades: c.trades,
    vwap: c.vwap === null ? null : n(c.vwap),
    anomaly: c.anomaly,
    anomaly_reason: c.anomalyReason,
    source: c.source,
  };
}

function backfillJson(b: BackfillRow) {
  return {
    id: b.id,
    pair_id: b.pairId,
    interval: intervalLabel(b.interval),
    from: b.fromTime.toISOString(),
    to: b.toTime.toISOString(),
    status: b.status,
    progress: b.progress,
    percent: Math.round(b.progress * 1000) / 10,
    candles_added: b.candlesAdded,
    estimated_calls: b.estimatedCalls,
    error: b.error,
    job_run_id: b.jobRunId,
    created_at: b.createdAt.toISOString(),
    updated_at: b.updatedAt.toISOString(),
    finished_at: b.finishedAt?.toISOString() ?? null,
  };
}

function ingestRunJson(r: IngestRunRow) {
  return {
    id: r.id,
    kind: r.kind,
    pair_id: r.pairId,
    interval: r.interval === null ? null : intervalLabel(r.interval),
    started_at: r.startedAt.toISOString(),
    finished_at: r.finishedAt?.toISOString() ?? null,
    status: r.status,
    candles_added: r.candlesAdded,
    error: r.error,
    details: r.details,
    job_run_id: r.jobRunId,
  };
}

const CSV_COLUMNS = ['dtutc', 'time', 'open', 'high', 'low', 'close', 'volume', 'trades', 'vwap', 'anomaly', 'anomaly_reason'];

/** Candles as CSV; every cell goes through the shared writer, so no text cell can start a formula. */
export function toCsv(candles: StoredCandle[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const c of candles) {
    lines.push(csvLine([iso(c.time), c.time, c.open, c.high, c.low, c.close, c.volume, c.trades, c.vwap ?? '', c.anomaly, c.anomalyReason ?? '']));
  }
  return lines.join('\n') + '\n';
}

function wantsCsv(req: Request, format: string | undefined): boolean {
  if (format) return format === 'csv';
  const accept = req.get('accept') ?? '';
  return /\btext\/csv\b/i.test(accept) && !/application\/json/i.test(accept.split(',')[0] ?? '');
}

function linkHeader(req: Request, rels: Record<string, string | undefined>): string | undefined {
  const parts: string[] = [];
  for (const [rel, cursor] of Object.entries(rels)) {
    if (!cursor) continue;
    const url = new URL(req.originalUrl, 'http://x');
    // the end of the range stays; a backward page has no start (it reads back from the cursor)
    if (rel === 'prev') {
      url.searchParams.delete('start_date');
      url.searchParams.delete('from');
    }
    url.searchParams.set('cursor', cursor);
    parts.push(`<${url.pathname}${url.search}>; rel="${rel}"`);
  }
  return parts.length ? parts.join(', ') : undefined;
}

export function createMarketRouter(deps: MarketRoutesDeps): Router {
  const { market, backfill, importer, history } = deps;
  const r = Router();
  const admin = requireRole('admin');
  r.use('/crypto', requireUser);

  // ---- the catalogue and the tracked pairs

  r.get('/crypto/kraken_assets', async (req, res) => {
    const q = parse(catalogueQuery, req.query);
    const { snapshot, pairs, tracked } = await market.catalogue({ q: q.q, refresh: q.refresh && req.user?.role === 'admin' });
    res.setHeader('X-Catalogue-Source', snapshot.source);
    res.setHeader('X-Catalogue-Fetched-At', snapshot.fetchedAt.toISOString());
    if (snapshot.stale) res.setHeader('X-Catalogue-Stale', 'true');
    res.json(
      pairs.map((p) => ({
        asset: p.key,
        symbol: p.altname,
        exchange: 'kraken',
        base: p.base,
        quote: p.quote,
        status: p.status,
        wsname: p.wsname,
        pair_decimals: p.pairDecimals,
        lot_decimals: p.lotDecimals,
        tracked: tracked.has(p.key),
      })),
    );
  });

  r.get('/crypto/assets', async (req, res) => {
    const q = parse(assetsQuery, req.query);
    const pairs = await market.listPairs({ includeUntracked: q.all });
    if (!q.details) {
      res.json(pairs.map(assetJson));
      return;
    }
    const cov = await market.coverage(pairs.map((p) => p.id));
    res.json(
      pairs.map((p) => ({
        ...assetJson(p),
        candles: cov
          .filter((c) => c.pairId === p.id)
          .map((c) => ({ interval: intervalLabel(c.interval), first: iso(c.first), last: iso(c.last), count: c.count })),
      })),
    );
  });

  r.post('/crypto/assets', admin, async (req, res) => {
    const b = parse(addAssetBody, req.body ?? {});
    const result = await market.addPair(
      {
        asset: b.asset,
        symbol: b.symbol,
        pair: b.pair,
        intervals: b.intervals,
        backfillFrom: b.backfill_from ?? b.start_date ?? b.from,
        backfill: b.backfill,
        confirm: b.confirm,
      },
      req.user!.id,
    );
    res.status(201).json({
      ...assetJson(result.pair),
      created: result.created,
      backfill: result.backfill
        ? { estimate: result.backfill.estimate, backfills: result.backfill.rows.map(backfillJson), job_run_id: result.backfill.launched?.runId ?? null }
        : null,
    });
  });

  r.delete('/crypto/assets/:id', admin, async (req, res) => {
    const q = parse(deleteQuery, req.query);
    const raw = String(req.params.id);
    const ref = /^\d+$/.test(raw) ? parse(idParam, raw) : raw;
    await market.removePair(ref, { purge: q.purge, userId: req.user!.id });
    res.status(204).end();
  });

  // ---- candles

  r.get('/crypto/asset_history/:asset', async (req, res) => {
    const q = parse(historyQuery, req.query);
    const from = q.start_date ?? q.from;
    const to = q.end_date ?? q.to;
    if (from !== undefined && to !== undefined && to < from) throw new ValidationError('end_date: must not be before start_date');
    const csv = wantsCsv(req, q.format);
    const ref = String(req.params.asset);
    // the original's end_date is inclusive: a candle opening at end_date is in the answer
    const range = { from, to: to === undefined ? undefined : to + 1, limit: q.limit, cursor: q.cursor };
    const load = async (r: HistoryRange): Promise<HistoryBody> => {
      const { pair, interval, page } = await market.history(ref, q.interval, r);
      const body = Buffer.from(csv ? toCsv(page.candles) : JSON.stringify(page.candles.map((c) => candleJson(pair, interval, c, !!q.exact))), 'utf8');
      return {
        pairId: pair.id,
        interval,
        body,
        etag: strongEtag(body),
        contentType: csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
        disposition: csv ? `attachment; filename="${pair.altname}_${intervalLabel(interval)}.csv"` : undefined,
        next: page.next,
        prev: page.prev,
      };
    };
    const b = history ? await history.read(ref, q.interval, range, csv ? 'csv' : q.exact ? 'exact' : 'json', load) : await load(range);
    const link = linkHeader(req, { next: b.next, prev: b.prev });
    if (link) res.setHeader('Link', link);
    res.setHeader('Content-Type', b.contentType);
    if (b.disposition) res.setHeader('Content-Disposition', b.disposition);
    res.setHeader('ETag', b.etag);
    // Express answers 304 itself when If-None-Match matches the ETag set above
    res.send(b.body);
  });

  r.get('/crypto/asset_latest/:asset', async (req, res) => {
    const q = parse(latestQuery, req.query);
    const { pair, interval, candles } = await market.latest(String(req.params.asset), q.interval, q.limit);
    res.json(candles.map((c) => candleJson(pair, interval, c, !!q.exact)));
  });

  r.get('/crypto/ticker/:asset', async (req, res) => {
    const t = await market.ticker(String(req.params.asset));
    res.json({
      asset: t.pair.key,
      symbol: t.pair.altname,
      source: t.source,
      price: t.price,
      price_exact: t.priceExact,
      dtutc: iso(t.time),
      bid: t.bid,
      ask: t.ask,
      open: t.open,
      high_24h: t.high24h,
      low_24h: t.low24h,
      volume_24h: t.volume24h,
      vwap_24h: t.vwap24h,
      trades_24h: t.trades24h,
      change_24h: t.change24h,
      change_24h_pct: t.change24hPct,
      change_basis: t.changeBasis,
      ...(t.note ? { note: t.note } : {}),
    });
  });

  r.get('/crypto/assets/:asset/gaps', async (req, res) => {
    const q = parse(rangeQuery, req.query);
    const g = await market.gaps(String(req.params.asset), q.interval, { from: q.start_date ?? q.from, to: q.end_date ?? q.to });
    res.json({
      asset: g.pair,
      interval: intervalLabel(g.interval),
      from: iso(g.from),
      to: iso(g.to),
      expected: g.stored + g.missing,
      stored: g.stored,
      missing: g.missing,
      gaps: g.gaps.map((x) => ({ from: iso(x.from), to: iso(x.to), missing: x.missing, kind: x.kind })),
    });
  });

  r.get('/crypto/assets/:asset/anomalies', async (req, res) => {
    const q = parse(rangeQuery, req.query);
    const { pair, interval, candles } = await market.anomalies(String(req.params.asset), q.interval, { from: q.start_date ?? q.from, to: q.end_date ?? q.to, limit: q.limit });
    res.json(candles.map((c) => candleJson(pair, interval, c, false)));
  });

  // ---- backfill

  r.get('/crypto/assets/:asset/backfill/estimate', async (req, res) => {
    const q = parse(estimateQuery, req.query);
    const pair = await market.resolvePair(String(req.params.asset));
    const intervals = q.interval ? [q.interval] : pair.intervals;
    res.json(await backfill.estimate(pair, intervals, q.start_date ?? q.from));
  });

  r.post('/crypto/assets/:asset/backfill', admin, async (req, res) => {
    const b = parse(backfillBody, req.body ?? {});
    const pair = await market.resolvePair(String(req.params.asset));
    const intervals = b.intervals ?? (b.interval ? [b.interval] : pair.intervals);
    const r2 = await backfill.request(pair, { from: b.start_date ?? b.from, intervals, confirm: b.confirm, createdById: req.user!.id });
    res.status(202).json({ estimate: r2.estimate, backfills: r2.rows.map(backfillJson), job_run_id: r2.launched?.runId ?? null });
  });

  r.get('/crypto/assets/:asset/backfills', async (req, res) => {
    const pair = await market.resolvePair(String(req.params.asset));
    res.json((await market.backfills({ pairId: pair.id })).map(backfillJson));
  });

  r.get('/crypto/backfills', async (_req, res) => {
    res.json((await market.backfills({ limit: 100 })).map(backfillJson));
  });

  r.get('/crypto/backfills/:id', async (req, res) => {
    res.json(backfillJson(await market.backfillById(parse(idParam, String(req.params.id)))));
  });

  r.post('/crypto/backfills/:id/resume', admin, async (req, res) => {
    const b = parse(resumeBody, req.body ?? {});
    const { row, launched } = await backfill.resume(parse(idParam, String(req.params.id)), { confirm: b.confirm, userId: req.user!.id });
    res.status(202).json({ ...backfillJson(row), job_run_id: launched?.runId ?? null });
  });

  r.post('/crypto/backfills/:id/cancel', admin, async (req, res) => {
    res.json(backfillJson(await backfill.cancel(parse(idParam, String(req.params.id)))));
  });

  r.get('/crypto/ingest_runs', async (req, res) => {
    const pairRef = typeof req.query.asset === 'string' ? req.query.asset : undefined;
    const pairId = pairRef ? (await market.resolvePair(pairRef)).id : undefined;
    res.json((await market.ingestRuns({ pairId, limit: 100 })).map(ingestRunJson));
  });

  // ---- import

  r.post(
    '/crypto/assets/:asset/import',
    admin,
    express.text({ type: ['text/csv', 'text/plain', 'application/csv', 'application/octet-stream'], limit: deps.uploadLimit ?? '64mb' }),
    async (req: Request, res: Response) => {
      const q = parse(importQuery, req.query);
      if (typeof req.body !== 'string' || req.body.length === 0) {
        throw new ValidationError('send the CSV file as the request body with Content-Type: text/csv', undefined, 400);
      }
      const pair = await market.resolvePair(String(req.params.asset));
      const result = await importer.importCsv(pair, q.interval, req.body as string);
      res.status(201).json({
        asset: pair.key,
        symbol: pair.altname,
        interval: result.interval,
        format: result.format,
        order: result.order,
        rows: result.rows,
        inserted: result.inserted,
        existing: result.existing,
        skipped_open: result.skippedOpen,
        from: iso(result.from),
        to: iso(result.to),
        anomalies: result.anomalies,
        ms: result.ms,
      });
    },
  );

  return r;
}
