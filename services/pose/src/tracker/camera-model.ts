import type { Mat3 } from '../geometry/mat3';
import { mat4FromRotationTranslation, mat4InvertRigid, type Mat4 } from '../geometry/mat4';

/**
 * Pinhole camera with one radial distortion term (COLMAP's SIMPLE_RADIAL): a camera-frame point (x, y, z)
 * maps to normalised (x/z, y/z), distorted by d = 1 + k1 r², then to pixels u = f d xn + cx. Pixel
 * coordinates are continuous with the image's top-left corner at (0, 0) (pixel centres at i + 0.5).
 */
export interface RadialIntrinsics {
  focalPx: number;
  cxPx: number;
  cyPx: number;
  k1: number;
}

/** World-to-camera pose (OpenCV axes): x_cam = R x_world + t. */
export interface CameraPose {
  rotation: Mat3;
  translation: Float64Array;
}

export function clonePose(pose: CameraPose): CameraPose {
  return { rotation: Float64Array.from(pose.rotation), translation: Float64Array.from(pose.translation) };
}

/** Camera-to-world 4x4 (OpenCV axes) of a world-to-camera pose. */
export function cameraToWorldOf(pose: CameraPose): Mat4 {
  return mat4InvertRigid(mat4FromRotationTranslation(pose.rotation, pose.translation));
}

/** World position of the camera centre: −Rᵀ t. */
export function cameraCentre(pose: CameraPose): Float64Array {
  const r = pose.rotation;
  const t = pose.translation;
  return Float64Array.of(
    -(r[0] * t[0] + r[3] * t[1] + r[6] * t[2]),
    -(r[1] * t[0] + r[4] * t[1] + r[7] * t[2]),
    -(r[2] * t[0] + r[5] * t[1] + r[8] * t[2]),
  );
}

/** Depth (camera z) of a world point. */
export function depthOf(pose: CameraPose, p: ArrayLike<number>, offset = 0): number {
  const r = pose.rotation;
  return r[6] * p[offset] + r[7] * p[offset + 1] + r[8] * p[offset + 2] + pose.translation[2];
}

/** Projects world point `p` (at `offset` in a packed array) into `out` [u, v]; false when behind the camera. */
export function projectPoint(intr: RadialIntrinsics, pose: CameraPose, p: ArrayLike<number>, offset: number, out: Float64Array): boolean {
  const r = pose.rotation;
  const t = pose.translation;
  const x = p[offset];
  const y = p[offset + 1];
  const z = p[offset + 2];
  const cz = r[6] * x + r[7] * y + r[8] * z + t[2];
  if (!(cz > 1e-12)) return false;
  const xn = (r[0] * x + r[1] * y + r[2] * z + t[0]) / cz;
  const yn = (r[3] * x + r[4] * y + r[5] * z + t[1]) / cz;
  const d = 1 + intr.k1 * (xn * xn + yn * yn);
  out[0] = intr.focalPx * d * xn + intr.cxPx;
  out[1] = intr.focalPx * d * yn + intr.cyPx;
  return true;
}

/** Normalised, undistorted coordinates of a pixel (fixed-point inversion of the radial term). */
export function normalizePixel(intr: RadialIntrinsics, u: number, v: number, out: Float64Array): void {
  const xd = (u - intr.cxPx) / intr.focalPx;
  const yd = (v - intr.cyPx) / intr.focalPx;
  let xn = xd;
  let yn = yd;
  if (intr.k1 !== 0) {
    for (let i = 0; i < 10; i++) {
      const d = 1 + intr.k1 * (xn * xn + yn * yn);
      xn = xd / d;
      yn = yd / d;
    }
  }
  out[0] = xn;
  out[1] = yn;
}
