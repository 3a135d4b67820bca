/**
 * bench:boot: start to ready, measured from the spawn until the server prints "candlecast is
 * ready", for `npm start` (tsx) and `npm run start:prod` (compiled, what the Dockerfile runs):
 *   - first boot: a fresh data dir (initdb of the embedded Postgres, migrations, bundled data import)
 *   - warm restart: the same data dir again after a clean stop
 * BENCH_BOOT_RUNS repetitions (default 3), median reported. Goals: first boot < 10 s, restart < 3 s.
 */
import { rm } from 'node:fs/promises';
import { median, report, type Figure } from './lib/figures.js';
import { benchEnv, freshDataDir, RUNTIME_LABEL, runtimes, spawnCandlecast, stopChild } from './lib/server.js';

const runs = Number(process.env.BENCH_BOOT_RUNS ?? 3);
const ownMs = (out: string) => Number(/started in ([\d.]+) s/.exec(out)?.[1] ?? NaN) * 1000;
const figures: Figure[] = [];

console.log(`bench:boot  ${runs} run(s) of first boot + warm restart per runtime`);
for (const runtime of runtimes()) {
  const first: number[] = [];
  const warm: number[] = [];
  const own = { first: [] as number[], warm: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const dir = await freshDataDir('boot');
    const env = benchEnv(dir);
    try {
      const a = await spawnCandlecast(env, runtime);
      first.push(a.readyMs);
      own.first.push(ownMs(a.output()));
      await stopChild(a.child, a.exited);
      const b = await spawnCandlecast(env, runtime);
      warm.push(b.readyMs);
      own.warm.push(ownMs(b.output()));
      await stopChild(b.child, b.exited);
      console.log(`  ${RUNTIME_LABEL[runtime]} run ${i + 1}: first boot ${a.readyMs} ms (boot() ${own.first.at(-1)} ms), warm restart ${b.readyMs} ms (boot() ${own.warm.at(-1)} ms)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const f = median(first) / 1000;
  const w = median(warm) / 1000;
  figures.push(
    { bench: 'boot', name: `first boot to ready, ${RUNTIME_LABEL[runtime]}`, value: f, unit: 's', reference: `median of ${runs}; fresh data dir, initdb, migrations, bundled data`, goal: '< 10 s', pass: f < 10, note: `of which boot() ${(median(own.first) / 1000).toFixed(2)} s, the rest is process start and module loading` },
    { bench: 'boot', name: `warm restart to ready, ${RUNTIME_LABEL[runtime]}`, value: w, unit: 's', reference: `median of ${runs}`, goal: '< 3 s', pass: w < 3, note: `of which boot() ${(median(own.warm) / 1000).toFixed(2)} s` },
  );
}
report('boot', figures);
