/**
 * bench:http: requests/s, p50 and p99 at 64 connections (autocannon) of
 *   - a bare Express "hello" route (the reference), started the same way (child process, tsx, production)
 *   - GET /api/prediction/latest-prediction (authenticated, bearer JWT)
 *   - GET /api/crypto/asset_history/XBTUSD with one year of daily candles (authenticated)
 *   - where the time goes: /healthz (the app's middleware) and /api/auth/protected (+ auth)
 *   - latest-prediction again while random forests train back to back in the server's worker pool
 * The targets are loaded in turn, BENCH_ROUNDS times (default 3), and each figure is the median
 * over the rounds, so a machine whose load changes during the run (other jobs) skews reference and
 * target alike. Goals: latest-prediction >= 50 % of bare Express's throughput; p99 while training
 * <= 2x idle p99. Options: BENCH_DURATION (s per load, default 10), BENCH_CONNECTIONS (default 64).
 */
import { fmt, median, report, type Figure } from './lib/figures.js';
import { ensurePrediction, historyPath, keepTraining, LATEST_PREDICTION } from './lib/candlecast.js';
import { CONNECTIONS, DURATION_S, load, type LoadResult } from './lib/load.js';
import { postgresPids, rssMb, sampleRss, startHello, startServer } from './lib/server.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const figures: Figure[] = [];
const cpuText = (r: LoadResult) =>
  r.cpuPerRequest ? '; CPU/request ' + Object.entries(r.cpuPerRequest).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(', ') : '';
const line = (label: string, r: LoadResult) =>
  console.log(`  ${label}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors${cpuText(r)})`);

interface Target {
  key: string;
  label: string;
  url: string;
  headers?: Record<string, string>;
  duration: number;
  runs: LoadResult[];
  cpuOf: Record<string, () => number[]>;
}

const med = (rs: LoadResult[], k: 'rps' | 'p50' | 'p99') => median(rs.map((r) => r[k]));

console.log(`bench:http  ${CONNECTIONS} connections, ${DURATION_S} s per load, ${ROUNDS} round(s), targets in turn`);

