import { z } from 'zod';

/** Half-open index ranges [start, end) into the list of trainable rows (chronological). */
export interface Range {
  start: number;
  end: number;
}

export interface Fold {
  index: number;
  train: Range;
  test: Range;
}

export const walkForwardSchema = z
  .object({
    /** expanding: train on everything before the test window; sliding: on the last `initialTrain` rows only. */
    mode: z.enum(['expanding', 'sliding']).default('expanding'),
    /** Rows in the first training window; null = half of the rows. */
    initialTrain: z.number().int().min(10).nullable().default(null),
    /** Rows per test window; null = what fits `maxFolds` windows into the rest. */
    testSize: z.number().int().min(1).nullable().default(null),
    /** Rows the window moves per fold; null = testSize (test windows tile without overlap). */
    step: z.number().int().min(1).nullable().default(null),
    /** Keep at most this many folds, the most recent ones. */
    maxFolds: z.number().int().min(1).max(200).default(8),
  })
  .strict();
export type WalkForwardConfig = z.output<typeof walkForwardSchema>;

export interface ResolvedWalkForward {
  mode: 'expanding' | 'sliding';
  initialTrain: number;
  testSize: number;
  step: number;
  maxFolds: number;
}

export function resolveWalkForward(nRows: number, cfg: WalkForwardConfig): ResolvedWalkForward {
  const initialTrain = cfg.initialTrain ?? Math.max(10, Math.floor(nRows / 2));
  if (initialTrain >= nRows) throw new RangeError(`walk-forward needs more rows than the initial training window (${nRows} rows, initialTrain ${initialTrain})`);
  const testSize = cfg.testSize ?? Math.max(1, Math.ceil((nRows - initialTrain) / cfg.maxFolds));
  return { mode: cfg.mode, initialTrain, testSize, step: cfg.step ?? testSize, maxFolds: cfg.maxFolds };
}

/**
 * Walk-forward folds: every test window lies strictly after its training window, so a model
 * is only ever scored on rows it could not have seen. When more folds fit than maxFolds, the
 * most recent are kept: they say the most about how the model does now.
 */
export function walkForwardFolds(nRows: number, cfg: ResolvedWalkForward): Fold[] {
  const folds: Fold[] = [];
  for (let trainEnd = cfg.initialTrain; trainEnd < nRows; trainEnd += cfg.step) {
    const start = cfg.mode === 'sliding' ? Math.max(0, trainEnd - cfg.initialTrain) : 0;
    folds.push({ index: 0, train: { start, end: trainEnd }, test: { start: trainEnd, end: Math.min(trainEnd + cfg.testSize, nRows) } });
  }
  return folds.slice(-cfg.maxFolds).map((f, i) => ({ ...f, index: i }));
}

/** The first (1 - testFraction) of the rows train, the rest test: one chronological split. */
export function chronologicalSplit(nRows: number, testFraction: number): { train: Range; test: Range } {
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError('testFraction must be in (0, 1)');
  const cut = Math.min(nRows - 1, Math.max(1, Math.round(nRows * (1 - testFraction))));
  return { train: { start: 0, end: cut }, test: { start: cut, end: nRows } };
}
