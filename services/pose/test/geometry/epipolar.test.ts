import { describe, expect, it } from 'vitest';
import { choleskyFactor, choleskySolve, solveSpd } from '../../src/geometry/cholesky';
import { decomposeEssential, essentialDefect, essentialFromFundamental, intrinsicsMatrix, recoverRelativePose } from '../../src/geometry/essential-matrix';
import { findFundamentalRansac, fundamentalEightPoint, sampsonDistanceSq } from '../../src/geometry/fundamental-matrix';
import { mat3Multiply, skew } from '../../src/geometry/mat3';
import { createRng } from '../../src/geometry/random';
import { rotationAboutAxis, rotationDistanceDeg } from '../../src/geometry/rotation';
import { triangulateTwoView, triangulateViews, triangulationAngle } from '../../src/geometry/triangulation';

/** Two cameras (the first at the origin) viewing random points; pixel projections with focal 500. */
function twoViews(n: number, seed: number) {
  const rng = createRng(seed);
  const r = rotationAboutAxis([0.1, 1, 0.05], 0.15);
  const t = [-0.8, 0.05, 0.1];
  const k = intrinsicsMatrix(500, 320, 240);
  const x1 = new Float64Array(2 * n);
  const x2 = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const p = [rng() * 4 - 2, rng() * 3 - 1.5, 4 + rng() * 4];
    const q = [0, 1, 2].map((j) => r[3 * j] * p[0] + r[3 * j + 1] * p[1] + r[3 * j + 2] * p[2] + t[j]);
    x1.set([500 * (p[0] / p[2]) + 320, 500 * (p[1] / p[2]) + 240], 2 * i);
    x2.set([500 * (q[0] / q[2]) + 320, 500 * (q[1] / q[2]) + 240], 2 * i);
  }
  return { r, t, k, x1, x2, rng };
}

describe('epipolar geometry', () => {
  it('fits the fundamental matrix of exact correspondences (x2ᵀ F x1 = 0) and its essential matrix', () => {
    const { r, t, k, x1, x2 } = twoViews(30, 1);
    const f = fundamentalEightPoint(x1, x2, Array.from({ length: 30 }, (_, i) => i))!;
    for (let i = 0; i < 30; i++) expect(Math.sqrt(sampsonDistanceSq(f, x1, x2, i))).toBeLessThan(1e-6);
    // E = [t]x R up to scale: compare normalised entries.
    const e = essentialFromFundamental(f, k, k);
    const truth = mat3Multiply(skew(t), r);
    const ne = Math.hypot(...e);
    const nt = Math.hypot(...truth);
    const sign = Math.sign(e[1] * truth[1] || 1);
    e.forEach((v, i) => expect((sign * v) / ne).toBeCloseTo(truth[i] / nt, 6));
    expect(essentialDefect(e)).toBeLessThan(1e-6);
  });

  it('recovers the relative pose among the four decompositions by cheirality', () => {
    const { r, t, k, x1, x2 } = twoViews(40, 2);
    const f = fundamentalEightPoint(x1, x2, Array.from({ length: 40 }, (_, i) => i))!;
    const e = essentialFromFundamental(f, k, k);
    expect(decomposeEssential(e)).toHaveLength(4);
    const norm = (x: Float64Array) => x.map((v, i) => (i % 2 === 0 ? (v - 320) / 500 : (v - 240) / 500));
    const { pose, inFront } = recoverRelativePose(e, norm(x1), norm(x2), Array.from({ length: 40 }, (_, i) => i));
    expect(inFront).toBe(40);
    expect(rotationDistanceDeg(pose.rotation, r)).toBeLessThan(1e-6);
    const tn = Math.hypot(...t);
    pose.translation.forEach((v, i) => expect(v).toBeCloseTo(t[i] / tn, 6));
  });

  it('separates inliers from 30% outliers with RANSAC', () => {
    const { x1, x2, rng } = twoViews(200, 3);
    const outlier = new Set<number>();
    for (let i = 0; i < 200; i += 3) {
      x2[2 * i] += 20 + 40 * rng();
      x2[2 * i + 1] -= 15 + 30 * rng();
      outlier.add(i);
    }
    const fit = findFundamentalRansac(x1, x2, { thresholdPx: 0.5, seed: 4 })!;
    for (let i = 0; i < 200; i++) expect(fit.inlierMask[i]).toBe(outlier.has(i) ? 0 : 1);
  });
});

describe('triangulation', () => {
  it('triangulates a hand-checked point seen by two and three cameras', () => {
    // Point (1, 2, 10); camera 2 shifted by 1 along x: x2 = x1 − (1, 0, 0).
    const identity = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    const p = triangulateTwoView(identity, [0, 0, 0], identity, [-1, 0, 0], [0.1, 0.2], [0, 0.2])!;
    expect(Array.from(p)).toEqual([1, 2, 10].map((v) => expect.closeTo(v, 9)));
    const r3 = rotationAboutAxis([0, 1, 0], 0.2);
    const q = [0, 1, 2].map((j) => r3[3 * j] * 1 + r3[3 * j + 1] * 2 + r3[3 * j + 2] * 10 + [0.5, 0, 0][j]);
    const p3 = triangulateViews([
      { rotation: identity, translation: [0, 0, 0], x: 0.1, y: 0.2 },
      { rotation: identity, translation: [-1, 0, 0], x: 0, y: 0.2 },
      { rotation: r3, translation: [0.5, 0, 0], x: q[0] / q[2], y: q[1] / q[2] },
    ])!;
    expect(Array.from(p3)).toEqual([1, 2, 10].map((v) => expect.closeTo(v, 9)));
    // Rays from (0,0,0) and (1,0,0) to (0.5, 0, 0.5) meet at 90°.
    expect(triangulationAngle([0.5, 0, 0.5], [0, 0, 0], [1, 0, 0])).toBeCloseTo(Math.PI / 2, 12);
  });
});

describe('Cholesky', () => {
  it('solves a hand-checked SPD system and rejects an indefinite one', () => {
    // [[4, 2], [2, 3]] x = [2, 1] → x = [0.5, 0].
    expect(Array.from(solveSpd([4, 2, 2, 3], 2, [2, 1])!)).toEqual([expect.closeTo(0.5, 12), expect.closeTo(0, 12)]);
    expect(solveSpd([1, 2, 2, 1], 2, [1, 1])).toBeNull();
    const a = Float64Array.of(4, 2, 2, 3);
    expect(choleskyFactor(a, 2)).toBe(true);
    expect(a[0]).toBeCloseTo(2, 12);
    expect(Array.from(choleskySolve(a, 2, Float64Array.of(6, 5)))).toEqual([expect.closeTo(1, 12), expect.closeTo(1, 12)]);
  });
});
