/** Plain-text table for console output (no dependency, aligned columns). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], alignRight: readonly boolean[] = []): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, j) => (alignRight[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Longest-processing-time-first split of weighted jobs into `lanes` groups. */
export function balanceLanes<T>(jobs: readonly T[], weight: (j: T) => number, lanes: number): T[][] {
  const out: { load: number; items: T[] }[] = Array.from({ length: Math.max(1, lanes) }, () => ({ load: 0, items: [] }));
  for (const j of [...jobs].sort((a, b) => weight(b) - weight(a))) {
    const lane = out.reduce((m, l) => (l.load < m.load ? l : m));
    lane.items.push(j);
    lane.load += weight(j);
  }
  return out.filter((l) => l.items.length > 0).map((l) => l.items);
}
