import type { CameraIntrinsics } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';

/**
 * Camera conventions of the compositor.
 *
 * - Pixels: continuous image coordinates with (0, 0) at the top-left corner of the top-left pixel, so that
 *   pixel (i, j) has its centre at (i + 0.5, j + 0.5) (COLMAP's and NeRF's convention). A point in front of
 *   the camera projects to u = fx * x / z + cx, v = fy * y / z + cy.
 * - Camera axes: OpenCV (x right, y down, z forward). `cameraToWorldOpenCv` maps camera to world.
 * - Matrices: `Mat4` is row-major Float64Array(16) (element [r * 4 + c]); three.js matrices are built from it
 *   with `Matrix4.set`, which also takes row-major arguments.
 */

/** Row-major 4x4 matrix, Float64Array(16). */
export type Mat4 = Float64Array;

/** Pinhole intrinsics in pixels of the (upright, decoded) frame: the contract's vanelia.v1.CameraIntrinsics. */
export type PinholeIntrinsics = CameraIntrinsics;

/** One frame's camera: intrinsics and camera-to-world pose with OpenCV camera axes. */
export interface CameraPose {
  frameIndex: number;
  intrinsics: PinholeIntrinsics;
  cameraToWorldOpenCv: Mat4;
}

/** diag(1, -1, -1, 1): flips between OpenCV (y down, z forward) and OpenGL (y up, z backward) camera axes. */
const CV_TO_GL = new THREE.Matrix4().makeScale(1, -1, -1);

/** A Mat4 from 16 numbers (row-major), checked to be finite with a rigid-or-similarity last row. */
export function mat4FromRowMajor(values: ArrayLike<number>, what: string): Mat4 {
  if (values.length !== 16) throw new VaneliaError('compositor', 'INVALID_CAMERA', `${what} has ${values.length} values, 16 expected.`);
  const m = Float64Array.from(values);
  if (!m.every(Number.isFinite)) throw new VaneliaError('compositor', 'INVALID_CAMERA', `${what} has non-finite values.`);
  if (Math.abs(m[12]) + Math.abs(m[13]) + Math.abs(m[14]) > 1e-9 || Math.abs(m[15] - 1) > 1e-9) {
    throw new VaneliaError('compositor', 'INVALID_CAMERA', `${what} has a last row other than [0 0 0 1].`);
  }
  return m;
}

/** Checks intrinsics are usable (positive focal lengths and size). */
export function assertIntrinsics(k: PinholeIntrinsics, what: string): void {
  const ok = [k.fxPx, k.fyPx, k.cxPx, k.cyPx].every(Number.isFinite) && k.fxPx > 0 && k.fyPx > 0 && k.widthPx >= 1 && k.heightPx >= 1;
  if (!ok) throw new VaneliaError('compositor', 'INVALID_CAMERA', `${what} has unusable intrinsics (fx ${k.fxPx}, fy ${k.fyPx}, ${k.widthPx}x${k.heightPx}).`);
}

/** Converts a camera-to-world pose with OpenGL camera axes (NeRF transforms.json) to OpenCV axes. */
export function openGlToOpenCv(cameraToWorldOpenGl: Mat4): Mat4 {
  const out = Float64Array.from(cameraToWorldOpenGl);
  for (let r = 0; r < 3; r++) {
    out[r * 4 + 1] = -out[r * 4 + 1];
    out[r * 4 + 2] = -out[r * 4 + 2];
  }
  return out;
}

/** three.js Matrix4 from a row-major Mat4. */
export function toMatrix4(m: Mat4): THREE.Matrix4 {
  return new THREE.Matrix4().set(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15]);
}

/**
 * The projection matrix (three.js, camera looking down -z with y up) that puts a point exactly where the
 * pinhole model does, for depth range [near, far]. WebGPU clip depth is [0, 1]; WebGL's is [-1, 1].
 */
