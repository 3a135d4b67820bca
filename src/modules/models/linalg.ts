/**
 * The little dense linear algebra ridge and polynomial regression need, on Float64Array.
 * Systems are k x k with k = number of features (<= a few dozen), so Cholesky is plenty.
 */

/**
 * Solves A x = b for symmetric positive definite A (row-major k x k). A tiny diagonal jitter
 * is added if the factorisation meets a non-positive pivot (exactly collinear columns with
 * lambda = 0), which only happens for degenerate inputs.
 */
export function solveSpd(A: Float64Array, b: Float64Array, k: number): Float64Array {
  for (let attempt = 0; attempt < 6; attempt++) {
    const jitter = attempt === 0 ? 0 : 1e-12 * 100 ** attempt * (trace(A, k) / k || 1);
    const L = cholesky(A, k, jitter);
    if (L) return cholSolve(L, b, k);
  }
  throw new RangeError('matrix is not positive definite');
}

function trace(A: Float64Array, k: number): number {
  let t = 0;
  for (let i = 0; i < k; i++) t += A[i * k + i]!;
  return t;
}

function cholesky(A: Float64Array, k: number, jitter: number): Float64Array | null {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * k + j]! + (i === j ? jitter : 0);
      for (let p = 0; p < j; p++) s -= L[i * k + p]! * L[j * k + p]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * k + i] = Math.sqrt(s);
      } else {
        L[i * k + j] = s / L[j * k + j]!;
      }
    }
  }
  return L;
}

function cholSolve(L: Float64Array, b: Float64Array, k: number): Float64Array {
  const y = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= L[i * k + p]! * y[p]!;
    y[i] = s / L[i * k + i]!;
  }
  const x = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let p = i + 1; p < k; p++) s -= L[p * k + i]! * x[p]!;
    x[i] = s / L[i * k + i]!;
  }
  return x;
}

export interface LinearFit {
  weights: number[];
  intercept: number;
}

/**
 * Ridge regression in closed form: w = (Xc'Xc + lambda I)^-1 Xc'yc on centred data, so the
 * intercept is not penalised. lambda = 0 is ordinary least squares.
 */
export function ridgeFit(X: readonly (readonly number[])[], y: readonly number[], lambda: number): LinearFit {
  const n = X.length;
  if (n === 0) throw new RangeError('cannot fit on zero rows');
  if (y.length !== n) throw new RangeError('X and y lengths differ');
  const k = X[0]!.length;
  const mx = new Float64Array(k);
  let my = 0;
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    for (let j = 0; j < k; j++) mx[j]! += row[j]!;
    my += y[i]!;
  }
  for (let j = 0; j < k; j++) mx[j] = mx[j]! / n;
  my /= n;
  const A = new Float64Array(k * k);
  const b = new Float64Array(k);
  const xc = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    for (let j = 0; j < k; j++) xc[j] = row[j]! - mx[j]!;
    const yc = y[i]! - my;
    for (let p = 0; p < k; p++) {
      const xp = xc[p]!;
      b[p]! += xp * yc;
      for (let q = 0; q <= p; q++) A[p * k + q]! += xp * xc[q]!;
    }
  }
  for (let p = 0; p < k; p++) {
    A[p * k + p]! += lambda;
    for (let q = 0; q < p; q++) A[q * k + p] = A[p * k + q]!;
  }
  const w = k > 0 ? solveSpd(A, b, k) : new Float64Array(0);
  let intercept = my;
  for (let j = 0; j < k; j++) intercept -= w[j]! * mx[j]!;
  return { weights: Array.from(w), intercept };
}

export function linearPredict(fit: LinearFit, X: readonly (readonly number[])[]): number[] {
  return X.map((row) => {
    let s = fit.intercept;
    for (let j = 0; j < fit.weights.length; j++) s += fit.weights[j]! * row[j]!;
    return s;
  });
}
