/** 3-vectors as `Float64Array(3)`; inputs accept any `ArrayLike<number>` of length ≥ 3. */
export type Vec3 = Float64Array;
export type Vec3Like = ArrayLike<number>;

export function vec3(x = 0, y = 0, z = 0): Vec3 {
  return Float64Array.of(x, y, z);
}

export function vec3Add(a: Vec3Like, b: Vec3Like): Vec3 {
  return vec3(a[0] + b[0], a[1] + b[1], a[2] + b[2]);
}

export function vec3Sub(a: Vec3Like, b: Vec3Like): Vec3 {
  return vec3(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

export function vec3Scale(a: Vec3Like, s: number): Vec3 {
  return vec3(a[0] * s, a[1] * s, a[2] * s);
}

export function vec3Dot(a: Vec3Like, b: Vec3Like): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function vec3Cross(a: Vec3Like, b: Vec3Like): Vec3 {
  return vec3(a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]);
}

export function vec3Norm(a: Vec3Like): number {
  return Math.hypot(a[0], a[1], a[2]);
}

export function vec3Distance(a: Vec3Like, b: Vec3Like): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Unit vector along `a`; the zero vector stays zero. */
export function vec3Normalize(a: Vec3Like): Vec3 {
  const n = vec3Norm(a);
  return n > 0 ? vec3Scale(a, 1 / n) : vec3();
}

/** The i-th point of a packed xyz array. */
export function pointAt(points: ArrayLike<number>, i: number): Vec3 {
  return vec3(points[3 * i], points[3 * i + 1], points[3 * i + 2]);
}