export function projectionFromIntrinsics(k: PinholeIntrinsics, nearM: number, farM: number, coordinateSystem: THREE.CoordinateSystem): THREE.Matrix4 {
  const { fxPx: fx, fyPx: fy, cxPx: cx, cyPx: cy, widthPx: w, heightPx: h } = k;
  // NDC x = 2u/W - 1 and NDC y = 1 - 2v/H, with u, v from the pinhole model applied to (x, -y, -z).
  const a = (w - 2 * cx) / w;
  const b = (2 * cy - h) / h;
  const webgpu = coordinateSystem === THREE.WebGPUCoordinateSystem;
  const c = webgpu ? -farM / (farM - nearM) : -(farM + nearM) / (farM - nearM);
  const d = webgpu ? (-farM * nearM) / (farM - nearM) : (-2 * farM * nearM) / (farM - nearM);
  return new THREE.Matrix4().set(2 * fx / w, 0, a, 0, 0, 2 * fy / h, b, 0, 0, 0, c, d, 0, 0, -1, 0);
}

/** Points a three.js camera along a CameraPose, with the exact pinhole projection. */
export function applyCameraPose(camera: THREE.PerspectiveCamera, pose: CameraPose, nearM: number, farM: number, coordinateSystem: THREE.CoordinateSystem): void {
  const k = pose.intrinsics;
  camera.near = nearM;
  camera.far = farM;
  camera.aspect = k.widthPx / k.heightPx;
  camera.fov = THREE.MathUtils.radToDeg(2 * Math.atan(k.heightPx / (2 * k.fyPx)));
  camera.coordinateSystem = coordinateSystem;
  camera.projectionMatrix.copy(projectionFromIntrinsics(k, nearM, farM, coordinateSystem));
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
  camera.matrixAutoUpdate = false;
  camera.matrix.copy(toMatrix4(pose.cameraToWorldOpenCv)).multiply(CV_TO_GL);
  camera.matrix.decompose(camera.position, camera.quaternion, camera.scale);
  camera.updateMatrixWorld(true);
}

/** World point -> camera coordinates (OpenCV axes). */
export function worldToCamera(pose: CameraPose, point: THREE.Vector3): THREE.Vector3 {
  const m = pose.cameraToWorldOpenCv;
  const d = [point.x - m[3], point.y - m[7], point.z - m[11]];
  // Inverse of the rotation part (R^T d); valid for rigid poses.
  return new THREE.Vector3(
    m[0] * d[0] + m[4] * d[1] + m[8] * d[2],
    m[1] * d[0] + m[5] * d[1] + m[9] * d[2],
    m[2] * d[0] + m[6] * d[1] + m[10] * d[2],
  );
}

/** Analytic pinhole projection of a world point: pixel coordinates and depth along +z (world units). */
export function projectPoint(pose: CameraPose, point: THREE.Vector3): { uPx: number; vPx: number; depth: number } {
  const c = worldToCamera(pose, point);
  const k = pose.intrinsics;
  return { uPx: (k.fxPx * c.x) / c.z + k.cxPx, vPx: (k.fyPx * c.y) / c.z + k.cyPx, depth: c.z };
}

/** Camera centre in world coordinates. */
export function cameraCentre(pose: CameraPose): THREE.Vector3 {
  const m = pose.cameraToWorldOpenCv;
  return new THREE.Vector3(m[3], m[7], m[11]);
}

/** A camera at `eye` looking at `target` with world `up` appearing upward in the image (OpenCV axes). */
export function lookAtPose(frameIndex: number, intrinsics: PinholeIntrinsics, eye: THREE.Vector3, target: THREE.Vector3, up = new THREE.Vector3(0, 1, 0)): CameraPose {
  const z = target.clone().sub(eye).normalize();
  const x = new THREE.Vector3().crossVectors(z, up).normalize();
  const y = new THREE.Vector3().crossVectors(z, x);
  const m = Float64Array.from([x.x, y.x, z.x, eye.x, x.y, y.y, z.y, eye.y, x.z, y.z, z.z, eye.z, 0, 0, 0, 1]);
  return { frameIndex, intrinsics, cameraToWorldOpenCv: m };
}
