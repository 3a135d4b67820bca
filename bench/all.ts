/**
 * `npm run bench`: every benchmark, one after the other, then one table of every figure beside
 * its reference and goal. Each bench also runs alone as `npm run bench:<name>`.
 *   npm run bench                 all of them
 *   npm run bench -- http boot    only these
 * The compiled build (for the start:prod figures) is made once, into bench/results/dist.
 * Figures go to bench/results/<bench>.json; docs/performance.md holds the latest published ones.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { machine, markdown, readResults, RESULTS_DIR, table, type Figure } from './lib/figures.js';
import { buildDist, ROOT } from './lib/server.js';

interface Bench {
  name: string;
  file: string;
  /** for benches that print but write no bench/results/<name>.json: figures read from their output */
  parse?: (out: string) => Figure[];
}

const num = (re: RegExp, s: string) => {
  const m = re.exec(s);
  return m ? Number(m[1]) : null;
};

const BENCHES: Bench[] = [
  { name: 'http', file: 'bench/http.bench.ts' },
  {
    name: 'ingest',
    file: 'bench/ingest.bench.ts',
    parse: (out) => {
      const ratio = num(/^ratio\s+([\d.]+)/m, out);
      const imp = num(/^import ms\s+([\d.]+)/m, out);
      const copy = num(/^COPY ms\s+([\d.]+)/m, out);
      const rows = num(/^rows\s+(\d+)/m, out);
      return [
        {
          bench: 'ingest',
          name: `import ${rows ? `${(rows / 1000).toFixed(0)}k` : '70k'} hourly BTC candles (CSV import path)`,
          value: ratio,
          unit: 'x COPY',
          reference: imp !== null && copy !== null ? `import ${(imp / 1000).toFixed(2)} s vs COPY ${(copy / 1000).toFixed(2)} s into the same Postgres` : 'COPY into the same Postgres',
          goal: '<= 3x COPY',
          pass: ratio === null ? null : ratio <= 3,
          note: ratio === null ? 'see the bench output above' : undefined,
        },
      ];
    },
  },
  {
    name: 'train',
    file: 'bench/train.bench.ts',
    parse: (out) => {
      const s = num(/total:\s*([\d.]+)\s*s wall/, out);
      const models = num(/wall for (\d+) models/, out);
      return [{ bench: 'train', name: 'train the default suite, walk-forward, BTC daily', value: s, unit: 's', reference: models ? `${models} models, 2 worker threads` : undefined, goal: '< 10 s', pass: s === null ? null : s < 10, note: s === null ? 'see the bench output above' : undefined }];
    },
  },
  { name: 'boot', file: 'bench/boot.bench.ts' },
  { name: 'pages', file: 'bench/pages.bench.ts' },
  { name: 'memory', file: 'bench/memory.bench.ts' },
];

function run(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      process.stdout.write(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
      process.stderr.write(c);
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const only = process.argv.slice(2);
const chosen = only.length ? BENCHES.filter((b) => only.includes(b.name)) : BENCHES;
const t0 = performance.now();
console.log(`npm run bench: ${chosen.map((b) => b.name).join(', ')}\nmachine: ${machine()}\n`);

const env: NodeJS.ProcessEnv = { ...process.env };
if (env.BENCH_RUNTIMES !== 'tsx' && chosen.some((b) => b.name === 'boot' || b.name === 'memory')) {
  console.log('building the compiled server for the start:prod figures...');
  const err = buildDist();
  if (err) {
    console.warn(`  no compiled build (${err}); only tsx figures`);
    env.BENCH_RUNTIMES = 'tsx';
  } else env.BENCH_DIST_READY = '1';
}

const all: Figure[] = [];
const failures: string[] = [];
for (const b of chosen) {
  console.log(`\n===== bench:${b.name} =====`);
  if (!existsSync(path.join(ROOT, b.file))) {
    console.log(`  ${b.file} does not exist yet`);
    all.push({ bench: b.name, name: `${b.name}`, value: null, unit: '', pass: null, note: `${b.file} missing` });
    continue;
  }
  const results = path.join(ROOT, 'bench', 'results', `${b.name}.json`);
  rmSync(results, { force: true });
  const started = new Date();
  const { code, out } = await run(b.file, env);
  const written = readResults(b.name);
  const fresh = written && new Date(written.at) >= started ? written.figures : undefined;
  const figures = fresh ?? (b.parse ? b.parse(out) : []);
  if (!fresh && figures.length) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(results, JSON.stringify({ bench: b.name, machine: machine(), at: new Date().toISOString(), figures }, null, 2) + '\n');
  }
  if (code !== 0) {
    failures.push(`bench:${b.name} exited with ${code}`);
    if (figures.length === 0) all.push({ bench: b.name, name: b.name, value: null, unit: '', pass: null, note: `exited with ${code}; see its output above` });
  }
  all.push(...figures);
}

console.log(`\n===== summary (${((performance.now() - t0) / 1000).toFixed(0)} s) =====`);
console.log(`machine: ${machine()}\n`);
console.log(table(all, true));
const missed = all.filter((f) => f.pass === false);
const na = all.filter((f) => f.value === null);
console.log(`\n${all.filter((f) => f.pass === true).length} goal(s) met, ${missed.length} missed, ${na.length} not measured`);
for (const f of [...missed, ...na]) if (f.note) console.log(`  ${f.bench} / ${f.name}: ${f.note}`);
if (failures.length) console.log(failures.join('\n'));
mkdirSync(RESULTS_DIR, { recursive: true });
writeFileSync(path.join(RESULTS_DIR, 'summary.md'), `Machine: ${machine()}\n\n${markdown(all)}\n`);
console.log(`\nMarkdown for docs/performance.md: ${path.relative(ROOT, path.join(RESULTS_DIR, 'summary.md'))}`);
// Missed goals are figures, not failures; a bench that crashed is.
process.exit(failures.length ? 1 : 0);
