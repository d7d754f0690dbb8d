/**
 * Dense symmetric positive-definite solves by Cholesky factorisation (row-major n×n), for the normal
 * equations of least-squares problems (bundle adjustment's reduced camera system, Gauss–Newton steps).
 */

/**
 * Factorises A = L Lᵀ in place (the lower triangle receives L; the upper is left as is).
 * Returns false when A is not numerically positive definite.
 */
export function choleskyFactor(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s * inv;
    }
  }
  return true;
}

/** Solves L Lᵀ x = b with a factor from choleskyFactor; b is overwritten with x and returned. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    const ri = i * n;
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[k];
    b[i] = s / l[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/** x = A⁻¹ b for symmetric positive-definite A (A and b untouched); null when A is not positive definite. */
export function solveSpd(a: ArrayLike<number>, n: number, b: ArrayLike<number>): Float64Array | null {
  const l = Float64Array.from(a);
  if (!choleskyFactor(l, n)) return null;
  return choleskySolve(l, n, Float64Array.from(b));
}

/** Inverse of a symmetric 3x3 matrix (row-major) into `out`; returns false when singular. */
export function invertSymmetric3(m: ArrayLike<number>, out: Float64Array): boolean {
  const a = m[0];
  const b = m[1];
  const c = m[2];
  const d = m[4];
  const e = m[5];
  const f = m[8];
  const c00 = d * f - e * e;
  const c01 = c * e - b * f;
  const c02 = b * e - c * d;
  const det = a * c00 + b * c01 + c * c02;
  if (!(Math.abs(det) > 1e-300)) return false;
  const inv = 1 / det;
  out[0] = c00 * inv;
  out[1] = out[3] = c01 * inv;
  out[2] = out[6] = c02 * inv;
  out[4] = (a * f - c * c) * inv;
  out[5] = out[7] = (b * c - a * e) * inv;
  out[8] = (a * d - b * b) * inv;
  return true;
}
