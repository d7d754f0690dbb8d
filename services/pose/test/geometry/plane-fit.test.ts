import { describe, expect, it } from 'vitest';
import { fitPlaneLeastSquares, planeDistance, planeThroughPoints } from '../../src/geometry/plane-fit';
import { fitPlaneRansac } from '../../src/geometry/plane-ransac';
import { createRng } from '../../src/geometry/random';

describe('plane fitting', () => {
  it('fits z = 1 exactly through four hand-placed points', () => {
    const fit = fitPlaneLeastSquares([0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1]);
    expect(Math.abs(fit.normal[2])).toBeCloseTo(1, 12);
    expect(fit.offset * Math.sign(fit.normal[2])).toBeCloseTo(-1, 12);
    expect(Array.from(fit.centroid)).toEqual([0.5, 0.5, 1].map((x) => expect.closeTo(x, 12)));
    expect(fit.rms).toBeLessThan(1e-9);
  });

  it('gives the plane through three points and rejects collinear ones', () => {
    const p = planeThroughPoints([1, 0, 0, 0, 1, 0, 0, 0, 1], 0, 1, 2)!;
    // x + y + z = 1 → normal (1,1,1)/√3, offset -1/√3.
    expect(Array.from(p.normal)).toEqual([1, 1, 1].map(() => expect.closeTo(1 / Math.sqrt(3), 12)));
    expect(p.offset).toBeCloseTo(-1 / Math.sqrt(3), 12);
    expect(planeThroughPoints([0, 0, 0, 1, 1, 1, 2, 2, 2], 0, 1, 2)).toBeNull();
  });

  it('finds a tilted floor under 40% clutter with RANSAC and refines it', () => {
    const rng = createRng(3);
    const pts: number[] = [];
    // Floor: y = 0.2 x - 1 with ±0.005 noise; clutter above it.
    for (let i = 0; i < 300; i++) {
      const x = rng() * 4 - 2;
      const z = rng() * 4 + 1;
      pts.push(x, 0.2 * x - 1 + (rng() - 0.5) * 0.01, z);
    }
    for (let i = 0; i < 200; i++) pts.push(rng() * 4 - 2, rng() * 2 - 0.5, rng() * 4 + 1);
    const fit = fitPlaneRansac(pts, { inlierThreshold: 0.02, seed: 5 })!;
    const expectedNormal = [-0.2, 1, 0].map((x) => x / Math.hypot(0.2, 1));
    const sign = Math.sign(fit.normal[1]);
    fit.normal.forEach((x, i) => expect(sign * x).toBeCloseTo(expectedNormal[i], 2));
    expect(Math.abs(planeDistance(fit, [0, -1, 3], 0))).toBeLessThan(0.005);
    expect(fit.inliers.length).toBeGreaterThanOrEqual(300);
    expect(fit.inliers.length).toBeLessThan(320);
    // Plain least squares over everything is pulled off by the clutter.
    const naive = fitPlaneLeastSquares(pts);
    expect(Math.abs(planeDistance(naive, [0, -1, 3], 0))).toBeGreaterThan(0.05);
  });

  it('chooses a threshold automatically and returns null below three points', () => {
    const pts: number[] = [];
    for (let i = 0; i < 100; i++) pts.push(i % 10, Math.floor(i / 10), 0.001 * Math.sin(i));
    const fit = fitPlaneRansac(pts)!;
    expect(fit.inlierThreshold).toBeGreaterThan(0);
    expect(fit.inliers.length).toBe(100);
    expect(fitPlaneRansac([0, 0, 0, 1, 1, 1])).toBeNull();
  });
});
