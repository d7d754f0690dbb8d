import { vec3, type Vec3, type Vec3Like } from './vec3';

/** 3x3 matrix, row-major `Float64Array(9)`: element (r, c) at `r * 3 + c`. */
export type Mat3 = Float64Array;

export function mat3Identity(): Mat3 {
  return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
}

/** From three rows (or nine row-major numbers). */
export function mat3(values: ArrayLike<number>): Mat3 {
  if (values.length !== 9) throw new RangeError(`mat3 needs 9 values, got ${values.length}`);
  return Float64Array.from(values);
}

export function mat3Multiply(a: Mat3, b: Mat3): Mat3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c];
    }
  }
  return out;
}

export function mat3Transpose(a: Mat3): Mat3 {
  return Float64Array.of(a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]);
}

export function mat3MulVec(a: Mat3, v: Vec3Like): Vec3 {
  return vec3(
    a[0] * v[0] + a[1] * v[1] + a[2] * v[2],
    a[3] * v[0] + a[4] * v[1] + a[5] * v[2],
    a[6] * v[0] + a[7] * v[1] + a[8] * v[2],
  );
}

/** Aᵀ v without forming the transpose. */
export function mat3TransposeMulVec(a: Mat3, v: Vec3Like): Vec3 {
  return vec3(
    a[0] * v[0] + a[3] * v[1] + a[6] * v[2],
    a[1] * v[0] + a[4] * v[1] + a[7] * v[2],
    a[2] * v[0] + a[5] * v[1] + a[8] * v[2],
  );
}

export function mat3Determinant(a: Mat3): number {
  return (
    a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6])
  );
}

/** Inverse by the adjugate; throws on a singular matrix. */
export function mat3Invert(a: Mat3): Mat3 {
  const det = mat3Determinant(a);
  if (Math.abs(det) < 1e-300) throw new RangeError('mat3Invert: matrix is singular');
  const d = 1 / det;
  return Float64Array.of(
    (a[4] * a[8] - a[5] * a[7]) * d,
    (a[2] * a[7] - a[1] * a[8]) * d,
    (a[1] * a[5] - a[2] * a[4]) * d,
    (a[5] * a[6] - a[3] * a[8]) * d,
    (a[0] * a[8] - a[2] * a[6]) * d,
    (a[2] * a[3] - a[0] * a[5]) * d,
    (a[3] * a[7] - a[4] * a[6]) * d,
    (a[1] * a[6] - a[0] * a[7]) * d,
    (a[0] * a[4] - a[1] * a[3]) * d,
  );
}

export function mat3Scale(a: Mat3, s: number): Mat3 {
  return a.map((x) => x * s);
}

/** The cross-product matrix [v]ₓ, so that [v]ₓ w = v × w. */
export function skew(v: Vec3Like): Mat3 {
  return Float64Array.of(0, -v[2], v[1], v[2], 0, -v[0], -v[1], v[0], 0);
}

export function mat3Column(a: Mat3, c: number): Vec3 {
  return vec3(a[c], a[3 + c], a[6 + c]);
}

/** Matrix whose columns are the given vectors. */
export function mat3FromColumns(c0: Vec3Like, c1: Vec3Like, c2: Vec3Like): Mat3 {
  return Float64Array.of(c0[0], c1[0], c2[0], c0[1], c1[1], c2[1], c0[2], c1[2], c2[2]);
}
