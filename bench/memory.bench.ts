/**
 * bench:memory: resident memory (VmRSS from /proc) of the candlecast process, for `npm start`
 * (tsx) and `npm run start:prod` (compiled):
 *   - idle: after the first boot (bundled data imported) and one quick training, settled 5 s
 *   - under load: the peak while latest-prediction and asset_history (1 y daily) are read at
 *     32 connections each and random forests train back to back in the worker pool
 * Goals: idle <= 250 MB, under load <= 400 MB. The embedded Postgres is a separate process
 * tree and is reported beside it, without a goal.
 */
import { execFileSync } from 'node:child_process';
import { report, type Figure } from './lib/figures.js';
import { ensurePrediction, historyPath, keepTraining, LATEST_PREDICTION } from './lib/candlecast.js';
import { DURATION_S, load } from './lib/load.js';
import { rssMb, RUNTIME_LABEL, runtimes, sampleRss, startServer, type Runtime } from './lib/server.js';

/** RSS of the embedded Postgres serving this data dir: the postmaster and its children (MB), or null. */
function postgresRssMb(dataDir: string): number | null {
  try {
    const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    const pm = out.split('\n').find((l) => l.includes('postgres') && l.includes(dataDir));
    if (!pm) return null;
    const pid = pm.trim().split(/\s+/)[0]!;
    const own = Number(execFileSync('ps', ['-o', 'rss=', '-p', pid], { encoding: 'utf8' }).trim());
    const kids = execFileSync('ps', ['-o', 'rss=', '--ppid', pid], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return (own + kids.reduce((a, b) => a + b, 0)) / 1024;
  } catch {
    return null;
  }
}

const mb = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(0)} MB`);

async function measure(runtime: Runtime): Promise<Figure[]> {
  const label = RUNTIME_LABEL[runtime];
  const server = await startServer({ runtime });
  try {
    const pred = await ensurePrediction(server);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = await rssMb(server.pid);
    const pgIdle = postgresRssMb(server.dataDir);
    console.log(`  ${label} idle: candlecast ${mb(idle)}, embedded Postgres ${mb(pgIdle)}`);

    const auth = { authorization: `Bearer ${server.token}` };
    const hist = await historyPath(server);
    const sampler = sampleRss(server.pid);
    const training = pred.ok ? keepTraining(server) : undefined;
    await Promise.all([
      pred.ok ? load(`${server.url}${LATEST_PREDICTION}`, { headers: auth, connections: 32, warmupS: 0, duration: DURATION_S }) : Promise.resolve(null),
      load(`${server.url}${hist}`, { headers: auth, connections: pred.ok ? 32 : 64, warmupS: 0, duration: DURATION_S }),
    ]);
    const t = await training?.stop();
    const peak = await sampler.stop();
    const pgLoad = postgresRssMb(server.dataDir);
    const what = `latest-prediction + asset_history at 64 connections${t?.runs ? `, ${t.runs} forest run(s) training` : ''}`;
    console.log(`  ${label} under load (${what}): candlecast peak ${mb(peak)}, embedded Postgres ${mb(pgLoad)}`);
    return [
      { bench: 'memory', name: `RSS idle, ${label}`, value: idle, unit: 'MB', reference: `embedded Postgres beside it: ${mb(pgIdle)}`, goal: '<= 250 MB', pass: idle === null ? null : idle <= 250 },
      {
        bench: 'memory',
        name: `RSS peak under load, ${label}`,
        value: peak,
        unit: 'MB',
        reference: `embedded Postgres beside it: ${mb(pgLoad)}`,
        goal: '<= 400 MB',
        pass: peak === null ? null : peak <= 400,
        note: what + (pred.ok ? '' : `; latest-prediction n/a: ${pred.why}`) + (t?.error ? `; training stopped: ${t.error.slice(0, 80)}` : ''),
      },
    ];
  } finally {
    await server.stop();
  }
}

const figures: Figure[] = [];
for (const runtime of runtimes()) figures.push(...(await measure(runtime)));
report('memory', figures);
