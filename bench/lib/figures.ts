/**
 * One figure of the benchmark summary: a measured value beside its reference and its goal.
 * Each bench writes its figures to bench/results/<bench>.json (git-ignored) and prints them;
 * bench/all.ts collects them into one table.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { formatTable } from './table.js';

export interface Figure {
  bench: string;
  name: string;
  /** the measured value; null when it could not be measured (see note) */
  value: number | null;
  unit: string;
  /** what it is measured beside (same run, same machine), as text */
  reference?: string;
  goal?: string;
  /** true: meets the goal; false: misses it; null: no goal or not measured */
  pass: boolean | null;
  note?: string;
}

export const RESULTS_DIR = path.resolve(import.meta.dirname, '..', 'results');

export function fmt(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`.trim();
}

export function machine(): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}; load average ${loadavg()[0]!.toFixed(1)}`;
}

export function table(figures: readonly Figure[], withBench = false): string {
  const head = [...(withBench ? ['bench'] : []), 'figure', 'value', 'reference', 'goal', 'result'];
  const rows = figures.map((f) => [
    ...(withBench ? [f.bench] : []),
    f.name,
    f.value === null ? `n/a${f.note ? ` (${f.note})` : ''}` : fmt(f.value, f.unit),
    f.reference ?? '',
    f.goal ?? '',
    f.pass === null ? (f.value === null ? 'n/a' : '-') : f.pass ? 'pass' : 'MISS',
  ]);
  return formatTable(head, rows);
}

/** The figures as a Markdown table, for docs/performance.md. */
export function markdown(figures: readonly Figure[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = figures.map((f) =>
    [
      f.bench,
      f.name,
      f.value === null ? `n/a${f.note ? ` (${f.note})` : ''}` : fmt(f.value, f.unit),
      f.reference ?? '',
      f.goal ?? '',
      f.pass === null ? (f.value === null ? 'n/a' : '') : f.pass ? 'met' : '**missed**',
    ]
      .map(esc)
      .join(' | '),
  );
  return ['| bench | figure | value | reference | goal | result |', '|---|---|---|---|---|---|', ...rows.map((r) => `| ${r} |`)].join('\n');
}

/** Prints the figures and writes them to bench/results/<bench>.json. */
export function report(bench: string, figures: Figure[]): void {
  console.log(`\n${bench}: ${machine()}\n`);
  console.log(table(figures));
  const notes = figures.filter((f) => f.note && f.value !== null);
  for (const f of notes) console.log(`  note (${f.name}): ${f.note}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, `${bench}.json`), JSON.stringify({ bench, machine: machine(), at: new Date().toISOString(), figures }, null, 2) + '\n');
}

export function readResults(bench: string): { figures: Figure[]; at: string } | undefined {
  const file = path.join(RESULTS_DIR, `${bench}.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as { figures: Figure[]; at: string };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
