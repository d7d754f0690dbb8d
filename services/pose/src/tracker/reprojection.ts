import type { CameraPose, RadialIntrinsics } from './camera-model';

/**
 * Residual and Jacobians of one observation: e = project(R X + t) − observed (pixels). Written into
 * caller-owned arrays at offsets (hot loop of bundle adjustment and pose refinement):
 * `res[resOff..+2]`, camera Jacobian `jc[jcOff..+12]` (2x6 row-major: rotation as a left perturbation
 * ω with R ← exp(ω) R, then translation), point Jacobian `jp[jpOff..+6]` (2x3) when `jp` is given.
 * Returns the camera-frame depth (≤ 0 means behind the camera; the Jacobians are then meaningless).
 */
export function linearizeObservation(
  intr: RadialIntrinsics,
  pose: CameraPose,
  points: ArrayLike<number>,
  pointOff: number,
  u: number,
  v: number,
  res: Float64Array,
  resOff: number,
  jc: Float64Array,
  jcOff: number,
  jp: Float64Array | null,
  jpOff: number,
): number {
  const { focalPx: f, cxPx: cx, cyPx: cy, k1 } = intr;
  const R = pose.rotation;
  const t = pose.translation;
  const X = points[pointOff];
  const Y = points[pointOff + 1];
  const Z = points[pointOff + 2];
  const qx = R[0] * X + R[1] * Y + R[2] * Z;
  const qy = R[3] * X + R[4] * Y + R[5] * Z;
  const qz = R[6] * X + R[7] * Y + R[8] * Z;
  const depth = qz + t[2];
  const pz = Math.max(depth, 1e-9);
  const xn = (qx + t[0]) / pz;
  const yn = (qy + t[1]) / pz;
  const d = 1 + k1 * (xn * xn + yn * yn);
  res[resOff] = f * d * xn + cx - u;
  res[resOff + 1] = f * d * yn + cy - v;
  // d(u,v)/d(xn,yn), chained to d(u,v)/dp for the camera-frame point p.
  const uxn = f * (d + 2 * k1 * xn * xn);
  const uyn = f * 2 * k1 * xn * yn;
  const vyn = f * (d + 2 * k1 * yn * yn);
  const a00 = uxn / pz;
  const a01 = uyn / pz;
  const a02 = -(uxn * xn + uyn * yn) / pz;
  const a10 = uyn / pz;
  const a11 = vyn / pz;
  const a12 = -(uyn * xn + vyn * yn) / pz;
  // dp/dω = −[q]ₓ.
  jc[jcOff] = a01 * -qz + a02 * qy;
  jc[jcOff + 1] = a00 * qz + a02 * -qx;
  jc[jcOff + 2] = a00 * -qy + a01 * qx;
  jc[jcOff + 3] = a00;
  jc[jcOff + 4] = a01;
  jc[jcOff + 5] = a02;
  jc[jcOff + 6] = a11 * -qz + a12 * qy;
  jc[jcOff + 7] = a10 * qz + a12 * -qx;
  jc[jcOff + 8] = a10 * -qy + a11 * qx;
  jc[jcOff + 9] = a10;
  jc[jcOff + 10] = a11;
  jc[jcOff + 11] = a12;
  if (jp) {
    for (let b = 0; b < 3; b++) {
      jp[jpOff + b] = a00 * R[b] + a01 * R[3 + b] + a02 * R[6 + b];
      jp[jpOff + 3 + b] = a10 * R[b] + a11 * R[3 + b] + a12 * R[6 + b];
    }
  }
  return depth;
}

/** Huber weight of a residual vector's norm (IRLS): 1 inside the threshold, threshold/norm outside. */
export function huberWeight(ex: number, ey: number, thresholdPx: number): number {
  const norm = Math.hypot(ex, ey);
  return norm <= thresholdPx ? 1 : thresholdPx / norm;
}

/** Huber cost of a squared residual norm. */
export function huberCost(sq: number, thresholdPx: number): number {
  return sq <= thresholdPx * thresholdPx ? sq : 2 * thresholdPx * Math.sqrt(sq) - thresholdPx * thresholdPx;
}
