import { mat3Determinant, mat3Multiply, mat3Transpose, type Mat3 } from './mat3';
import { svd3 } from './svd';
import { triangulateTwoView } from './triangulation';
import { vec3, type Vec3 } from './vec3';

/** Pinhole intrinsics matrix [f 0 cx; 0 f cy; 0 0 1]. */
export function intrinsicsMatrix(focalPx: number, cxPx: number, cyPx: number): Mat3 {
  return Float64Array.of(focalPx, 0, cxPx, 0, focalPx, cyPx, 0, 0, 1);
}

/** E = K2ᵀ F K1. */
export function essentialFromFundamental(f: Mat3, k1: Mat3, k2: Mat3): Mat3 {
  return mat3Multiply(mat3Multiply(mat3Transpose(k2), f), k1);
}

/**
 * How far E is from a valid essential matrix: (σ1 − σ2) / (σ1 + σ2), 0 for a perfect one. Summed over
 * image pairs, its minimum over the focal length is a self-calibration estimate (needs rotation between
 * views: under pure translation every focal gives 0).
 */
export function essentialDefect(e: Mat3): number {
  const { s } = svd3(e);
  return s[0] + s[1] > 0 ? (s[0] - s[1]) / (s[0] + s[1]) : 1;
}

/** Second camera relative to the first: x2 = R x1 + t (world-to-camera of camera 2 when camera 1 is the origin). */
export interface RelativePose {
  rotation: Mat3;
  /** Unit translation direction. */
  translation: Vec3;
}

/** The four (R, t) factorisations of an essential matrix. */
export function decomposeEssential(e: Mat3): RelativePose[] {
  const { u, v } = svd3(e);
  const uu = Float64Array.from(u);
  const vv = Float64Array.from(v);
  if (mat3Determinant(uu) < 0) for (let r = 0; r < 3; r++) uu[r * 3 + 2] *= -1;
  if (mat3Determinant(vv) < 0) for (let r = 0; r < 3; r++) vv[r * 3 + 2] *= -1;
  const w = Float64Array.of(0, -1, 0, 1, 0, 0, 0, 0, 1);
  const r1 = mat3Multiply(mat3Multiply(uu, w), mat3Transpose(vv));
  const r2 = mat3Multiply(mat3Multiply(uu, mat3Transpose(w)), mat3Transpose(vv));
  const t = vec3(uu[2], uu[5], uu[8]);
  const minus = vec3(-t[0], -t[1], -t[2]);
  return [
    { rotation: r1, translation: t },
    { rotation: r1, translation: minus },
    { rotation: r2, translation: t },
    { rotation: r2, translation: minus },
  ];
}

/**
 * The factorisation that puts the most correspondences in front of both cameras. `n1`, `n2` are
 * normalised image coordinates (K⁻¹ x, packed xy); `indices` selects the inliers to vote.
 */
export function recoverRelativePose(
  e: Mat3,
  n1: ArrayLike<number>,
  n2: ArrayLike<number>,
  indices: ArrayLike<number>,
): { pose: RelativePose; inFront: number } {
  let best: RelativePose | null = null;
  let bestCount = -1;
  const identity = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  const zero = vec3();
  for (const pose of decomposeEssential(e)) {
    let count = 0;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      const x = triangulateTwoView(identity, zero, pose.rotation, pose.translation, [n1[2 * i], n1[2 * i + 1]], [n2[2 * i], n2[2 * i + 1]]);
      if (!x) continue;
      const z2 = pose.rotation[6] * x[0] + pose.rotation[7] * x[1] + pose.rotation[8] * x[2] + pose.translation[2];
      if (x[2] > 0 && z2 > 0) count++;
    }
    if (count > bestCount) {
      bestCount = count;
      best = pose;
    }
  }
  return { pose: best!, inFront: bestCount };
}
