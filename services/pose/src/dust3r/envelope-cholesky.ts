/** A Cholesky factor L (A = L Lᵀ) stored row-major with each row's first non-zero column. */
export interface EnvelopeFactor {
  n: number;
  l: Float64Array;
  first: Int32Array;
}

/**
 * Cholesky factorisation of a symmetric positive definite A (row-major n×n, lower triangle read) restricted
 * to A's envelope: row i starts at its first non-zero column, so the banded systems of sliding-window scene
 * graphs cost O(n·band²) and dense ones O(n³/6). Returns undefined when A is not positive definite (the
 * caller raises its damping).
 */
export function factorEnvelopeCholesky(a: Float64Array, n: number): EnvelopeFactor | undefined {
  const first = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let j = 0;
    while (j < i && a[i * n + j] === 0) j++;
    first[i] = j;
  }
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const fi = first[i];
    const ri = i * n;
    for (let j = fi; j <= i; j++) {
      let sum = a[ri + j];
      const rj = j * n;
      for (let k = Math.max(fi, first[j]); k < j; k++) sum -= l[ri + k] * l[rj + k];
      if (j === i) {
        if (!(sum > 0)) return undefined;
        l[ri + i] = Math.sqrt(sum);
      } else {
        l[ri + j] = sum / l[rj + j];
      }
    }
  }
  return { n, l, first };
}

/** Solves L Lᵀ x = b with a factor from factorEnvelopeCholesky. */
export function solveWithFactor(factor: EnvelopeFactor, b: ArrayLike<number>): Float64Array {
  const { n, l, first } = factor;
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    let sum = x[i];
    for (let k = first[i]; k < i; k++) sum -= l[i * n + k] * x[k];
    x[i] = sum / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    x[i] /= l[i * n + i];
    const xi = x[i];
    for (let k = first[i]; k < i; k++) x[k] -= l[i * n + k] * xi;
  }
  return x;
}

/** Solves A x = b (A symmetric positive definite); undefined when A is not positive definite. */
export function solveEnvelopeCholesky(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array | undefined {
  const factor = factorEnvelopeCholesky(a, n);
  return factor ? solveWithFactor(factor, b) : undefined;
}
