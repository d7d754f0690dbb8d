import { describe, expect, it } from 'vitest';
import { mat3Multiply, mat3Transpose } from '../../src/geometry/mat3';
import { mat4FromRotationTranslation, mat4Rotation, mat4Translation, type Mat4 } from '../../src/geometry/mat4';
import { alignOrientations, evaluateTrajectory, pointSetDiameter } from '../../src/geometry/pose-error';
import { rotationAboutAxis, rotationDistanceDeg } from '../../src/geometry/rotation';
import { sim3ApplyToCameraToWorld, sim3ApplyToPoint } from '../../src/geometry/sim3';

function circleTrajectory(n: number): Mat4[] {
  return Array.from({ length: n }, (_, i) => {
    const a = (i / n) * Math.PI;
    return mat4FromRotationTranslation(rotationAboutAxis([0, 1, 0], -a), [Math.sin(a) * 2, 0.1 * i, Math.cos(a) * 2]);
  });
}

describe('Sim(3) alignment and pose errors', () => {
  it('maps a point through a hand-checked similarity', () => {
    const sim = { scale: 2, rotation: rotationAboutAxis([0, 0, 1], Math.PI / 2), translation: Float64Array.of(1, 0, 0) };
    expect(Array.from(sim3ApplyToPoint(sim, [1, 0, 0]))).toEqual([1, 2, 0].map((x) => expect.closeTo(x, 12)));
  });

  it('scores a similarity-transformed copy of the reference as error-free', () => {
    const reference = circleTrajectory(12);
    const sim = { scale: 0.37, rotation: rotationAboutAxis([1, 2, -1], 2.1), translation: Float64Array.of(5, -3, 8) };
    const estimated = reference.map((m) => sim3ApplyToCameraToWorld(sim, m));
    const err = evaluateTrajectory(estimated, reference);
    expect(err.rmse).toBeLessThan(1e-9);
    expect(err.maxRotationErrorDeg).toBeLessThan(1e-6);
    expect(err.alignment.scale).toBeCloseTo(1 / 0.37, 9);
  });

  it('reports a known perturbation: one camera off by 0.3 and rotated 2°', () => {
    const reference = circleTrajectory(10);
    const estimated = reference.map((m) => Float64Array.from(m));
    const bent = estimated[4];
    bent[3] += 0.3;
    const r = rotationAboutAxis([0, 0, 1], (2 * Math.PI) / 180);
    const rot = [bent[0], bent[1], bent[2], bent[4], bent[5], bent[6], bent[8], bent[9], bent[10]];
    for (let row = 0; row < 3; row++) {
      for (let c = 0; c < 3; c++) bent[row * 4 + c] = r[row * 3] * rot[c] + r[row * 3 + 1] * rot[3 + c] + r[row * 3 + 2] * rot[6 + c];
    }
    const err = evaluateTrajectory(estimated, reference);
    // The centre-based alignment tilts slightly to absorb the offset, so the others are not exactly 0.
    expect(err.medianRotationErrorDeg).toBeLessThan(0.5);
    expect(err.maxRotationErrorDeg).toBeGreaterThan(1.5);
    // Least squares spreads the 0.3 offset over all cameras, so the RMSE is below the unaligned 0.3/√10.
    expect(err.rmse).toBeLessThan(0.3 / Math.sqrt(10) + 1e-9);
    expect(err.rmse).toBeGreaterThan(0.07);
    expect(err.extent).toBeCloseTo(pointSetDiameter(Float64Array.from(reference.flatMap((m) => [m[3], m[7], m[11]]))), 12);
    expect(err.rmseRelative).toBeCloseTo(err.rmse / err.extent, 12);
  });

  it('measures orientation errors independently of a straight trajectory (whose roll the centres cannot fix)', () => {
    // Cameras on a straight line; the estimate is the truth rolled 10° about that line plus a 1° error on
    // one camera. The centre alignment cannot see the roll; the orientation alignment removes it.
    const reference = Array.from({ length: 8 }, (_, i) => mat4FromRotationTranslation(rotationAboutAxis([0, 1, 0], 0.05 * i), [i, 0, 0]));
    const roll = rotationAboutAxis([1, 0, 0], (10 * Math.PI) / 180);
    const estimated = reference.map((m, i) => {
      const r = mat3Multiply(roll, mat4Rotation(m));
      return mat4FromRotationTranslation(i === 3 ? mat3Multiply(rotationAboutAxis([0, 0, 1], Math.PI / 180), r) : r, mat4Translation(m));
    });
    const err = evaluateTrajectory(estimated, reference);
    expect(err.rmse).toBeLessThan(1e-9);
    expect(err.medianRotationErrorDeg).toBeLessThan(0.2);
    expect(err.maxRotationErrorDeg).toBeGreaterThan(0.8);
    expect(rotationDistanceDeg(alignOrientations([roll], [Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)]), mat3Transpose(roll))).toBeLessThan(1e-9);
  });
});
