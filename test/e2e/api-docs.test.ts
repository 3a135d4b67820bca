/** /api/docs in a real Chromium: Swagger UI renders every documented operation, with no console errors. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type TestApp } from '../support/app.js';
import { browserAvailability, openSession, type BrowserSession } from './support/browser.js';

const availability = browserAvailability();
if (!availability.ok) {
  if (availability.skip) test('/api/docs in a real browser', { skip: availability.message }, () => undefined);
  else test('the /api/docs browser test needs Chromium', () => assert.fail(availability.message));
}

describe('/api/docs in a real browser', { skip: !availability.ok }, () => {
  let app: TestApp;
  let s: BrowserSession;
  before(async () => {
    app = await startApp();
    s = await openSession(app.url);
  });
  after(async () => {
    await s?.close();
    await app?.stop();
  });

  test('lists every endpoint of the document, with no console errors', async () => {
    const doc: any = await (await app.fetch('/api/openapi.json')).json();
    const expected: string[] = [];
    for (const [p, item] of Object.entries<any>(doc.paths)) for (const m of Object.keys(item)) expected.push(`${m.toUpperCase()} ${p}`);
    const r = await s.open('/api/docs');
    assert.equal(r?.status(), 200);
    await s.page.waitForSelector('.opblock', { timeout: 15_000 });
    const shown: string[] = await s.page.$$eval('.opblock-summary', (els: any[]) =>
      els.map((e) => `${e.querySelector('.opblock-summary-method')?.textContent?.trim()} ${e.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
    );
    const missing = expected.filter((k) => !shown.includes(k));
    assert.deepEqual(missing, [], 'operations Swagger UI does not show');
    const title = await s.page.textContent('.info .title');
    assert.match(title ?? '', /candlecast API/);
    await s.screenshot('api-docs');
    s.assertNoProblems('/api/docs');
  });
});
