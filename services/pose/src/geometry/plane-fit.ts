import { eigenSymmetric } from './eigen-symmetric';
import { vec3, type Vec3 } from './vec3';

/** The plane n·x + offset = 0, |n| = 1. */
export interface Plane {
  normal: Vec3;
  offset: number;
}

export interface PlaneFit extends Plane {
  /** Weighted RMS point-to-plane distance of the fitted points. */
  rms: number;
  /** Weighted centroid of the points (lies on the plane). */
  centroid: Vec3;
}

/**
 * Total least-squares plane through packed xyz points: the normal is the eigenvector of the smallest
 * eigenvalue of the weighted covariance. `indices` restricts the fit to a subset. Needs 3 points.
 */
export function fitPlaneLeastSquares(
  points: ArrayLike<number>,
  weights?: ArrayLike<number>,
  indices?: ArrayLike<number>,
): PlaneFit {
  const count = indices ? indices.length : points.length / 3;
  if (count < 3) throw new RangeError(`fitPlaneLeastSquares: need 3 points, got ${count}`);
  const at = (k: number): number => (indices ? indices[k] : k);
  let total = 0;
  const c = [0, 0, 0];
  for (let k = 0; k < count; k++) {
    const i = at(k);
    const w = weights ? weights[i] : 1;
    total += w;
    for (let d = 0; d < 3; d++) c[d] += w * points[3 * i + d];
  }
  if (!(total > 0)) throw new RangeError('fitPlaneLeastSquares: weights sum to zero');
  for (let d = 0; d < 3; d++) c[d] /= total;
  const cov = new Float64Array(9);
  for (let k = 0; k < count; k++) {
    const i = at(k);
    const w = (weights ? weights[i] : 1) / total;
    const x = [points[3 * i] - c[0], points[3 * i + 1] - c[1], points[3 * i + 2] - c[2]];
    for (let r = 0; r < 3; r++) for (let s = r; s < 3; s++) cov[r * 3 + s] += w * x[r] * x[s];
  }
  for (let r = 0; r < 3; r++) for (let s = 0; s < r; s++) cov[r * 3 + s] = cov[s * 3 + r];
  const { values, vectors } = eigenSymmetric(cov, 3);
  const normal = vec3(vectors[0], vectors[3], vectors[6]);
  const offset = -(normal[0] * c[0] + normal[1] * c[1] + normal[2] * c[2]);
  return { normal, offset, rms: Math.sqrt(Math.max(0, values[0])), centroid: vec3(c[0], c[1], c[2]) };
}

/** Signed distance of point i of a packed array to the plane. */
export function planeDistance(plane: Plane, points: ArrayLike<number>, i: number): number {
  const n = plane.normal;
  return n[0] * points[3 * i] + n[1] * points[3 * i + 1] + n[2] * points[3 * i + 2] + plane.offset;
}

/** Plane through three points, or null when they are (nearly) collinear. */
export function planeThroughPoints(points: ArrayLike<number>, i: number, j: number, k: number): Plane | null {
  const ax = points[3 * j] - points[3 * i];
  const ay = points[3 * j + 1] - points[3 * i + 1];
  const az = points[3 * j + 2] - points[3 * i + 2];
  const bx = points[3 * k] - points[3 * i];
  const by = points[3 * k + 1] - points[3 * i + 1];
  const bz = points[3 * k + 2] - points[3 * i + 2];
  const nx = ay * bz - az * by;
  const ny = az * bx - ax * bz;
  const nz = ax * by - ay * bx;
  const len = Math.hypot(nx, ny, nz);
  if (len <= 1e-12 * Math.hypot(ax, ay, az) * Math.hypot(bx, by, bz) || len === 0) return null;
  const normal = vec3(nx / len, ny / len, nz / len);
  return { normal, offset: -(normal[0] * points[3 * i] + normal[1] * points[3 * i + 1] + normal[2] * points[3 * i + 2]) };
}
