/**
 * bench:http: requests/s, p50 and p99 at 64 connections (autocannon) of
 *   - a bare Express "hello" route (the reference), started the same way (child process, tsx, production)
 *   - GET /api/prediction/latest-prediction (authenticated, bearer JWT)
 *   - GET /api/crypto/asset_history/XBTUSD with one year of daily candles (authenticated)
 *   - latest-prediction again while random forests train back to back in the server's worker pool
 * Goals: latest-prediction >= 50 % of bare Express's throughput; p99 while training <= 2x idle p99.
 * The server's resident memory during the run is printed (bench:memory has the figures).
 * Options: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 64).
 */
import { fmt, report, type Figure } from './lib/figures.js';
import { ensurePrediction, historyPath, keepTraining, LATEST_PREDICTION } from './lib/candlecast.js';
import { CONNECTIONS, DURATION_S, load, type LoadResult } from './lib/load.js';
import { rssMb, sampleRss, startHello, startServer } from './lib/server.js';

const figures: Figure[] = [];
const line = (label: string, r: LoadResult) =>
  console.log(`  ${label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors)`);

console.log(`bench:http  ${CONNECTIONS} connections, ${DURATION_S} s per run (after a 2 s warm-up)`);

const hello = await startHello();
const ref = await load(`${hello.url}/hello`);
line('bare Express hello', ref);
await hello.stop();
const refText = `bare Express: ${ref.rps.toFixed(0)} req/s, p50 ${ref.p50} ms, p99 ${ref.p99} ms`;
figures.push({ bench: 'http', name: 'bare Express hello (reference)', value: ref.rps, unit: 'req/s', reference: `p50 ${ref.p50} ms, p99 ${ref.p99} ms`, pass: null });

const server = await startServer();
try {
  const auth = { authorization: `Bearer ${server.token}` };
  const avail = await ensurePrediction(server);
  await new Promise((r) => setTimeout(r, 2000));
  const idleRss = await rssMb(server.pid);

  const rss = sampleRss(server.pid);
  let idleLatest: LoadResult | undefined;
  if (avail.ok) {
    idleLatest = await load(`${server.url}${LATEST_PREDICTION}`, { headers: auth });
    line('latest-prediction', idleLatest);
    const share = idleLatest.rps / ref.rps;
    figures.push(
      { bench: 'http', name: 'latest-prediction throughput', value: idleLatest.rps, unit: 'req/s', reference: refText, goal: '>= 50 % of bare Express', pass: share >= 0.5, note: `${(100 * share).toFixed(0)} % of bare Express` },
      { bench: 'http', name: 'latest-prediction p50', value: idleLatest.p50, unit: 'ms', reference: `bare Express p50 ${ref.p50} ms`, pass: null },
      { bench: 'http', name: 'latest-prediction p99', value: idleLatest.p99, unit: 'ms', reference: `bare Express p99 ${ref.p99} ms`, pass: null },
    );
    if (idleLatest.non2xx || idleLatest.errors) console.warn(`  warning: ${idleLatest.non2xx} non-2xx answers, ${idleLatest.errors} errors`);
  } else {
    for (const n of ['latest-prediction throughput', 'latest-prediction p50', 'latest-prediction p99']) figures.push({ bench: 'http', name: n, value: null, unit: '', reference: refText, pass: null, note: avail.why });
  }

  const hist = await historyPath(server);
  const h = await load(`${server.url}${hist}`, { headers: auth });
  line('asset_history 1 y daily', h);
  figures.push(
    { bench: 'http', name: 'asset_history (1 y daily) throughput', value: h.rps, unit: 'req/s', reference: refText, pass: null, note: `${(100 * (h.rps / ref.rps)).toFixed(0)} % of bare Express` },
    { bench: 'http', name: 'asset_history (1 y daily) p50', value: h.p50, unit: 'ms', reference: `bare Express p50 ${ref.p50} ms`, pass: null },
    { bench: 'http', name: 'asset_history (1 y daily) p99', value: h.p99, unit: 'ms', reference: `bare Express p99 ${ref.p99} ms`, pass: null },
  );

  if (avail.ok && idleLatest) {
    const training = keepTraining(server);
    // let the first run get going before measuring
    await new Promise((r) => setTimeout(r, 500));
    const busy = await load(`${server.url}${LATEST_PREDICTION}`, { headers: auth, warmupS: 0 });
    const t = await training.stop();
    line('latest-prediction while a random forest trains', busy);
    console.log(`  training: ${t.runs} random-forest run(s) finished, ${(t.trainingMs / 1000).toFixed(1)} s in runs${t.error ? `; stopped: ${t.error}` : ''}`);
    if (t.runs === 0 && t.error) {
      figures.push({ bench: 'http', name: 'latest-prediction p99 while a forest trains', value: null, unit: '', reference: `idle p99 ${idleLatest.p99} ms`, goal: '<= 2x idle p99', pass: null, note: t.error.slice(0, 120) });
    } else {
      figures.push(
        { bench: 'http', name: 'latest-prediction p99 while a forest trains', value: busy.p99, unit: 'ms', reference: `idle p99 ${idleLatest.p99} ms`, goal: '<= 2x idle p99', pass: busy.p99 <= 2 * idleLatest.p99, note: `${(busy.p99 / idleLatest.p99).toFixed(2)}x idle; ${busy.rps.toFixed(0)} req/s; ${t.runs} forest run(s)` },
      );
    }
  } else {
    figures.push({ bench: 'http', name: 'latest-prediction p99 while a forest trains', value: null, unit: '', goal: '<= 2x idle p99', pass: null, note: avail.ok ? 'no idle figure' : avail.why });
  }
  const peak = await rss.stop();
  // the figures with goals come from bench:memory; this is for comparison
  console.log(`  server RSS during bench:http: idle ${fmt(idleRss, 'MB')}, peak ${fmt(peak, 'MB')}`);
} finally {
  await server.stop();
}
report('http', figures);
