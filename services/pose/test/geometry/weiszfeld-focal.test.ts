import { describe, expect, it } from 'vitest';
import { estimateFocalWeiszfeld, focalFromPointmap } from '../../src/geometry/weiszfeld-focal';

describe('Weiszfeld focal estimation', () => {
  it('recovers the focal of hand-made projections exactly', () => {
    // f = 500, pp = (320, 240): point (0.2, -0.1, 2) projects to (320 + 50, 240 - 25).
    const points = [0.2, -0.1, 2, -1, 0.5, 4, 0.3, 0.3, 1];
    const pixels = [370, 215, 195, 302.5, 470, 390];
    expect(estimateFocalWeiszfeld(points, pixels, { principalPoint: [320, 240] })).toBeCloseTo(500, 9);
  });

  it('is robust to gross outliers where least squares is not (the point of the L1 cost)', () => {
    const n = 200;
    const points = new Float64Array(3 * n);
    const pixels = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const x = Math.sin(i) * 0.5;
      const y = Math.cos(i * 1.3) * 0.4;
      const z = 1 + (i % 7) * 0.3;
      points.set([x * z, y * z, z], 3 * i);
      pixels.set([300 * x, 300 * y], 2 * i);
      if (i % 5 === 0) pixels.set([900 * x + 40, 900 * y], 2 * i);
    }
    const robust = estimateFocalWeiszfeld(points, pixels, { iterations: 30 });
    const leastSquares = estimateFocalWeiszfeld(points, pixels, { iterations: 0 });
    expect(Math.abs(robust - 300)).toBeLessThan(3);
    expect(Math.abs(leastSquares - 300)).toBeGreaterThan(30);
  });

  it('reads a dense pointmap with the principal point at the centre, weighting by confidence', () => {
    const w = 8;
    const h = 6;
    const f = 7.5;
    const map = new Float64Array(w * h * 3);
    const conf = new Float64Array(w * h).fill(1);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const z = 2 + 0.1 * x;
        map.set([((x - w / 2) * z) / f, ((y - h / 2) * z) / f, z], 3 * (y * w + x));
      }
    }
    map.set([5, 5, 1], 0);
    conf[0] = 0;
    expect(focalFromPointmap(map, w, h, conf)).toBeCloseTo(f, 9);
    expect(Number.isNaN(estimateFocalWeiszfeld([0, 0, -1], [1, 1]))).toBe(true);
  });
});
