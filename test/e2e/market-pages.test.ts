/**
 * The market pages in a real browser, on the bundled real candles and the local Kraken
 * stand-in (the app's clock held at the stand-in's "now"): the home watchlist, data analysis
 * with its Plotly charts (drawn, and redrawn when htmx swaps the range or the pair), and the
 * pairs page (catalogue search, the confirmation of a long backfill, remove and re-add with the
 * backfill's progress). Screenshots go to test-results/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/platform/clock.js';
import { startApp, type TestApp } from '../support/app.js';
import { createUserAndLogin, TEST_PASSWORD, type TestAccount } from '../support/auth.js';
import { startKrakenStandin, type KrakenStandin } from '../support/kraken-standin.js';
import { browserAvailability, loginThroughForm, openSession, type BrowserSession } from './support/browser.js';

// The browser globals the page.evaluate callbacks use (compiled without the DOM lib).
interface PlotEl {
  data?: { x?: unknown[]; type?: string }[];
  querySelectorAll(s: string): { length: number };
}
declare const document: { querySelector(s: string): PlotEl | null };

const availability = browserAvailability();
if (!availability.ok) {
  if (availability.skip) test('market pages in a real browser', { skip: availability.message }, () => undefined);
  else test('browser tests need Chromium (market pages)', () => assert.fail(availability.message));
}

/** What Plotly drew into a chart element: its traces' types and point counts, and SVG traces. */
async function chartState(s: BrowserSession, selector: string) {
  return s.page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el || !el.data) return null;
    return { traces: el.data.map((t) => ({ type: t.type, points: t.x?.length ?? 0 })), svgTraces: el.querySelectorAll('.cartesianlayer .trace').length };
  }, selector);
}

