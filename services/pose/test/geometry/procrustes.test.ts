import { describe, expect, it } from 'vitest';
import { procrustes } from '../../src/geometry/procrustes';
import { rotationAboutAxis, rotationDistanceDeg } from '../../src/geometry/rotation';
import { createRng, randomNormal } from '../../src/geometry/random';

describe('procrustes (Umeyama)', () => {
  it('recovers a hand-checked similarity: 90° about z, scale 2, shift (1, 0, 0)', () => {
    // x ↦ 2 Rz(90°) x + (1,0,0): (1,0,0) → (1,2,0); (0,1,0) → (-1,0,0); (0,0,1) → (1,0,2); 0 → (1,0,0).
    const src = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
    const dst = [1, 2, 0, -1, 0, 0, 1, 0, 2, 1, 0, 0];
    const fit = procrustes(src, dst);
    expect(fit.scale).toBeCloseTo(2, 12);
    expect(Array.from(fit.rotation)).toEqual([0, -1, 0, 1, 0, 0, 0, 0, 1].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(fit.translation)).toEqual([1, 0, 0].map((x) => expect.closeTo(x, 12)));
    expect(fit.rmse).toBeLessThan(1e-12);
  });

  it('never returns a reflection (Umeyama sign correction) and fixes the scale at 1 when asked', () => {
    // A mirrored (planar-reflected) copy: the best proper rotation is not the reflection.
    const src = [1, 0, 0, 0, 1, 0, -1, 0, 0, 0, -1, 0, 0, 0, 1];
    const dst = src.map((x, i) => (i % 3 === 2 ? -x : x));
    const fit = procrustes(src, dst, { withScale: false });
    const r = fit.rotation;
    const det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6]);
    expect(det).toBeCloseTo(1, 12);
    expect(fit.scale).toBe(1);
  });

  it('lets confidence weights silence outliers', () => {
    const rng = createRng(7);
    const truth = rotationAboutAxis([0.2, 1, -0.4], 0.8);
    const n = 50;
    const src = new Float64Array(3 * n);
    const dst = new Float64Array(3 * n);
    const weights = new Float64Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      const p = [randomNormal(rng), randomNormal(rng), randomNormal(rng)];
      src.set(p, 3 * i);
      for (let k = 0; k < 3; k++) {
        dst[3 * i + k] = 0.5 * (truth[3 * k] * p[0] + truth[3 * k + 1] * p[1] + truth[3 * k + 2] * p[2]) + [3, -1, 2][k];
      }
      if (i % 10 === 0) {
        dst[3 * i] += 20;
        weights[i] = 0;
      }
    }
    const unweighted = procrustes(src, dst);
    const weighted = procrustes(src, dst, { weights });
    expect(rotationDistanceDeg(weighted.rotation, truth)).toBeLessThan(1e-9);
    expect(weighted.scale).toBeCloseTo(0.5, 12);
    expect(rotationDistanceDeg(unweighted.rotation, truth)).toBeGreaterThan(1);
  });

  it('rejects mismatched inputs', () => {
    expect(() => procrustes([0, 0, 0], [0, 0, 0, 1, 1, 1])).toThrow(/differ/);
    expect(() => procrustes([0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0], { weights: [0, 0] })).toThrow(/zero/);
  });
});
