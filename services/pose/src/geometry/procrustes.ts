import { mat3Determinant, mat3Multiply, mat3Transpose, type Mat3 } from './mat3';
import { svd3 } from './svd';
import { vec3, type Vec3 } from './vec3';

/** dst ≈ scale · rotation · src + translation. */
export interface SimilarityTransform {
  scale: number;
  rotation: Mat3;
  translation: Vec3;
}

export interface ProcrustesOptions {
  /** Per-point confidence weights (≥ 0), one per point; all 1 when omitted. */
  weights?: ArrayLike<number>;
  /** Estimate the scale (Umeyama); false fixes it at 1 (Kabsch). */
  withScale?: boolean;
}

export const PROCRUSTES_DEFAULTS: Required<Omit<ProcrustesOptions, 'weights'>> = { withScale: true };

export interface ProcrustesResult extends SimilarityTransform {
  /** Weighted root-mean-square distance between the transformed src and dst. */
  rmse: number;
}

/**
 * Confidence-weighted scaled orthogonal Procrustes (Umeyama 1991): the similarity that minimises
 * Σ wᵢ |dstᵢ − (s R srcᵢ + t)|². Points are packed xyz arrays of equal length; needs 3 non-collinear
 * points with positive weight for a unique rotation.
 */
export function procrustes(src: ArrayLike<number>, dst: ArrayLike<number>, options: ProcrustesOptions = {}): ProcrustesResult {
  const withScale = options.withScale ?? PROCRUSTES_DEFAULTS.withScale;
  if (src.length !== dst.length || src.length % 3 !== 0) {
    throw new RangeError(`procrustes: point arrays differ or are not xyz (${src.length} vs ${dst.length})`);
  }
  const n = src.length / 3;
  const weights = options.weights;
  if (weights && weights.length !== n) throw new RangeError(`procrustes: ${weights.length} weights for ${n} points`);
  const weightOf = (i: number): number => (weights ? weights[i] : 1);

  let total = 0;
  const muX = [0, 0, 0];
  const muY = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const w = weightOf(i);
    total += w;
    for (let k = 0; k < 3; k++) {
      muX[k] += w * src[3 * i + k];
      muY[k] += w * dst[3 * i + k];
    }
  }
  if (!(total > 0)) throw new RangeError('procrustes: weights sum to zero');
  for (let k = 0; k < 3; k++) {
    muX[k] /= total;
    muY[k] /= total;
  }

  const cov = new Float64Array(9);
  let varX = 0;
  for (let i = 0; i < n; i++) {
    const w = weightOf(i) / total;
    const x = [src[3 * i] - muX[0], src[3 * i + 1] - muX[1], src[3 * i + 2] - muX[2]];
    const y = [dst[3 * i] - muY[0], dst[3 * i + 1] - muY[1], dst[3 * i + 2] - muY[2]];
    varX += w * (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cov[r * 3 + c] += w * y[r] * x[c];
  }

  const { u, s, v } = svd3(cov);
  const reflect = mat3Determinant(u) * mat3Determinant(v) < 0;
  const d = [1, 1, reflect ? -1 : 1];
  const uD = Float64Array.from(u);
  for (let r = 0; r < 3; r++) uD[r * 3 + 2] *= d[2];
  const rotation = mat3Multiply(uD, mat3Transpose(v));
  const scale = withScale ? (varX > 0 ? (s[0] * d[0] + s[1] * d[1] + s[2] * d[2]) / varX : 1) : 1;
  const translation = vec3(
    muY[0] - scale * (rotation[0] * muX[0] + rotation[1] * muX[1] + rotation[2] * muX[2]),
    muY[1] - scale * (rotation[3] * muX[0] + rotation[4] * muX[1] + rotation[5] * muX[2]),
    muY[2] - scale * (rotation[6] * muX[0] + rotation[7] * muX[1] + rotation[8] * muX[2]),
  );

  let sq = 0;
  for (let i = 0; i < n; i++) {
    const x = src.length ? [src[3 * i], src[3 * i + 1], src[3 * i + 2]] : [0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const p = scale * (rotation[k * 3] * x[0] + rotation[k * 3 + 1] * x[1] + rotation[k * 3 + 2] * x[2]) + translation[k];
      const e = p - dst[3 * i + k];
      sq += (weightOf(i) / total) * e * e;
    }
  }
  return { scale, rotation, translation, rmse: Math.sqrt(sq) };
}
