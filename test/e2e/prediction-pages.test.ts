/**
 * The predictions and models pages in a real browser, on real BTC/USD and ETH/USD daily candles
 * stored through market's importer (so predictions are made and scored as in production):
 * the chart of candles with past predictions, actuals and the next prediction with its bands;
 * switching pair and range with htmx; the CSV download; the models page with a training started
 * from the page whose progress is watched until it ends; run detail with its charts; comparing
 * runs; the watchlist with predictions; what a user may not do. Screenshots go to
 * test-results/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startApp, type TestApp } from '../support/app.js';
import { createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../support/auth.js';
import { browserAvailability, loginThroughForm, openSession, type BrowserSession } from './support/browser.js';

interface PlotEl {
  data?: { x?: unknown[]; type?: string; name?: string }[];
  querySelectorAll(s: string): { length: number };
}
declare const document: { querySelector(s: string): PlotEl | null; querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> };

const availability = browserAvailability();
if (!availability.ok) {
  if (availability.skip) test('prediction pages in a real browser', { skip: availability.message }, () => undefined);
  else test('browser tests need Chromium (prediction pages)', () => assert.fail(availability.message));
}

const lines = (file: string) => readFileSync(new URL(`../../data/bundled/${file}`, import.meta.url), 'utf8').split('\n').filter(Boolean);

async function chartState(s: BrowserSession, selector: string) {
  return s.page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el || !el.data) return null;
    return { traces: el.data.map((t) => ({ type: t.type, name: t.name, points: t.x?.length ?? 0 })), svgTraces: el.querySelectorAll('.cartesianlayer .trace').length };
  }, selector);
}

describe('prediction pages in a real browser', { skip: !availability.ok }, () => {
  let app: TestApp;
  let admin: TestAccount;
  let user: TestAccount;
  let s: BrowserSession;

  before(async () => {
    app = await startApp({ env: { KRAKEN_MAX_RETRIES: '0', KRAKEN_TIMEOUT_MS: '500', LOG_LEVEL: 'warn' } });
    const services = app.running.app.services;
    const market = services.market;
    const btcLines = lines('XBTUSD_1440.csv');
    const { pair: btc } = await market.service.ensurePair('XBTUSD');
    const { pair: eth } = await market.service.ensurePair('ETHUSD');
    await market.importer.importCsv(btc, 1440, btcLines.slice(0, 1000).join('\n') + '\n');
    await market.importer.importCsv(eth, 1440, lines('ETHUSD_1440.csv').slice(0, 600).join('\n') + '\n');
    await app.running.app.events.drain();
    // A quick suite to start from (the naive baseline and a ridge regression), then two weeks
    // of live candles, each predicted before it arrives and scored when it does.
    await services.predictions.retrain({ pair: 'XBTUSD', interval: 1440, suite: [{ algorithm: 'naive', params: {} }, { algorithm: 'ridge', params: { lambda: 30 } }] });
    await services.predictions.predictNow(btc.id, 1440);
    for (const line of btcLines.slice(1000, 1014)) {
      await market.importer.importCsv(btc, 1440, line + '\n');
      await app.running.app.events.drain();
    }
    admin = await createUserAndLogin(app, { role: 'admin' });
    user = await createUserAndLogin(app, { role: 'user' });
    s = await openSession(app.url);
    await loginThroughForm(s, admin.user.username, TEST_PASSWORD);
  });

  after(async () => {
    await s?.close();
    await app?.stop();
  });

  test('predictions: candles, past predictions with actuals and the next prediction with its bands are drawn', async () => {
    await s.open('/predictions?pair=XBTUSD');
    await s.page.waitForSelector('#chart-forecast[data-drawn] .cartesianlayer .trace');
    const chart = await chartState(s, '#chart-forecast');
    assert.ok(chart);
    const byName = new Map(chart.traces.map((t) => [t.name, t]));
    assert.equal(chart.traces[0]!.type, 'candlestick');
    assert.ok(chart.traces[0]!.points >= 80, `three months of candles (${chart.traces[0]!.points})`);
    assert.ok((byName.get('Predicted')?.points ?? 0) >= 12, 'past predictions drawn');
    assert.ok((byName.get('Actual')?.points ?? 0) >= 12, 'actuals drawn');
    assert.ok(byName.has('95 % band') && byName.has('80 % band'), 'bands drawn');
    assert.equal(byName.get('Next (95 %)')?.points, 1, 'the next prediction is drawn');
    assert.match((await s.page.textContent('#next-prediction')) ?? '', /80 % band[\s\S]*95 % band/);
    assert.ok((await s.page.locator('#recent-predictions tbody tr').count()) >= 12);
    assert.ok((await s.page.locator('#live-metrics tbody tr').count()) >= 1);
    await s.screenshot('predictions');
    s.assertNoProblems('predictions');
  });

  test('predictions: htmx switches the range and the pair; the CSV has the rows shown', async () => {
    await s.open('/predictions?pair=XBTUSD');
    await s.page.waitForSelector('#chart-forecast[data-drawn]');
    await s.page.click('#forecast .segmented a:has-text("1M")');
    await s.page.waitForURL((u) => u.searchParams.get('range') === '1m');
    await s.page.waitForSelector('#chart-forecast[data-drawn] .cartesianlayer .trace');
    const month = await chartState(s, '#chart-forecast');
    assert.ok(month!.traces[0]!.points >= 28 && month!.traces[0]!.points <= 31, `a month of candles (${month!.traces[0]!.points})`);

    const csvHref = await s.page.getAttribute('a[download]', 'href');
    const csv = await app.fetch(csvHref!, { headers: { cookie: (await s.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="candlecast-XBTUSD-1d-predictions.csv"/);
    const rows = (await csv.text()).trim().split('\r\n');
    assert.match(rows[0]!, /^target_time,target_close_time,made_at,algorithm,/);
    assert.ok(rows.length > 12, `${rows.length} CSV lines`);

    await s.page.selectOption('#forecast #f-pair', 'ETHUSD');
    await s.page.waitForURL((u) => u.searchParams.get('pair') === 'ETHUSD');
    await s.page.waitForSelector('#chart-forecast[data-drawn] .cartesianlayer .trace');
    assert.match((await s.page.textContent('#next-prediction')) ?? '', /No model has been trained for ETHUSD/);
    await s.screenshot('predictions-eth-no-model');
    s.assertNoProblems('predictions range and pair');
  });

  test('models: start a training from the page and watch its progress change until it ends', async () => {
    await s.open('/models?pair=XBTUSD&interval=1d');
    assert.ok((await s.page.locator('#runs-table tbody tr').count()) >= 2, 'the first runs are listed');
    await s.screenshot('models');
    await s.page.check('#train-card input[value="polynomial"]');
    await s.page.check('#train-card input[value="kernel-ridge"]');
    await s.page.click('#train-card button[type=submit]');
    await s.page.locator('#flash .flash-success', { hasText: 'Training started' }).waitFor();
    const seen = new Set<string>();
    let shot = false;
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline) {
      const values = await s.page.evaluate(() => Array.from(document.querySelectorAll('#training-progress [role=progressbar]')).map((e) => e.getAttribute('aria-valuenow') ?? ''));
      for (const v of values) seen.add(v);
      if (values.length && !shot && seen.size >= 2) {
        shot = true;
        await s.screenshot('models-training');
      }
      const polling = await s.page.evaluate(() => !!document.querySelector('#models-live[hx-trigger]'));
      if (!polling && seen.size > 0) break;
      await new Promise((r) => setTimeout(r, 400));
    }
    assert.ok(seen.size >= 2, `the training's progress changed while the page polled (${[...seen].join(', ')})`);
    await s.page.waitForFunction(() => !document.querySelector('#models-live[hx-trigger]'), undefined, { timeout: 60_000 });
    const statuses = await s.page.locator('#runs-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { status: string } }).dataset.status));
    assert.ok(statuses.length >= 5 && statuses.every((x) => x === 'succeeded'), statuses.join(','));
    assert.match((await s.page.textContent('#runs-table')) ?? '', /Kernel ridge/);
    await s.screenshot('models-after-training');
    s.assertNoProblems('training');
  });

  test('models: a run in detail with its charts, and two runs compared', async () => {
    await s.open('/models?pair=XBTUSD&interval=1d');
    const ridge = s.page.locator('#runs-table tbody tr', { hasText: 'Ridge' }).first();
    const id = (await ridge.getAttribute('id'))!.replace('run-', '');
    await s.open(`/models/runs/${id}`);
    await s.page.waitForSelector('#chart-importance[data-drawn] .cartesianlayer .trace');
    await s.page.waitForSelector('#chart-residuals[data-drawn] .cartesianlayer .trace');
    assert.ok(((await chartState(s, '#chart-importance'))?.traces[0]!.points ?? 0) > 0, 'feature importance drawn');
    assert.ok(((await chartState(s, '#chart-residual-histogram'))?.traces[0]!.points ?? 0) > 100, 'residuals drawn');
    assert.match((await s.page.textContent('#evaluation')) ?? '', /Holdout test/);
    await s.screenshot('model-run-detail');
    s.assertNoProblems('run detail');

    await s.open('/models?pair=XBTUSD&interval=1d');
    const boxes = s.page.locator('#runs-table input[name=run]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await Promise.all([s.page.waitForURL((u) => u.pathname === '/models/compare'), s.page.click('#runs button:has-text("Compare")')]);
    assert.equal(await s.page.locator('#compare-table thead th').count(), 3);
    await s.screenshot('models-compare');
    s.assertNoProblems('compare');
  });

  test('the watchlist shows the next prediction and the skill badge', async () => {
    await s.open('/');
    const row = (await s.page.locator('#watch-XBTUSD').textContent()) ?? '';
    assert.match(row, /80 %:/);
    assert.match(row, /live|test|naive serves/);
    await s.screenshot('home-watchlist-predictions');
    s.assertNoProblems('watchlist');
  });

  test('a user sees predictions and models but cannot train', async () => {
    const u = await openSession(app.url);
    try {
      await loginThroughForm(u, user.user.username, TEST_PASSWORD);
      await u.open('/predictions');
      await u.page.waitForSelector('#chart-forecast[data-drawn]');
      await u.open('/models');
      assert.equal(await u.page.locator('#train-card').count(), 0, 'no training form for users');
      await u.screenshot('user-models');
      u.assertNoProblems('user pages');
      const status = await u.page.evaluate(async () => {
        const token = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string } } }).document.querySelector('meta[name="csrf-token"]').getAttribute('content');
        const r = await fetch('/models/train', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token }, body: 'pair=XBTUSD&interval=1d' });
        return r.status;
      });
      assert.equal(status, 403);
      u.takeProblems();
    } finally {
      await u.close();
    }
  });
});
