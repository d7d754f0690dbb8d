import { mat3Multiply, mat3Transpose, type Mat3 } from './mat3';
import { mat4Rotation, mat4Translation, type Mat4 } from './mat4';
import { rotationDistanceDeg } from './rotation';
import { nearestRotation } from './svd';
import { alignTrajectorySim3, cameraCentres, sim3ApplyToCameraToWorld, type Sim3 } from './sim3';

export interface TrajectoryError {
  /** Similarity applied to the estimate before measuring (estimated world → reference world). */
  alignment: Sim3;
  /**
   * Per-frame angle (degrees) between estimated and reference camera orientations, with the estimate
   * rotated by the one global rotation that best matches all orientations (chordal mean). Independent
   * of the trajectory's shape, unlike the centre-based alignment, which leaves the rotation about a
   * straight trajectory undetermined.
   */
  rotationErrorsDeg: Float64Array;
  medianRotationErrorDeg: number;
  maxRotationErrorDeg: number;
  /** Per-frame orientation errors (degrees) under the centre-based Sim(3) alignment instead. */
  rotationErrorsSim3Deg: Float64Array;
  /** Per-frame distance between aligned and reference camera centres (reference units). */
  positionErrors: Float64Array;
  /** Root-mean-square of `positionErrors` (absolute trajectory error). */
  rmse: number;
  /** Largest distance between two reference camera centres. */
  extent: number;
  /** rmse / extent. */
  rmseRelative: number;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Largest pairwise distance between packed xyz points. */
export function pointSetDiameter(points: Float64Array): number {
  let best = 0;
  const n = points.length / 3;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      best = Math.max(best, Math.hypot(points[3 * i] - points[3 * j], points[3 * i + 1] - points[3 * j + 1], points[3 * i + 2] - points[3 * j + 2]));
    }
  }
  return best;
}

/** The rotation A minimising Σ |A Eᵢ − Rᵢ|² over pairs of orientations (estimated Eᵢ, reference Rᵢ). */
export function alignOrientations(estimated: readonly Mat3[], reference: readonly Mat3[]): Mat3 {
  const sum = new Float64Array(9);
  estimated.forEach((e, i) => {
    const m = mat3Multiply(reference[i], mat3Transpose(e));
    for (let k = 0; k < 9; k++) sum[k] += m[k];
  });
  return nearestRotation(sum);
}

/**
 * Pose-error metrics of an estimated trajectory against a reference (camera-to-world poses in the same
 * camera axis convention, same order): Sim(3) alignment of camera centres (Umeyama) and the RMSE of
 * centre positions, also relative to the reference trajectory's diameter; orientation errors after the
 * best global rotation (and, for comparison, after the Sim(3)).
 */
export function evaluateTrajectory(estimated: readonly Mat4[], reference: readonly Mat4[]): TrajectoryError {
  if (estimated.length !== reference.length || estimated.length < 3) {
    throw new RangeError(`evaluateTrajectory: need ≥ 3 pose pairs, got ${estimated.length} vs ${reference.length}`);
  }
  const alignment = alignTrajectorySim3(estimated, reference);
  const n = estimated.length;
  const rotationErrorsDeg = new Float64Array(n);
  const rotationErrorsSim3Deg = new Float64Array(n);
  const orientation = alignOrientations(estimated.map(mat4Rotation), reference.map(mat4Rotation));
  const positionErrors = new Float64Array(n);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const aligned = sim3ApplyToCameraToWorld(alignment, estimated[i]);
    rotationErrorsSim3Deg[i] = rotationDistanceDeg(mat4Rotation(aligned), mat4Rotation(reference[i]));
    rotationErrorsDeg[i] = rotationDistanceDeg(mat3Multiply(orientation, mat4Rotation(estimated[i])), mat4Rotation(reference[i]));
    const a = mat4Translation(aligned);
    const b = mat4Translation(reference[i]);
    positionErrors[i] = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    sq += positionErrors[i] ** 2;
  }
  const rmse = Math.sqrt(sq / n);
  const extent = pointSetDiameter(cameraCentres(reference));
  return {
    alignment: { scale: alignment.scale, rotation: alignment.rotation, translation: alignment.translation },
    rotationErrorsDeg,
    medianRotationErrorDeg: median(rotationErrorsDeg),
    maxRotationErrorDeg: Math.max(...rotationErrorsDeg),
    rotationErrorsSim3Deg,
    positionErrors,
    rmse,
    extent,
    rmseRelative: extent > 0 ? rmse / extent : Number.NaN,
  };
}
