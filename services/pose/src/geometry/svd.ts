import { mat3Determinant, mat3Multiply, mat3Transpose, type Mat3 } from './mat3';

/** Thin singular value decomposition A = U diag(S) Vᵀ of a rows×cols matrix (row-major). */
export interface Svd {
  /** rows×k, row-major, k = min(rows, cols) unless `rows < cols` (then rows×cols with zero columns). */
  u: Float64Array;
  /** Singular values, descending. */
  s: Float64Array;
  /** cols×cols, row-major; column j is the right singular vector of s[j]. */
  v: Float64Array;
  rows: number;
  cols: number;
}

const MAX_SWEEPS = 60;

/**
 * One-sided Jacobi (Hestenes) SVD: orthogonalises the columns of A by plane rotations. Accurate for the
 * small systems of multi-view geometry (3x3, the 8-point system, DLT). When rows < cols the matrix is
 * padded with zero rows, so V is always complete and its last column spans the null space.
 */
export function svd(matrix: ArrayLike<number>, rows: number, cols: number): Svd {
  const m = Math.max(rows, cols);
  const n = cols;
  const w = new Float64Array(m * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) w[r * n + c] = matrix[r * n + c];
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;

  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let r = 0; r < m; r++) {
          const wp = w[r * n + p];
          const wq = w[r * n + q];
          alpha += wp * wp;
          beta += wq * wq;
          gamma += wp * wq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let r = 0; r < m; r++) {
          const wp = w[r * n + p];
          const wq = w[r * n + q];
          w[r * n + p] = c * wp - s * wq;
          w[r * n + q] = s * wp + c * wq;
        }
        for (let r = 0; r < n; r++) {
          const vp = v[r * n + p];
          const vq = v[r * n + q];
          v[r * n + p] = c * vp - s * vq;
          v[r * n + q] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }

  const norms = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    let sum = 0;
    for (let r = 0; r < m; r++) sum += w[r * n + c] * w[r * n + c];
    norms[c] = Math.sqrt(sum);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => norms[j] - norms[i]);
  const u = new Float64Array(rows * n);
  const s = new Float64Array(n);
  const vs = new Float64Array(n * n);
  order.forEach((src, dst) => {
    s[dst] = norms[src];
    for (let r = 0; r < n; r++) vs[r * n + dst] = v[r * n + src];
    if (norms[src] > 0) for (let r = 0; r < rows; r++) u[r * n + dst] = w[r * n + src] / norms[src];
  });
  return { u, s, v: vs, rows, cols };
}

/** Unit vector x minimising |A x| (the right singular vector of the smallest singular value). */
export function nullVector(matrix: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const { v } = svd(matrix, rows, cols);
  const out = new Float64Array(cols);
  for (let r = 0; r < cols; r++) out[r] = v[r * cols + cols - 1];
  return out;
}

/** SVD of a 3x3 matrix: U, S, V with A = U diag(S) Vᵀ (U and V orthogonal, not forced to det +1). */
export function svd3(a: Mat3): { u: Mat3; s: Float64Array; v: Mat3 } {
  const { u, s, v } = svd(a, 3, 3);
  return { u, s, v };
}

/** The rotation closest to `a` in the Frobenius norm (det +1). */
export function nearestRotation(a: Mat3): Mat3 {
  const { u, v } = svd3(a);
  const r = mat3Multiply(u, mat3Transpose(v));
  if (mat3Determinant(r) > 0) return r;
  const u2 = Float64Array.from(u);
  u2[2] = -u2[2];
  u2[5] = -u2[5];
  u2[8] = -u2[8];
  return mat3Multiply(u2, mat3Transpose(v));
}
