import { loadDanfo } from './danfo.js';
import type { FeatureFrame } from './features.js';

export interface FeatureSummary {
  name: string;
  count: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  max: number;
}

/**
 * Per-feature summary statistics of the given rows (e.g. the training window) for a run's
 * data-quality report. This is where danfojs earns its place: one describe() call, off the
 * hot path. Its float32 storage (~1e-7 relative) is fine for display, not for modelling.
 */
export async function describeFeatures(frame: FeatureFrame, rows: readonly number[]): Promise<FeatureSummary[]> {
  if (rows.length === 0) return [];
  const dfd = await loadDanfo();
  const data: Record<string, number[]> = {};
  frame.names.forEach((name, j) => {
    const col = frame.columns[j]!;
    data[name] = rows.map((i) => col[i]!);
  });
  const desc = new dfd.DataFrame(data).describe();
  const index = desc.index.map(String);
  const values = desc.values as number[][];
  const cols = desc.columns;
  const stat = (label: string, j: number): number => {
    const i = index.indexOf(label);
    return i < 0 ? NaN : Number(values[i]![j]);
  };
  return cols.map((name, j) => ({
    name,
    count: stat('count', j),
    mean: stat('mean', j),
    std: stat('std', j),
    min: stat('min', j),
    median: stat('median', j),
    max: stat('max', j),
  }));
}
