import type { Mat3 } from './mat3';
import { vec3, type Vec3, type Vec3Like } from './vec3';

/**
 * 4x4 matrix, row-major `Float64Array(16)`: element (r, c) at `r * 4 + c`. Rigid transforms are
 * [R t; 0 1], so the translation sits at indices 3, 7, 11.
 */
export type Mat4 = Float64Array;

export function mat4Identity(): Mat4 {
  const m = new Float64Array(16);
  m[0] = m[5] = m[10] = m[15] = 1;
  return m;
}

/** [R t; 0 0 0 1] from a rotation (or any 3x3) and a translation. */
export function mat4FromRotationTranslation(rotation: Mat3, translation: Vec3Like): Mat4 {
  return Float64Array.of(
    rotation[0], rotation[1], rotation[2], translation[0],
    rotation[3], rotation[4], rotation[5], translation[1],
    rotation[6], rotation[7], rotation[8], translation[2],
    0, 0, 0, 1,
  );
}

/** The upper-left 3x3 block. */
export function mat4Rotation(m: Mat4): Mat3 {
  return Float64Array.of(m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]);
}

/** The translation column (for a camera-to-world matrix: the camera centre). */
export function mat4Translation(m: Mat4): Vec3 {
  return vec3(m[3], m[7], m[11]);
}

export function mat4Multiply(a: Mat4, b: Mat4): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k] * b[k * 4 + c];
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** M·[p; 1], dropping the homogeneous coordinate (affine transforms). */
export function mat4TransformPoint(m: Mat4, p: Vec3Like): Vec3 {
  return vec3(
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  );
}

/** Inverse of a rigid transform [R t; 0 1] → [Rᵀ −Rᵀt; 0 1] (exact only for rotations). */
export function mat4InvertRigid(m: Mat4): Mat4 {
  const out = mat4Identity();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 4 + c] = m[c * 4 + r];
  }
  for (let r = 0; r < 3; r++) {
    out[r * 4 + 3] = -(out[r * 4] * m[3] + out[r * 4 + 1] * m[7] + out[r * 4 + 2] * m[11]);
  }
  return out;
}

export function mat4Transpose(m: Mat4): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[c * 4 + r] = m[r * 4 + c];
  return out;
}
