import { eigenSymmetric } from './eigen-symmetric';
import type { Mat3 } from './mat3';
import { vec3, type Vec3, type Vec3Like } from './vec3';

/** A view for triangulation: world-to-camera rotation and translation and the normalised observation. */
export interface TriangulationView {
  rotation: Mat3;
  translation: Vec3Like;
  /** Normalised image coordinates (x/z, y/z in the camera frame). */
  x: number;
  y: number;
}

/**
 * Linear (DLT) triangulation from two or more views: the homogeneous point minimising the algebraic
 * error, found as the smallest eigenvector of the 4x4 normal matrix. Returns null at infinity.
 */
export function triangulateViews(views: readonly TriangulationView[]): Vec3 | null {
  const ata = new Float64Array(16);
  const row = new Float64Array(4);
  for (const v of views) {
    const r = v.rotation;
    const t = v.translation;
    for (let pass = 0; pass < 2; pass++) {
      const c = pass === 0 ? v.x : v.y;
      const o = pass === 0 ? 0 : 3;
      row[0] = c * r[6] - r[o];
      row[1] = c * r[7] - r[o + 1];
      row[2] = c * r[8] - r[o + 2];
      row[3] = c * t[2] - t[pass];
      const norm = Math.hypot(row[0], row[1], row[2], row[3]) || 1;
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) ata[i * 4 + j] += (row[i] * row[j]) / (norm * norm);
    }
  }
  const { vectors } = eigenSymmetric(ata, 4);
  const w = vectors[12];
  if (Math.abs(w) < 1e-12) return null;
  return vec3(vectors[0] / w, vectors[4] / w, vectors[8] / w);
}

/** Two-view shorthand of triangulateViews. */
export function triangulateTwoView(
  r1: Mat3,
  t1: Vec3Like,
  r2: Mat3,
  t2: Vec3Like,
  n1: readonly [number, number],
  n2: readonly [number, number],
): Vec3 | null {
  return triangulateViews([
    { rotation: r1, translation: t1, x: n1[0], y: n1[1] },
    { rotation: r2, translation: t2, x: n2[0], y: n2[1] },
  ]);
}

/** Angle (radians) at point X between the rays to two camera centres. */
export function triangulationAngle(point: Vec3Like, centre1: Vec3Like, centre2: Vec3Like): number {
  const ax = centre1[0] - point[0];
  const ay = centre1[1] - point[1];
  const az = centre1[2] - point[2];
  const bx = centre2[0] - point[0];
  const by = centre2[1] - point[1];
  const bz = centre2[2] - point[2];
  const cross = Math.hypot(ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx);
  return Math.atan2(cross, ax * bx + ay * by + az * bz);
}