describe('market pages in a real browser', { skip: !availability.ok }, () => {
  let kraken: KrakenStandin;
  let app: TestApp;
  let admin: TestAccount;
  let user: TestAccount;
  let s: BrowserSession;

  before(async () => {
    kraken = await startKrakenStandin();
    const clock = new FakeClock(kraken.now() * 1000);
    app = await startApp({ clock, env: { KRAKEN_API_URL: kraken.url, KRAKEN_TIMEOUT_MS: '2000', BUNDLED_DATA: 'true' } });
    admin = await createUserAndLogin(app, { role: 'admin' });
    user = await createUserAndLogin(app, { role: 'user' });
    s = await openSession(app.url);
    await loginThroughForm(s, admin.user.username, TEST_PASSWORD);
  });

  after(async () => {
    await s?.close();
    await app?.stop();
    await kraken?.close();
  });

  test('the home page lists the tracked pairs with their last price and 24 h change', async () => {
    await s.open('/');
    const rows = await s.page.locator('#watchlist-table tbody tr').allTextContents();
    assert.ok(rows.some((r) => /XBT\/USD/.test(r)) && rows.some((r) => /ETH\/USD/.test(r)), rows.join(' | '));
    // 6 Jan 2023's close of the bundled BTC/USD daily file
    assert.match(await s.page.locator('#watch-XBTUSD').textContent() ?? '', /16,9\d\d\.\d/);
    assert.match(await s.page.locator('#watch-XBTUSD').textContent() ?? '', /[+-]\d+\.\d\d %/);
    await s.screenshot('market-home-watchlist');
    s.assertNoProblems('home watchlist');
  });

  test('data analysis draws its three Plotly charts from the stored candles', async () => {
    await s.open('/data?pair=XBTUSD');
    await s.page.waitForSelector('#chart-price[data-drawn] .cartesianlayer .trace');
    const price = await chartState(s, '#chart-price');
    assert.ok(price, 'the price chart exists');
    assert.equal(price.traces[0]!.type, 'candlestick');
    assert.ok(price.traces[0]!.points >= 360 && price.traces[0]!.points <= 366, `a year of daily candles (${price.traces[0]!.points})`);
    assert.equal(price.traces[1]!.type, 'bar');
    assert.ok(price.svgTraces >= 2, 'candles and volume are in the SVG');
    const returns = await chartState(s, '#chart-returns');
    assert.equal(returns?.traces[0]!.type, 'histogram');
    assert.ok((returns?.traces[0]!.points ?? 0) > 300);
    const vol = await chartState(s, '#chart-volatility');
    assert.ok((vol?.traces[0]!.points ?? 0) > 300);
    assert.match((await s.page.textContent('#analysis')) ?? '', /Summary statistics/);
    await s.screenshot('data-analysis');
    s.assertNoProblems('data analysis');
  });

  test('htmx: changing the range and the pair swaps the analysis and redraws the charts', async () => {
    await s.open('/data?pair=XBTUSD');
    await s.page.waitForSelector('#chart-price[data-drawn]');
    await s.page.click('.segmented a:has-text("3M")');
    await s.page.waitForURL((u) => u.searchParams.get('range') === '3m');
    await s.page.waitForSelector('#chart-price[data-drawn] .cartesianlayer .trace');
    const threeMonths = await chartState(s, '#chart-price');
    assert.ok(threeMonths!.traces[0]!.points >= 89 && threeMonths!.traces[0]!.points <= 92, `three months (${threeMonths!.traces[0]!.points})`);
    await s.page.selectOption('#f-pair', 'ETHUSD');
    await s.page.waitForURL((u) => u.searchParams.get('pair') === 'ETHUSD');
    await s.page.waitForSelector('#chart-price[data-drawn] .cartesianlayer .trace');
    assert.equal(await s.page.inputValue('#f-pair'), 'ETHUSD');
    await s.page.click('.segmented a:has-text("All")');
    await s.page.waitForURL((u) => u.searchParams.get('range') === 'all');
    await s.page.waitForSelector('#chart-price[data-drawn] .cartesianlayer .trace');
    const all = await chartState(s, '#chart-price');
    assert.ok(all!.traces[0]!.points > 2500, `all of ETH's stored history (${all!.traces[0]!.points})`);
    assert.match((await s.page.textContent('#analysis')) ?? '', /missing/, 'the gaps card reports the missing day');
    await s.screenshot('data-analysis-eth-all');
    s.assertNoProblems('range and pair');
  });

  test('pairs: search the catalogue, a long backfill asks first, remove and re-add with progress', async () => {
    await s.open('/pairs');
    await s.screenshot('pairs');
    await s.page.fill('#f-q', 'ETH');
    await s.page.locator('#catalogue-table tbody tr').first().waitFor();
    const found = await s.page.locator('#catalogue-table tbody tr').allTextContents();
    assert.ok(found.some((r) => /ETH\/USD/.test(r) && /tracked/.test(r)), 'ETH/USD is listed as tracked');
    await s.screenshot('pairs-search');

    // Stop tracking ETH/USD and delete its candles
    s.page.once('dialog', (d) => void d.accept());
    await s.page.locator('#pairs-table tr', { hasText: 'ETH/USD' }).locator('button', { hasText: 'Remove with data' }).click();
    await s.page.locator('#flash .flash-success', { hasText: 'no longer tracked' }).waitFor();
    assert.equal(await s.page.locator('#pairs-table tr', { hasText: 'ETH/USD' }).count(), 0);

    // Add it back with history from 2016: that is thousands of Trades calls, so it asks first
    await s.page.fill('#f-q', 'ETHUSD');
    const ethRow = s.page.locator('#catalogue-table tbody tr', { hasText: 'ETH/USD' });
    await ethRow.locator('button', { hasText: 'Track' }).waitFor();
    await s.page.fill('#f-backfill-from', '2016-01-01');
    await ethRow.locator('button', { hasText: 'Track' }).click();
    await s.page.locator('#catalogue-results .callout', { hasText: 'Kraken calls' }).waitFor();
    await s.screenshot('pairs-confirm-backfill');
    await s.page.click('#catalogue-results a:has-text("Not now")');
    await s.page.locator('#catalogue-results .callout').waitFor({ state: 'detached' });

    // Without a date: what OHLC holds, started at once; the live panel follows the backfill
    await s.page.fill('#f-backfill-from', '');
    await s.page.locator('#catalogue-table tbody tr', { hasText: 'ETH/USD' }).locator('button', { hasText: 'Track' }).click();
    await s.page.locator('#flash .flash-success', { hasText: 'is tracked' }).waitFor();
    await s.page.locator('#pairs-table tr', { hasText: 'ETH/USD' }).waitFor();
    // The stand-in has no hourly ETH series: that interval is rebuilt from trades, which takes a while.
    const hourly = s.page.locator('#backfills-table tbody tr', { hasText: '1 h' }).first();
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 3; i++) {
      const v = await hourly.locator('[role=progressbar]').getAttribute('aria-valuenow').catch(() => null);
      if (v !== null && v !== '100') seen.add(v);
      if (seen.size === 2) await s.screenshot('pairs-backfill-running');
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(seen.size >= 2, `the backfill's progress moved while the panel polled (${[...seen].join(', ')})`);
    // Cancel what is still running; the panel stops polling once nothing is queued or running.
    for (let i = 0; i < 2; i++) {
      const cancel = s.page.locator('#backfills-table button', { hasText: 'Cancel' }).first();
      if ((await cancel.count()) === 0) break;
      s.page.once('dialog', (d) => void d.accept());
      await cancel.click();
      await s.page.locator('#flash .flash-success', { hasText: 'was cancelled' }).waitFor();
    }
    await s.page.waitForFunction(() => !document.querySelector('#pairs-live[hx-trigger]'), undefined, { timeout: 30_000 });
    const statuses = await s.page.locator('#backfills-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { status: string } }).dataset.status));
    assert.ok(statuses.includes('cancelled'), statuses.join(','));
    assert.match((await s.page.locator('#pairs-table tr', { hasText: 'ETH/USD' }).textContent()) ?? '', /1 day: \d/, 'the daily candles OHLC held are stored');
    await s.screenshot('pairs-after-backfill');
    s.assertNoProblems('pairs');
  });

  test('a user sees the watchlist and the data, and the pairs page is refused', async () => {
    const u = await openSession(app.url);
    try {
      await loginThroughForm(u, user.user.username, TEST_PASSWORD);
      await u.open('/data?pair=ETHUSD&range=1y');
      await u.page.waitForSelector('#chart-price[data-drawn] .cartesianlayer .trace');
      await u.screenshot('user-data-analysis');
      u.assertNoProblems('user data');
      const r = await u.open('/pairs');
      assert.equal(r?.status(), 403);
      u.takeProblems();
    } finally {
      await u.close();
    }
  });

  test('phone-sized data analysis has no horizontal overflow', async () => {
    const phone = await openSession(app.url, { width: 390, height: 844 });
    try {
      await loginThroughForm(phone, admin.user.username, TEST_PASSWORD);
      for (const [path, name] of [['/data?pair=XBTUSD', 'phone-data'], ['/pairs', 'phone-pairs'], ['/', 'phone-watchlist']] as const) {
        await phone.open(path);
        if (path.startsWith('/data')) await phone.page.waitForSelector('#chart-price[data-drawn]');
        await phone.screenshot(name);
        const overflow = await phone.page.evaluate(() => {
          const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
          return d.scrollWidth - d.clientWidth;
        });
        assert.ok(overflow <= 1, `${path} overflows by ${overflow}px`);
      }
      phone.assertNoProblems('phone market pages');
    } finally {
      await phone.close();
    }
  });
});