const hello = await startHello();
const server = await startServer();
try {
  const auth = { authorization: `Bearer ${server.token}` };
  const avail = await ensurePrediction(server);
  if (!avail.ok) console.log(`  latest-prediction not measured: ${avail.why}`);
  const hist = await historyPath(server);
  const short = Math.max(3, Math.round(DURATION_S / 2));
  // CPU per request is what a busy machine distorts least: it says what a request costs, not how long it waited
  const app = { node: () => [server.pid], postgres: () => postgresPids(server.dataDir) };
  const targets: Target[] = [
    { key: 'hello', label: 'bare Express hello', url: `${hello.url}/hello`, duration: DURATION_S, runs: [], cpuOf: { node: () => [hello.pid] } },
    ...(avail.ok ? [{ key: 'latest', label: 'latest-prediction', url: `${server.url}${LATEST_PREDICTION}`, headers: auth, duration: DURATION_S, runs: [], cpuOf: app }] : []),
    { key: 'history', label: 'asset_history 1 y daily', url: `${server.url}${hist}`, headers: auth, duration: DURATION_S, runs: [], cpuOf: app },
    { key: 'healthz', label: 'breakdown /healthz', url: `${server.url}/healthz`, duration: short, runs: [], cpuOf: app },
    { key: 'protected', label: 'breakdown /api/auth/protected', url: `${server.url}/api/auth/protected`, headers: auth, duration: short, runs: [], cpuOf: app },
  ];
  const idleRss = await rssMb(server.pid);
  const rss = sampleRss(server.pid);
  const ratios: Record<string, number[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(` round ${round}/${ROUNDS}`);
    let helloRps = 0;
    for (const t of targets) {
      const r = await load(t.url, { headers: t.headers, duration: t.duration, warmupS: round === 1 ? 2 : 1, cpuOf: t.cpuOf });
      t.runs.push(r);
      line(t.label, r);
      if (t.key === 'hello') helloRps = r.rps;
      else (ratios[t.key] ??= []).push(r.rps / helloRps);
    }
  }
  const by = Object.fromEntries(targets.map((t) => [t.key, t]));
  const ref = by.hello!.runs;
  const refText = `bare Express: ${med(ref, 'rps').toFixed(0)} req/s, p50 ${med(ref, 'p50')} ms, p99 ${med(ref, 'p99')} ms`;
  const share = (k: string) => median(ratios[k] ?? [NaN]);
  const cpu = (k: string, group: string) => median((by[k]?.runs ?? []).map((r) => r.cpuPerRequest?.[group] ?? NaN));
  const cpuNote = (k: string) => `CPU/request: node ${cpu(k, 'node').toFixed(2)} ms + Postgres ${cpu(k, 'postgres').toFixed(2)} ms (bare Express ${cpu('hello', 'node').toFixed(2)} ms)`;
  figures.push({ bench: 'http', name: 'bare Express hello (reference)', value: med(ref, 'rps'), unit: 'req/s', reference: `p50 ${med(ref, 'p50')} ms, p99 ${med(ref, 'p99')} ms`, pass: null });
  const latest = by.latest?.runs;
  if (latest) {
    figures.push(
      { bench: 'http', name: 'latest-prediction throughput', value: med(latest, 'rps'), unit: 'req/s', reference: refText, goal: '>= 50 % of bare Express', pass: share('latest') >= 0.5, note: `${(100 * share('latest')).toFixed(0)} % of bare Express (median of the per-round ratios); ${cpuNote('latest')}` },
      { bench: 'http', name: 'latest-prediction p50', value: med(latest, 'p50'), unit: 'ms', reference: `bare Express p50 ${med(ref, 'p50')} ms`, pass: null },
      { bench: 'http', name: 'latest-prediction p99', value: med(latest, 'p99'), unit: 'ms', reference: `bare Express p99 ${med(ref, 'p99')} ms`, pass: null },
    );
  } else {
    for (const n of ['latest-prediction throughput', 'latest-prediction p50', 'latest-prediction p99']) figures.push({ bench: 'http', name: n, value: null, unit: '', reference: refText, pass: null, note: !avail.ok ? avail.why : 'not measured' });
  }
  const h = by.history!.runs;
  figures.push(
    { bench: 'http', name: 'asset_history (1 y daily) throughput', value: med(h, 'rps'), unit: 'req/s', reference: refText, pass: null, note: `${(100 * share('history')).toFixed(0)} % of bare Express; ${cpuNote('history')}` },
    { bench: 'http', name: 'asset_history (1 y daily) p50', value: med(h, 'p50'), unit: 'ms', reference: `bare Express p50 ${med(ref, 'p50')} ms`, pass: null },
    { bench: 'http', name: 'asset_history (1 y daily) p99', value: med(h, 'p99'), unit: 'ms', reference: `bare Express p99 ${med(ref, 'p99')} ms`, pass: null },
    { bench: 'http', name: 'breakdown: GET /healthz (app middleware)', value: med(by.healthz!.runs, 'rps'), unit: 'req/s', reference: `p50 ${med(by.healthz!.runs, 'p50')} ms, p99 ${med(by.healthz!.runs, 'p99')} ms`, pass: null, note: `${(100 * share('healthz')).toFixed(0)} % of bare Express; ${cpuNote('healthz')}` },
    { bench: 'http', name: 'breakdown: GET /api/auth/protected (+ auth)', value: med(by.protected!.runs, 'rps'), unit: 'req/s', reference: `p50 ${med(by.protected!.runs, 'p50')} ms, p99 ${med(by.protected!.runs, 'p99')} ms`, pass: null, note: `${(100 * share('protected')).toFixed(0)} % of bare Express; ${cpuNote('protected')}` },
  );

  if (latest) {
    // idle and busy measured back to back, so both see the same machine
    const idle = await load(by.latest!.url, { headers: auth, warmupS: 1 });
    line('latest-prediction idle, just before training', idle);
    const training = keepTraining(server);
    await new Promise((r) => setTimeout(r, 500));
    const busy = await load(by.latest!.url, { headers: auth, warmupS: 0 });
    const t = await training.stop();
    line('latest-prediction while a random forest trains', busy);
    console.log(`  training: ${t.runs} random-forest run(s) finished, ${(t.trainingMs / 1000).toFixed(1)} s in runs${t.error ? `; stopped: ${t.error}` : ''}`);
    if (t.runs === 0 && t.error) {
      figures.push({ bench: 'http', name: 'latest-prediction p99 while a forest trains', value: null, unit: '', reference: `idle p99 ${idle.p99} ms`, goal: '<= 2x idle p99', pass: null, note: t.error.slice(0, 120) });
    } else {
      figures.push({
        bench: 'http',
        name: 'latest-prediction p99 while a forest trains',
        value: busy.p99,
        unit: 'ms',
        reference: `idle p99 ${idle.p99} ms (measured just before)`,
        goal: '<= 2x idle p99',
        pass: busy.p99 <= 2 * idle.p99,
        note: `${(busy.p99 / idle.p99).toFixed(2)}x idle; ${busy.rps.toFixed(0)} req/s vs ${idle.rps.toFixed(0)} idle; ${t.runs} forest run(s) finished during the load`,
      });
    }
  } else {
    figures.push({ bench: 'http', name: 'latest-prediction p99 while a forest trains', value: null, unit: '', goal: '<= 2x idle p99', pass: null, note: !avail.ok ? avail.why : 'not measured' });
  }
  const peak = await rss.stop();
  // the figures with goals come from bench:memory; this is for comparison
  console.log(`  server RSS during bench:http: idle ${fmt(idleRss, 'MB')}, peak ${fmt(peak, 'MB')}`);
} finally {
  await server.stop();
  await hello.stop();
}
report('http', figures);
