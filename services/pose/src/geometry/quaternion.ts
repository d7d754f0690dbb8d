import type { Mat3 } from './mat3';

/** Unit quaternion in COLMAP's order (w, x, y, z) as `Float64Array(4)`; w ≥ 0 after `quatFromRotation`. */
export type Quat = Float64Array;

export function quatNormalize(q: ArrayLike<number>): Quat {
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  if (n === 0) throw new RangeError('quatNormalize: quaternion is zero');
  return Float64Array.of(q[0] / n, q[1] / n, q[2] / n, q[3] / n);
}

/** Rotation matrix of a quaternion (normalised first). */
export function rotationFromQuat(quat: ArrayLike<number>): Mat3 {
  const [w, x, y, z] = quatNormalize(quat);
  return Float64Array.of(
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  );
}

/** Quaternion of a rotation matrix (Shepperd's method: stable for every angle), with w ≥ 0. */
export function quatFromRotation(r: Mat3): Quat {
  const trace = r[0] + r[4] + r[8];
  let q: number[];
  if (trace > 0) {
    const s = 2 * Math.sqrt(trace + 1);
    q = [s / 4, (r[7] - r[5]) / s, (r[2] - r[6]) / s, (r[3] - r[1]) / s];
  } else if (r[0] > r[4] && r[0] > r[8]) {
    const s = 2 * Math.sqrt(1 + r[0] - r[4] - r[8]);
    q = [(r[7] - r[5]) / s, s / 4, (r[1] + r[3]) / s, (r[2] + r[6]) / s];
  } else if (r[4] > r[8]) {
    const s = 2 * Math.sqrt(1 + r[4] - r[0] - r[8]);
    q = [(r[2] - r[6]) / s, (r[1] + r[3]) / s, s / 4, (r[5] + r[7]) / s];
  } else {
    const s = 2 * Math.sqrt(1 + r[8] - r[0] - r[4]);
    q = [(r[3] - r[1]) / s, (r[2] + r[6]) / s, (r[5] + r[7]) / s, s / 4];
  }
  if (q[0] < 0) q = q.map((x) => -x);
  return quatNormalize(q);
}

/** Hamilton product a ⊗ b (rotation b first, then a). */
export function quatMultiply(a: ArrayLike<number>, b: ArrayLike<number>): Quat {
  return Float64Array.of(
    a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
    a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
    a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
    a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
  );
}

/** Spherical interpolation from a (t = 0) to b (t = 1) along the shorter arc. */
export function quatSlerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Quat {
  let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  const sign = dot < 0 ? -1 : 1;
  dot *= sign;
  if (dot > 0.9995) {
    return quatNormalize([0, 1, 2, 3].map((i) => a[i] + t * (sign * b[i] - a[i])));
  }
  const theta = Math.acos(dot);
  const wa = Math.sin((1 - t) * theta) / Math.sin(theta);
  const wb = (sign * Math.sin(t * theta)) / Math.sin(theta);
  return quatNormalize([0, 1, 2, 3].map((i) => wa * a[i] + wb * b[i]));
}
