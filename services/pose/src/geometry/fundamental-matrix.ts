import { mat3Multiply, mat3Transpose, type Mat3 } from './mat3';
import { createRng, sampleDistinct } from './random';
import { eigenSymmetric, eigenvector } from './eigen-symmetric';
import { nullVector, svd3 } from './svd';
import { withDefaults } from '../options';

/** x2ᵀ F x1 = 0 for matching pixels x1 (first image) and x2 (second image), packed xy arrays. */

/** Hartley normalisation: translate to the centroid and scale the mean distance to √2. */
function normalization(points: ArrayLike<number>, indices: ArrayLike<number>): Mat3 {
  let mx = 0;
  let my = 0;
  for (let k = 0; k < indices.length; k++) {
    mx += points[2 * indices[k]];
    my += points[2 * indices[k] + 1];
  }
  mx /= indices.length;
  my /= indices.length;
  let dist = 0;
  for (let k = 0; k < indices.length; k++) dist += Math.hypot(points[2 * indices[k]] - mx, points[2 * indices[k] + 1] - my);
  const s = dist > 0 ? (Math.SQRT2 * indices.length) / dist : 1;
  return Float64Array.of(s, 0, -s * mx, 0, s, -s * my, 0, 0, 1);
}

/**
 * Normalised 8-point algorithm over the given correspondences (≥ 8; more gives least squares),
 * with the rank-2 constraint enforced. Returns null for degenerate input.
 */
export function fundamentalEightPoint(x1: ArrayLike<number>, x2: ArrayLike<number>, indices: ArrayLike<number>): Mat3 | null {
  const n = indices.length;
  if (n < 8) return null;
  const t1 = normalization(x1, indices);
  const t2 = normalization(x2, indices);
  // Minimal samples: SVD of the 8x9 system; larger sets: the 9x9 normal matrix (same minimiser, cheaper).
  const rows = n <= 9 ? 9 : n;
  const a = new Float64Array(rows * 9);
  const row = new Float64Array(9);
  const ata = new Float64Array(81);
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    const u1 = t1[0] * x1[2 * i] + t1[2];
    const v1 = t1[4] * x1[2 * i + 1] + t1[5];
    const u2 = t2[0] * x2[2 * i] + t2[2];
    const v2 = t2[4] * x2[2 * i + 1] + t2[5];
    row.set([u2 * u1, u2 * v1, u2, v2 * u1, v2 * v1, v2, u1, v1, 1]);
    if (n <= 9) a.set(row, 9 * k);
    else for (let r = 0; r < 9; r++) for (let c = r; c < 9; c++) ata[r * 9 + c] += row[r] * row[c];
  }
  const f = n <= 9 ? nullVector(a, rows, 9) : eigenvector(eigenSymmetric(ata, 9), 0);
  if (!f.every(Number.isFinite)) return null;
  const { u, s, v } = svd3(Float64Array.from(f));
  const diag = Float64Array.of(s[0], 0, 0, 0, s[1], 0, 0, 0, 0);
  const rank2 = mat3Multiply(mat3Multiply(u, diag), mat3Transpose(v));
  const out = mat3Multiply(mat3Multiply(mat3Transpose(t2), rank2), t1);
  const norm = Math.hypot(...out);
  return norm > 0 ? out.map((x) => x / norm) : null;
}

/** Squared Sampson distance (pixels²) of correspondence i under F. */
export function sampsonDistanceSq(f: Mat3, x1: ArrayLike<number>, x2: ArrayLike<number>, i: number): number {
  const u1 = x1[2 * i];
  const v1 = x1[2 * i + 1];
  const u2 = x2[2 * i];
  const v2 = x2[2 * i + 1];
  const fx0 = f[0] * u1 + f[1] * v1 + f[2];
  const fx1 = f[3] * u1 + f[4] * v1 + f[5];
  const fx2 = f[6] * u1 + f[7] * v1 + f[8];
  const ft0 = f[0] * u2 + f[3] * v2 + f[6];
  const ft1 = f[1] * u2 + f[4] * v2 + f[7];
  const e = u2 * fx0 + v2 * fx1 + fx2;
  const den = fx0 * fx0 + fx1 * fx1 + ft0 * ft0 + ft1 * ft1;
  return den > 0 ? (e * e) / den : Number.POSITIVE_INFINITY;
}

export interface FundamentalRansacOptions {
  /** Sampson distance (pixels) under which a match is an inlier. */
  thresholdPx?: number;
  /** Most hypotheses. */
  maxIterations?: number;
  /** Early-stop probability of having drawn an all-inlier sample. */
  confidence?: number;
  /** Sampler seed. */
  seed?: number;
}

export const FUNDAMENTAL_RANSAC_DEFAULTS: Required<FundamentalRansacOptions> = {
  thresholdPx: 1,
  maxIterations: 300,
  confidence: 0.999,
  seed: 1,
};

export interface FundamentalRansacResult {
  fundamental: Mat3;
  /** 1 for inliers of the refined matrix. */
  inlierMask: Uint8Array;
  inlierCount: number;
}

/** RANSAC over 8-point samples, then least-squares re-estimation on the inliers (twice). */
export function findFundamentalRansac(
  x1: ArrayLike<number>,
  x2: ArrayLike<number>,
  options: FundamentalRansacOptions = {},
): FundamentalRansacResult | null {
  const o = withDefaults(FUNDAMENTAL_RANSAC_DEFAULTS, options);
  const n = x1.length >> 1;
  if (n < 8 || x2.length !== x1.length) return null;
  const rng = createRng(o.seed);
  const t2 = o.thresholdPx * o.thresholdPx;
  const inliersOf = (f: Mat3): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (sampsonDistanceSq(f, x1, x2, i) <= t2) out.push(i);
    return out;
  };
  let best: number[] = [];
  let needed = o.maxIterations;
  for (let it = 0; it < Math.min(needed, o.maxIterations); it++) {
    const f = fundamentalEightPoint(x1, x2, sampleDistinct(rng, n, 8));
    if (!f) continue;
    const inliers = inliersOf(f);
    if (inliers.length > best.length) {
      best = inliers;
      const p = (inliers.length / n) ** 8;
      needed = p >= 1 ? 0 : Math.ceil(Math.log(1 - o.confidence) / Math.log(1 - Math.max(p, 1e-12)));
    }
  }
  if (best.length < 8) return null;
  let fundamental = fundamentalEightPoint(x1, x2, best);
  for (let round = 0; round < 2 && fundamental; round++) {
    const next = inliersOf(fundamental);
    if (next.length < 8) break;
    best = next;
    fundamental = fundamentalEightPoint(x1, x2, best) ?? fundamental;
  }
  if (!fundamental) return null;
  const inlierMask = new Uint8Array(n);
  for (const i of inliersOf(fundamental)) inlierMask[i] = 1;
  return { fundamental, inlierMask, inlierCount: inlierMask.reduce((s, v) => s + v, 0) };
}
