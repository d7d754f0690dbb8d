import { solveSpd } from '../geometry/cholesky';
import { mat3Multiply } from '../geometry/mat3';
import { rotationFromVector } from '../geometry/rotation';
import { clonePose, type CameraPose, type RadialIntrinsics } from './camera-model';
import { huberCost, huberWeight, linearizeObservation } from './reprojection';
import { withDefaults } from '../options';

export interface PoseRefineOptions {
  /** Most Levenberg–Marquardt iterations. */
  maxIterations?: number;
  /** Huber threshold (pixels). */
  huberPx?: number;
  /** Reprojection error (pixels) under which a correspondence counts as an inlier afterwards. */
  inlierPx?: number;
}

export const POSE_REFINE_DEFAULTS: Required<PoseRefineOptions> = { maxIterations: 20, huberPx: 2, inlierPx: 4 };

export interface PoseRefineResult {
  pose: CameraPose;
  /** 1 for correspondences within `inlierPx` and in front of the camera. */
  inlierMask: Uint8Array;
  inlierCount: number;
  /** RMS reprojection error of the inliers (pixels). */
  rmsPx: number;
}

/**
 * Motion-only refinement (robust PnP from an initial guess): the world-to-camera pose that minimises
 * the Huber reprojection cost of known 3D points (`points` packed xyz, `pointIndex` per correspondence)
 * at observed pixels (`pixels` packed uv).
 */
export function refinePose(
  intr: RadialIntrinsics,
  initial: CameraPose,
  points: ArrayLike<number>,
  pointIndex: ArrayLike<number>,
  pixels: ArrayLike<number>,
  options: PoseRefineOptions = {},
): PoseRefineResult {
  const o = withDefaults(POSE_REFINE_DEFAULTS, options);
  const n = pointIndex.length;
  const res = new Float64Array(2);
  const jc = new Float64Array(12);
  const costOf = (pose: CameraPose): number => {
    let cost = 0;
    for (let i = 0; i < n; i++) {
      const depth = linearizeObservation(intr, pose, points, 3 * pointIndex[i], pixels[2 * i], pixels[2 * i + 1], res, 0, jc, 0, null, 0);
      cost += depth > 0 ? huberCost(res[0] * res[0] + res[1] * res[1], o.huberPx) : 4 * o.huberPx * o.huberPx;
    }
    return cost;
  };

  let pose = clonePose(initial);
  let cost = costOf(pose);
  let lambda = 1e-3;
  const h = new Float64Array(36);
  const g = new Float64Array(6);
  for (let it = 0; it < o.maxIterations && n >= 3; it++) {
    h.fill(0);
    g.fill(0);
    for (let i = 0; i < n; i++) {
      const depth = linearizeObservation(intr, pose, points, 3 * pointIndex[i], pixels[2 * i], pixels[2 * i + 1], res, 0, jc, 0, null, 0);
      if (!(depth > 0)) continue;
      const w = huberWeight(res[0], res[1], o.huberPx);
      for (let a = 0; a < 6; a++) {
        g[a] += w * (jc[a] * res[0] + jc[6 + a] * res[1]);
        for (let b = 0; b < 6; b++) h[a * 6 + b] += w * (jc[a] * jc[b] + jc[6 + a] * jc[6 + b]);
      }
    }
    let accepted = false;
    for (let attempt = 0; attempt < 8 && !accepted; attempt++) {
      const damped = Float64Array.from(h);
      for (let d = 0; d < 6; d++) damped[d * 7] += lambda * Math.max(h[d * 7], 1e-9) + 1e-12;
      const step = solveSpd(damped, 6, g.map((x) => -x));
      if (!step) {
        lambda *= 10;
        continue;
      }
      const trial: CameraPose = {
        rotation: mat3Multiply(rotationFromVector([step[0], step[1], step[2]]), pose.rotation),
        translation: Float64Array.of(pose.translation[0] + step[3], pose.translation[1] + step[4], pose.translation[2] + step[5]),
      };
      const trialCost = costOf(trial);
      if (trialCost < cost) {
        const gain = (cost - trialCost) / Math.max(cost, 1e-300);
        pose = trial;
        cost = trialCost;
        lambda = Math.max(lambda / 5, 1e-9);
        accepted = true;
        if (gain < 1e-7) it = o.maxIterations;
      } else {
        lambda *= 8;
      }
    }
    if (!accepted) break;
  }

  const inlierMask = new Uint8Array(n);
  let inlierCount = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const depth = linearizeObservation(intr, pose, points, 3 * pointIndex[i], pixels[2 * i], pixels[2 * i + 1], res, 0, jc, 0, null, 0);
    const e2 = res[0] * res[0] + res[1] * res[1];
    if (depth > 0 && e2 <= o.inlierPx * o.inlierPx) {
      inlierMask[i] = 1;
      inlierCount++;
      sq += e2;
    }
  }
  return { pose, inlierMask, inlierCount, rmsPx: inlierCount > 0 ? Math.sqrt(sq / inlierCount) : Number.POSITIVE_INFINITY };
}
