import { describe, expect, it } from 'vitest';
import { createRng, randomNormal } from '../../src/geometry/random';
import { rotationAboutAxis, rotationDistanceDeg, rotationFromVector } from '../../src/geometry/rotation';
import { mat3Multiply } from '../../src/geometry/mat3';
import { evaluateTrajectory } from '../../src/geometry/pose-error';
import { bundleAdjust, type BundleProblem } from '../../src/tracker/bundle-adjustment';
import { cameraToWorldOf, projectPoint, type CameraPose } from '../../src/tracker/camera-model';

/** Cameras on an arc looking at a cloud of points around the origin, with exact projections. */
function scene(seed: number, nCams: number, nPts: number) {
  const rng = createRng(seed);
  const truthIntr = { focalPx: 600, cxPx: 320, cyPx: 240, k1: -0.05 };
  const poses: CameraPose[] = [];
  for (let c = 0; c < nCams; c++) {
    const angle = -0.4 + (0.8 * c) / (nCams - 1);
    // Camera c looks at the origin from angle `angle` on a circle of radius 5 (camera-to-world = Ry(−angle)).
    const rotation = rotationAboutAxis([0, 1, 0], angle);
    const centre = [5 * Math.sin(angle), 0.3 * Math.sin(3 * angle), -5 * Math.cos(angle)];
    const translation = Float64Array.of(
      -(rotation[0] * centre[0] + rotation[1] * centre[1] + rotation[2] * centre[2]),
      -(rotation[3] * centre[0] + rotation[4] * centre[1] + rotation[5] * centre[2]),
      -(rotation[6] * centre[0] + rotation[7] * centre[1] + rotation[8] * centre[2]),
    );
    poses.push({ rotation, translation });
  }
  const points = new Float64Array(3 * nPts);
  for (let j = 0; j < 3 * nPts; j++) points[j] = 1.5 * randomNormal(rng);
  const obsCamera: number[] = [];
  const obsPoint: number[] = [];
  const obsPixel: number[] = [];
  const uv = new Float64Array(2);
  for (let c = 0; c < nCams; c++) {
    for (let j = 0; j < nPts; j++) {
      if (!projectPoint(truthIntr, poses[c], points, 3 * j, uv)) continue;
      obsCamera.push(c);
      obsPoint.push(j);
      obsPixel.push(uv[0] + 0.3 * randomNormal(rng), uv[1] + 0.3 * randomNormal(rng));
    }
  }
  return { rng, truthIntr, poses, points, obsCamera, obsPoint, obsPixel };
}

describe('bundle adjustment', () => {
  it('recovers poses, points, focal and distortion from a perturbed start, despite outliers', () => {
    const s = scene(11, 8, 150);
    // 3% gross outliers.
    for (let i = 0; i < s.obsPixel.length; i += 67) s.obsPixel[i] += 40;
    const poses = s.poses.map((p, c) => ({
      rotation: c === 0 ? Float64Array.from(p.rotation) : mat3Multiply(rotationFromVector([0.02 * randomNormal(s.rng), 0.02 * randomNormal(s.rng), 0.02 * randomNormal(s.rng)]), p.rotation),
      translation: p.translation.map((x) => (c === 0 ? x : x + 0.1 * randomNormal(s.rng))),
    }));
    const problem: BundleProblem = {
      intrinsics: { focalPx: 520, cxPx: 320, cyPx: 240, k1: 0 },
      poses,
      points: s.points.map((x) => x + 0.1 * randomNormal(s.rng)),
      obsCamera: Int32Array.from(s.obsCamera),
      obsPoint: Int32Array.from(s.obsPoint),
      obsPixel: Float64Array.from(s.obsPixel),
      fixedCameras: Uint8Array.from(s.poses.map((_, c) => (c === 0 ? 1 : 0))),
    };
    const report = bundleAdjust(problem, { maxIterations: 50, refineDistortion: true, huberPx: 1 });
    expect(report.finalCost).toBeLessThan(report.initialCost / 20);
    expect(problem.intrinsics.focalPx).toBeGreaterThan(590);
    expect(problem.intrinsics.focalPx).toBeLessThan(610);
    expect(problem.intrinsics.k1).toBeCloseTo(-0.05, 1);
    const err = evaluateTrajectory(problem.poses.map(cameraToWorldOf), s.poses.map(cameraToWorldOf));
    expect(err.maxRotationErrorDeg).toBeLessThan(0.1);
    expect(err.rmseRelative).toBeLessThan(0.005);
    expect(rotationDistanceDeg(problem.poses[0].rotation, s.poses[0].rotation)).toBe(0);
  });

  it('keeps fixed cameras fixed and never raises the cost', () => {
    const s = scene(3, 4, 60);
    const problem: BundleProblem = {
      intrinsics: { ...s.truthIntr },
      poses: s.poses.map((p) => ({ rotation: Float64Array.from(p.rotation), translation: Float64Array.from(p.translation) })),
      points: Float64Array.from(s.points),
      obsCamera: Int32Array.from(s.obsCamera),
      obsPoint: Int32Array.from(s.obsPoint),
      obsPixel: Float64Array.from(s.obsPixel),
      fixedCameras: Uint8Array.of(1, 1, 0, 0),
    };
    const report = bundleAdjust(problem, { refineFocal: false });
    expect(report.finalCost).toBeLessThanOrEqual(report.initialCost);
    expect(Array.from(problem.poses[1].translation)).toEqual(Array.from(s.poses[1].translation));
    expect(report.rmsPx).toBeLessThan(0.6);
  });
});
