/**
 * bench:pages:
 *   - the home page's total transfer on a first visit (empty cache) in Chromium, with
 *     Accept-Encoding: gzip: the HTML and every file and fragment it loads, bodies and headers as
 *     sent on the wire (playwright's request.sizes()). Goal: under 600 KB.
 *   - server render time of each page: the time to the response headers over loopback (pages
 *     render fully before sending), median of BENCH_PAGE_REPS (default 15) after 3 warm-ups,
 *     for every page linked from the home page and the admin pages, signed in as an admin.
 */
import { existsSync } from 'node:fs';
import { median, report, type Figure } from './lib/figures.js';
import { login, startServer } from './lib/server.js';
import { ensurePrediction } from './lib/candlecast.js';
import { openSession, CHROMIUM_PATH } from '../test/e2e/support/browser.js';

const REPS = Number(process.env.BENCH_PAGE_REPS ?? 15);
const figures: Figure[] = [];
const server = await startServer();
try {
  const { cookie } = await login(server.url);
  // the home page shows the latest prediction when there is one: make one, as a real install has
  const pred = await ensurePrediction(server);
  if (!pred.ok) console.log(`  (no prediction on the home page: ${pred.why})`);

  // ---- transfer of a first visit
  if (existsSync(CHROMIUM_PATH)) {
    const s = await openSession(server.url);
    try {
      const [name, ...rest] = cookie.split(';')[0]!.split('=');
      await s.context.addCookies([{ name: name!, value: rest.join('='), url: server.url }]);
      await s.page.setExtraHTTPHeaders({ 'accept-encoding': 'gzip' });
      const items: { url: string; bytes: number; encoding: string; type: string }[] = [];
      const pending: Promise<void>[] = [];
      s.page.on('requestfinished', (req) => {
        pending.push(
          (async () => {
            const sizes = await req.sizes();
            const res = await req.response();
            items.push({ url: req.url().replace(server.url, ''), bytes: sizes.responseBodySize + sizes.responseHeadersSize, encoding: (await res?.headerValue('content-encoding')) ?? 'identity', type: req.resourceType() });
          })(),
        );
      });
      const r = await s.open('/');
      if (r?.status() !== 200) throw new Error(`home page answered ${r?.status()}`);
      await new Promise((res) => setTimeout(res, 500));
      await Promise.all(pending);
      const total = items.reduce((a, b) => a + b.bytes, 0) / 1024;
      console.log('  home page, first visit, Accept-Encoding: gzip:');
      for (const it of items.sort((a, b) => b.bytes - a.bytes)) console.log(`    ${(it.bytes / 1024).toFixed(1).padStart(7)} KB  ${it.encoding.padEnd(8)} ${it.type.padEnd(10)} ${it.url.slice(0, 90)}`);
      figures.push({ bench: 'pages', name: 'home page total transfer (first visit, gzip)', value: total, unit: 'KB', reference: `${items.length} responses`, goal: '< 600 KB', pass: total < 600 });
      s.assertNoProblems('home page');
    } finally {
      await s.close();
    }
  } else {
    figures.push({ bench: 'pages', name: 'home page total transfer (first visit, gzip)', value: null, unit: '', goal: '< 600 KB', pass: null, note: `no Chromium at ${CHROMIUM_PATH}` });
  }

  // ---- render time of each page
  const get = (p: string) => fetch(new URL(p, server.url), { headers: { cookie, 'accept-encoding': 'gzip' }, redirect: 'manual' });
  const links = new Set<string>(['/', '/admin']);
  for (const start of ['/', '/admin']) {
    const html = await (await get(start)).text();
    for (const m of html.matchAll(/href="(\/[^"#?]*)"/g)) {
      const p = m[1]!;
      if (!/^\/(static|api|internal|metrics|logout)\b/.test(p)) links.add(p);
    }
  }
  const pages = [...links].sort();
  const rows: string[] = [];
  for (const p of pages) {
    const times: number[] = [];
    let status = 0;
    for (let i = 0; i < REPS + 3; i++) {
      const t0 = performance.now();
      const r = await get(p);
      const t = performance.now() - t0;
      status = r.status;
      await r.arrayBuffer();
      if (i >= 3) times.push(t);
    }
    if (status !== 200) {
      rows.push(`    ${p}: ${status} (skipped)`);
      continue;
    }
    const ms = median(times);
    figures.push({ bench: 'pages', name: `render ${p}`, value: ms, unit: 'ms', reference: `median of ${REPS}, loopback, signed in as admin`, pass: null });
  }
  for (const r of rows) console.log(r);
} finally {
  await server.stop();
}
report('pages', figures);
