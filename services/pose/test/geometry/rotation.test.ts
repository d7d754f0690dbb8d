import { describe, expect, it } from 'vitest';
import { cameraToWorldOpenCvToOpenGl, cameraToWorldOpenGlToOpenCv } from '../../src/geometry/camera-axes';
import { mat3MulVec } from '../../src/geometry/mat3';
import { mat4FromRotationTranslation, mat4InvertRigid, mat4Multiply, mat4TransformPoint } from '../../src/geometry/mat4';
import { quatFromRotation, quatMultiply, quatSlerp, rotationFromQuat } from '../../src/geometry/quaternion';
import {
  rotationAboutAxis,
  rotationAngleRad,
  rotationBetween,
  rotationDistanceDeg,
  rotationFromVector,
  vectorFromRotation,
} from '../../src/geometry/rotation';

const close = (values: ArrayLike<number>, digits = 12) => Array.from(values).map((x) => expect.closeTo(x, digits));

describe('rotations', () => {
  it('rotates x onto y by 90° about z (hand-checked)', () => {
    const r = rotationFromVector([0, 0, Math.PI / 2]);
    expect(Array.from(mat3MulVec(r, [1, 0, 0]))).toEqual(close([0, 1, 0]));
    expect(rotationAngleRad(r)).toBeCloseTo(Math.PI / 2, 12);
  });

  it('round-trips rotation vectors at small, medium and near-π angles', () => {
    for (const w of [[1e-9, -2e-9, 3e-9], [0.1, 0.2, -0.3], [0, 0, Math.PI - 1e-7], [2, -1, 1.5]]) {
      const back = vectorFromRotation(rotationFromVector(w));
      const angle = Math.hypot(w[0], w[1], w[2]);
      expect(Array.from(back)).toEqual(close(w, angle > 3 ? 5 : 10));
    }
  });

  it('measures the angle between rotations in degrees', () => {
    const a = rotationAboutAxis([1, 1, 0], 0.4);
    expect(rotationDistanceDeg(a, a)).toBeCloseTo(0, 10);
    const b = rotationAboutAxis([0, 0, 1], 0.2);
    const c = rotationAboutAxis([0, 0, 1], 0.2 + Math.PI / 6);
    expect(rotationDistanceDeg(b, c)).toBeCloseTo(30, 10);
  });

  it('finds the shortest arc between two directions, also for opposite ones', () => {
    const r = rotationBetween([0, 0, 1], [1, 0, 0]);
    expect(Array.from(mat3MulVec(r, [0, 0, 1]))).toEqual(close([1, 0, 0]));
    const flip = rotationBetween([0, 1, 0], [0, -1, 0]);
    expect(Array.from(mat3MulVec(flip, [0, 1, 0]))).toEqual(close([0, -1, 0]));
  });
});

describe('quaternions', () => {
  it('matches the hand-checked quaternion of 90° about z: (cos 45°, 0, 0, sin 45°)', () => {
    const q = quatFromRotation(rotationAboutAxis([0, 0, 1], Math.PI / 2));
    expect(Array.from(q)).toEqual(close([Math.SQRT1_2, 0, 0, Math.SQRT1_2]));
  });

  it('round-trips matrices of every branch and composes like matrices', () => {
    for (const [axis, angle] of [[[1, 0, 0], 3.1], [[0, 1, 0], 3.0], [[0, 0, 1], 2.9], [[1, 2, 3], 0.5]] as const) {
      const r = rotationAboutAxis(axis, angle);
      expect(Array.from(rotationFromQuat(quatFromRotation(r)))).toEqual(close(r, 10));
    }
    const a = rotationAboutAxis([1, 0, 0], 0.3);
    const b = rotationAboutAxis([0, 1, 0], 0.5);
    const ab = rotationFromQuat(quatMultiply(quatFromRotation(a), quatFromRotation(b)));
    const v = mat3MulVec(a, mat3MulVec(b, [0.2, 0.4, 1]));
    expect(Array.from(mat3MulVec(ab, [0.2, 0.4, 1]))).toEqual(close(v));
    const half = quatSlerp(quatFromRotation(rotationAboutAxis([0, 0, 1], 0)), quatFromRotation(rotationAboutAxis([0, 0, 1], 1)), 0.5);
    expect(rotationAngleRad(rotationFromQuat(half))).toBeCloseTo(0.5, 12);
  });
});

describe('camera axes and rigid transforms', () => {
  it('converts OpenCV camera-to-world to OpenGL: a camera looking along +z (OpenCV) looks along -z_cam (OpenGL)', () => {
    const c2wCv = mat4FromRotationTranslation(rotationAboutAxis([0, 1, 0], 0.3), [1, 2, 3]);
    const c2wGl = cameraToWorldOpenCvToOpenGl(c2wCv);
    const forwardCv = mat4TransformPoint(c2wCv, [0, 0, 1]);
    const forwardGl = mat4TransformPoint(c2wGl, [0, 0, -1]);
    expect(Array.from(forwardGl)).toEqual(close(forwardCv));
    const downCv = mat4TransformPoint(c2wCv, [0, 1, 0]);
    expect(Array.from(mat4TransformPoint(c2wGl, [0, -1, 0]))).toEqual(close(downCv));
    expect(Array.from(cameraToWorldOpenGlToOpenCv(c2wGl))).toEqual(close(c2wCv));
  });

  it('inverts rigid transforms', () => {
    const m = mat4FromRotationTranslation(rotationAboutAxis([1, -1, 2], 1.2), [4, -5, 6]);
    expect(Array.from(mat4Multiply(m, mat4InvertRigid(m)))).toEqual(close([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]));
  });
});
