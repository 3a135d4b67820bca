/**
 * A backfill survives being stopped, a dead worker and a failed call: it resumes from the
 * cursor kept on its Backfill row and ends with exactly the source's candles. ETH daily,
 * "now" 2018-01-01 12:00 UTC: the daily OHLC window starts 2016-01-13, so 2015-08 .. 2016-01
 * comes from Trades (100 trades per page here, so the Trades part takes many pages).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JobAbortError } from '../../../src/platform/jobs.js';
import { assertEqualsSource, callsSince } from './compare.js';
import { startMarketWorld, ts, type MarketWorld } from './setup.js';

const NOW = ts('2018-01-01T12:00:00');
const FROM = ts('2015-08-01');
const END = ts('2018-01-01');

describe('a resumable backfill', () => {
  let w: MarketWorld;
  before(async () => {
    w = await startMarketWorld({ standin: { now: NOW, tradesPageSize: 100 } });
    const r = await w.send('POST', '/api/crypto/assets', { pair: 'ETHUSD', intervals: ['1d'], backfill: false });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
  after(async () => {
    await w?.stop();
  });

  test('stopped mid-way (shutdown), then its worker dies: a new run continues from the cursor', async () => {
    const pair = await w.market.service.resolvePair('ETHUSD');
    const req = await w.market.backfill.request(pair, { from: FROM, intervals: [1440], launch: false });
    const id = req.rows[0]!.id;
    assert.ok(req.estimate.tradesCalls > 5, JSON.stringify(req.estimate));

    const ac = new AbortController();
    let reports = 0;
    await assert.rejects(
      w.market.backfill.runPending({
        signal: ac.signal,
        progress: () => {
          // the first report follows the OHLC phase; then one per page of trades
          if (++reports === 4) ac.abort(new JobAbortError('shutdown', 'the process is shutting down'));
        },
      }),
      (err: unknown) => err instanceof JobAbortError,
    );
    const stopped = (await w.get(`/api/crypto/backfills/${id}`)).body;
    assert.equal(stopped.status, 'queued', JSON.stringify(stopped));
    assert.ok(stopped.percent > 0 && stopped.percent < 100, `${stopped.percent}%`);
    assert.ok(stopped.candles_added > 700);
    const row = await w.app.running.db.prisma.backfill.findUniqueOrThrow({ where: { id } });
    assert.match(row.cursor ?? '', /^\d+$/);
    const resumeAt = (BigInt(row.cursor!) + 1n) / 1_000_000_000n;
    assert.ok(Number(resumeAt) > FROM);

    // the stored part is already exact
    await assertEqualsSource(w, 'ETHUSD', 1440, FROM, Number(resumeAt));

    // a worker that died while holding the row: its lease is fresh, so nobody takes the row yet
    await w.app.running.db.prisma.$executeRaw`UPDATE backfills SET status = 'running', "updatedAt" = now() WHERE id = ${id}`;
    const held = await w.market.backfill.runPending();
    assert.deepEqual(held.skipped, [id]);
    assert.equal(held.rows.length, 0);

    // ... and once the lease has run out, the next run takes it over and continues
    await w.app.running.db.prisma.$executeRaw`UPDATE backfills SET "updatedAt" = now() - interval '10 minutes' WHERE id = ${id}`;
    const mark = w.kraken.requests.length;
    const resumed = await w.market.backfill.runPending();
    assert.deepEqual(resumed.rows.map((r) => [r.id, r.status]), [[id, 'succeeded']]);
    const firstTrades = w.kraken.requests.slice(mark).find((r) => r.endpoint === 'Trades')!;
    assert.ok(BigInt(firstTrades.query.since!) >= BigInt(row.cursor!), `resumed from ${firstTrades.query.since}, cursor ${row.cursor}`);
    const done = (await w.get(`/api/crypto/backfills/${id}`)).body;
    assert.equal(done.status, 'succeeded');
    assert.equal(done.percent, 100);
    const n = await assertEqualsSource(w, 'ETHUSD', 1440, FROM, END);
    assert.equal(done.candles_added, n);
  });

  test('a call that fails for good fails the backfill visibly; resuming it finishes the job', async () => {
    assert.equal((await w.send('DELETE', '/api/crypto/assets/ETHUSD?purge=true', undefined)).status, 204);
    assert.equal((await w.send('POST', '/api/crypto/assets', { pair: 'ETHUSD', intervals: ['1d'], backfill: false })).status, 201);
    w.kraken.setFault({ kind: 'kraken-error', error: 'EGeneral:Invalid arguments', endpoints: ['Trades'], times: 1 });
    const r = await w.send('POST', '/api/crypto/assets/ETHUSD/backfill', { from: '2015-08-01', interval: '1d' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.backfills[0].id;
    const failed = await w.waitBackfill(id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /Invalid arguments/);
    // what was stored is consistent: the OHLC window, nothing partial
    await assertEqualsSource(w, 'ETHUSD', 1440, ts('2016-01-13'), END);
    assert.equal((await w.market.service.getExactCandles('ETHUSD', 1440, FROM, ts('2016-01-13'))).length, 0);

    assert.equal((await w.send('POST', `/api/crypto/backfills/${id}/resume`, {}, w.user)).status, 403);
    const resumed = await w.send('POST', `/api/crypto/backfills/${id}/resume`, {});
    assert.equal(resumed.status, 202, JSON.stringify(resumed.body));
    const done = await w.waitBackfill(id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.error, null);
    await assertEqualsSource(w, 'ETHUSD', 1440, FROM, END);
  });

  test('a far start needs confirm: the estimate comes first, and an unconfirmed request changes nothing', async () => {
    // now at the end of 2022: a year of BTC trades is tens of thousands of calls
    w.setNow(ts('2023-01-07T09:30:00'));
    assert.equal((await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', backfill: false })).status, 201);
    const est = await w.get('/api/crypto/assets/XBTUSD/backfill/estimate?from=2019-01-01');
    assert.equal(est.status, 200);
    assert.equal(est.body.needsConfirmation, true);
    assert.ok(est.body.estimatedCalls > 1000, JSON.stringify(est.body));
    assert.ok(est.body.estimatedSeconds > 1000);
    const before = (await w.get('/api/crypto/assets/XBTUSD/backfills')).body.length;
    const refused = await w.send('POST', '/api/crypto/assets/XBTUSD/backfill', { from: '2019-01-01' });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'confirmation_required');
    assert.equal(refused.body.error.details.estimate.estimatedCalls, est.body.estimatedCalls);
    assert.equal((await w.get('/api/crypto/assets/XBTUSD/backfills')).body.length, before);
    // the same on POST /assets: a cost nobody can estimate (no trade history known) needs confirm, and nothing is tracked without it
    const add = await w.send('POST', '/api/crypto/assets', { pair: 'SOLUSD', backfill_from: '2019-01-01' });
    assert.equal(add.status, 422);
    assert.equal(add.body.error.code, 'confirmation_required');
    assert.equal(add.body.error.details.estimate.basis, 'unknown');
    assert.ok(!(await w.get('/api/crypto/assets')).body.some((a: any) => a.symbol === 'SOLUSD'));
    const mark = w.kraken.requests.length;
    const confirmed = await w.send('POST', '/api/crypto/assets/XBTUSD/backfill', { from: '2019-01-01', interval: '1d', confirm: true });
    assert.equal(confirmed.status, 202);
    const id = confirmed.body.backfills[0].id;
    const cancelled = await w.send('POST', `/api/crypto/backfills/${id}/cancel`, {});
    assert.equal(cancelled.status, 200);
    const end = await w.waitBackfill(id);
    assert.equal(end.status, 'cancelled');
    assert.ok(callsSince(w, mark, 'Trades') < 50);
  });
});

describe('healing a long downtime whose cost needs an administrator', () => {
  let w: MarketWorld;
  before(async () => {
    w = await startMarketWorld({ standin: { now: ts('2022-09-01T00:30:00') } });
    const r = await w.send('POST', '/api/crypto/assets', { pair: 'XBTUSD', intervals: ['1h'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal((await w.waitBackfill(r.body.backfill.backfills[0].id)).status, 'succeeded');
  });
  after(async () => {
    await w?.stop();
  });

  test('ingest parks the heal as awaiting_confirmation; resuming it needs confirm', async () => {
    const newest = (await w.market.service.latestCandle('XBTUSD', 60))!.time;
    w.setNow(ts('2023-01-07T09:30:00')); // four months later: three of them are older than the window
    const mark = w.kraken.requests.length;
    const r = await w.market.ingest.runAll();
    const h = r.pairs[0]!;
    assert.equal(h.added, 719);
    assert.ok(h.heal);
    assert.equal(h.heal.status, 'awaiting_confirmation');
    assert.equal(h.heal.from, newest + 3600);
    assert.ok(h.heal.estimatedCalls > 1000, `${h.heal.estimatedCalls} calls`);
    // nothing was fetched from Trades beyond the estimate's one sample
    assert.ok(w.kraken.requests.slice(mark).filter((q) => q.endpoint === 'Trades').length <= 1);
    const id = h.heal.backfillIds[0]!;
    const row = (await w.get(`/api/crypto/backfills/${id}`)).body;
    assert.equal(row.status, 'awaiting_confirmation');
    const refused = await w.send('POST', `/api/crypto/backfills/${id}/resume`, {});
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'confirmation_required');
    // a second ingest does not park a second one
    const again = await w.market.ingest.runAll();
    assert.equal(again.pairs[0]!.heal, undefined);
    const ok = await w.send('POST', `/api/crypto/backfills/${id}/resume`, { confirm: true });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal((await w.send('POST', `/api/crypto/backfills/${id}/cancel`, {})).status, 200);
    assert.equal((await w.waitBackfill(id)).status, 'cancelled');
  });
});
