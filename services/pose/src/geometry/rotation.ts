import { mat3Multiply, mat3Transpose, type Mat3 } from './mat3';
import { vec3, type Vec3, type Vec3Like } from './vec3';

/**
 * Rotation matrix from a rotation vector (axis × angle in radians), by Rodrigues' formula.
 * Uses the Taylor series near zero so derivatives stay smooth.
 */
export function rotationFromVector(w: Vec3Like): Mat3 {
  const theta2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
  const theta = Math.sqrt(theta2);
  let a: number;
  let b: number;
  if (theta < 1e-6) {
    a = 1 - theta2 / 6;
    b = 0.5 - theta2 / 24;
  } else {
    a = Math.sin(theta) / theta;
    b = (1 - Math.cos(theta)) / theta2;
  }
  const [x, y, z] = [w[0], w[1], w[2]];
  return Float64Array.of(
    1 - b * (y * y + z * z), -a * z + b * x * y, a * y + b * x * z,
    a * z + b * x * y, 1 - b * (x * x + z * z), -a * x + b * y * z,
    -a * y + b * x * z, a * x + b * y * z, 1 - b * (x * x + y * y),
  );
}

/** Rotation vector (axis × angle, angle in [0, π]) of a rotation matrix; the inverse of rotationFromVector. */
export function vectorFromRotation(r: Mat3): Vec3 {
  const cosTheta = Math.min(1, Math.max(-1, (r[0] + r[4] + r[8] - 1) / 2));
  const theta = Math.acos(cosTheta);
  const sx = r[7] - r[5];
  const sy = r[2] - r[6];
  const sz = r[3] - r[1];
  if (theta < 1e-6) return vec3(sx / 2, sy / 2, sz / 2);
  if (Math.PI - theta > 1e-4) {
    const k = theta / (2 * Math.sin(theta));
    return vec3(sx * k, sy * k, sz * k);
  }
  // Near π: the axis from the diagonal of (R + I) / 2 = a aᵀ, sign fixed by the antisymmetric part.
  const diag = [r[0], r[4], r[8]];
  const i = diag[0] >= diag[1] && diag[0] >= diag[2] ? 0 : diag[1] >= diag[2] ? 1 : 2;
  const axis = [0, 0, 0];
  axis[i] = Math.sqrt(Math.max(0, (diag[i] + 1) / 2));
  for (let j = 0; j < 3; j++) if (j !== i) axis[j] = (r[i * 3 + j] + r[j * 3 + i]) / (4 * axis[i]);
  const sign = axis[0] * sx + axis[1] * sy + axis[2] * sz < 0 ? -1 : 1;
  return vec3(axis[0] * theta * sign, axis[1] * theta * sign, axis[2] * theta * sign);
}

/** Rotation angle of R in radians, in [0, π]. Accurate also for tiny angles. */
export function rotationAngleRad(r: Mat3): number {
  const sx = r[7] - r[5];
  const sy = r[2] - r[6];
  const sz = r[3] - r[1];
  const sinTimes2 = Math.hypot(sx, sy, sz);
  const cosTimes2 = r[0] + r[4] + r[8] - 1;
  return Math.atan2(sinTimes2, cosTimes2);
}

/** Angle in degrees of the rotation taking `a` to `b` (geodesic distance on SO(3)). */
export function rotationDistanceDeg(a: Mat3, b: Mat3): number {
  return (rotationAngleRad(mat3Multiply(mat3Transpose(a), b)) * 180) / Math.PI;
}

/** Rotation about a unit axis by an angle in radians. */
export function rotationAboutAxis(axis: Vec3Like, angleRad: number): Mat3 {
  const n = Math.hypot(axis[0], axis[1], axis[2]);
  if (n === 0) throw new RangeError('rotationAboutAxis: axis is zero');
  const k = angleRad / n;
  return rotationFromVector([axis[0] * k, axis[1] * k, axis[2] * k]);
}

/** Rotation that takes unit vector `from` onto unit vector `to` (the shortest arc). */
export function rotationBetween(from: Vec3Like, to: Vec3Like): Mat3 {
  const cx = from[1] * to[2] - from[2] * to[1];
  const cy = from[2] * to[0] - from[0] * to[2];
  const cz = from[0] * to[1] - from[1] * to[0];
  const s = Math.hypot(cx, cy, cz);
  const c = from[0] * to[0] + from[1] * to[1] + from[2] * to[2];
  if (s < 1e-12) {
    if (c > 0) return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    // Opposite: rotate π about any axis perpendicular to `from`.
    const helper = Math.abs(from[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
    const px = from[1] * helper[2] - from[2] * helper[1];
    const py = from[2] * helper[0] - from[0] * helper[2];
    const pz = from[0] * helper[1] - from[1] * helper[0];
    return rotationAboutAxis([px, py, pz], Math.PI);
  }
  return rotationAboutAxis([cx, cy, cz], Math.atan2(s, c));
}
