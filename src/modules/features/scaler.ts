/**
 * Standard scaler on float64 rows. danfojs' StandardScaler measured ~80x slower on the BTC
 * daily feature matrix (3.7k x 22) and returns float32 values (docs/decisions/010); scaling is
 * refitted in every walk-forward fold and tuning trial, so it sits on a hot path.
 */
export interface StandardScalerState {
  mean: number[];
  /** Population std (ddof = 0, like scikit-learn); 1 for a constant column so it maps to 0. */
  std: number[];
}

/** Fits on exactly the rows given: pass the training window only, never the test rows. */
export function fitStandardScaler(X: readonly (readonly number[])[]): StandardScalerState {
  if (X.length === 0) throw new RangeError('cannot fit a scaler on zero rows');
  const k = X[0]!.length;
  const mean = new Float64Array(k);
  for (const row of X) for (let j = 0; j < k; j++) mean[j]! += row[j]!;
  for (let j = 0; j < k; j++) mean[j] = mean[j]! / X.length;
  const ss = new Float64Array(k);
  for (const row of X) {
    for (let j = 0; j < k; j++) {
      const d = row[j]! - mean[j]!;
      ss[j]! += d * d;
    }
  }
  const std: number[] = [];
  for (let j = 0; j < k; j++) {
    const s = Math.sqrt(ss[j]! / X.length);
    std.push(s > 1e-12 ? s : 1);
  }
  return { mean: Array.from(mean), std };
}

export function applyStandardScaler(state: StandardScalerState, X: readonly (readonly number[])[]): number[][] {
  const k = state.mean.length;
  return X.map((row) => {
    if (row.length !== k) throw new RangeError(`scaler expects ${k} columns, got ${row.length}`);
    const out = new Array<number>(k);
    for (let j = 0; j < k; j++) out[j] = (row[j]! - state.mean[j]!) / state.std[j]!;
    return out;
  });
}
