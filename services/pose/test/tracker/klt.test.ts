import { describe, expect, it } from 'vitest';
import { detectCorners, minEigenScore } from '../../src/tracker/corners';
import { createGrayImage, grayFromRgb, type GrayImage } from '../../src/tracker/gray-image';
import { trackKlt } from '../../src/tracker/klt';
import { buildPyramid } from '../../src/tracker/pyramid';
import { texture as noiseTexture } from '../fixtures/synthetic-scene';

/** The fixtures' multi-octave noise texture sampled at (x − shiftX, y − shiftY) with 1 px = 5 mm: a moved scene. */
function texture(w: number, h: number, shiftX: number, shiftY: number): GrayImage {
  const img = createGrayImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) img.data[y * w + x] = noiseTexture((x - shiftX) * 0.005, (y - shiftY) * 0.005, 5);
  }
  return img;
}

describe('KLT tracking', () => {
  it('recovers a known sub-pixel shift, also a large one through the pyramid', () => {
    const a = texture(320, 240, 0, 0);
    for (const [sx, sy] of [[0.37, -0.61], [14.3, 9.8]]) {
      const b = texture(320, 240, sx, sy);
      const pa = buildPyramid(a, 4);
      const pb = buildPyramid(b, 4);
      const corners = detectCorners(a, [], { maxCorners: 80, minDistancePx: 20, borderPx: 30 });
      expect(corners.length / 2).toBeGreaterThan(40);
      const result = trackKlt(pa, pb, corners);
      let tracked = 0;
      const errors: number[] = [];
      for (let i = 0; i < corners.length / 2; i++) {
        if (!result.status[i]) continue;
        tracked++;
        errors.push(Math.hypot(result.points[2 * i] - corners[2 * i] - sx, result.points[2 * i + 1] - corners[2 * i + 1] - sy));
      }
      expect(tracked).toBeGreaterThan(0.9 * (corners.length / 2));
      errors.sort((p, q) => p - q);
      expect(errors[errors.length >> 1]).toBeLessThan(0.03);
      expect(errors[errors.length - 1]).toBeLessThan(0.2);
    }
  });

  it('loses points whose patch changed (forward–backward and residual checks) and keeps the others', () => {
    const a = texture(240, 200, 0, 0);
    const b = texture(240, 200, 2, 1);
    // Something else covers the right half of the second frame.
    for (let y = 0; y < 200; y++) for (let x = 120; x < 240; x++) b.data[y * 240 + x] = noiseTexture(x * 0.005, y * 0.005, 77);
    const corners = detectCorners(a, [], { maxCorners: 150, minDistancePx: 12, borderPx: 12 });
    const result = trackKlt(buildPyramid(a, 3), buildPyramid(b, 3), corners);
    let covered = 0;
    let coveredKept = 0;
    let clear = 0;
    let clearKept = 0;
    for (let i = 0; i < corners.length / 2; i++) {
      if (corners[2 * i] > 135) {
        covered++;
        coveredKept += result.status[i];
      } else if (corners[2 * i] < 100) {
        clear++;
        clearKept += result.status[i];
      }
    }
    expect(covered).toBeGreaterThan(20);
    expect(coveredKept / covered).toBeLessThan(0.1);
    expect(clearKept / clear).toBeGreaterThan(0.9);
  });
});

describe('corners and grayscale', () => {
  it('scores corners with the smaller structure-tensor eigenvalue over 5x5 windows (brute force check)', () => {
    const img = texture(40, 30, 0, 0);
    const score = minEigenScore(img);
    const at = (x: number, y: number) => img.data[y * 40 + x];
    for (const [x, y] of [[3, 3], [10, 7], [36, 26], [20, 15]]) {
      let a = 0;
      let b = 0;
      let c = 0;
      for (let v = y - 2; v <= y + 2; v++) {
        for (let u = x - 2; u <= x + 2; u++) {
          const gx = 0.5 * (at(u + 1, v) - at(u - 1, v));
          const gy = 0.5 * (at(u, v + 1) - at(u, v - 1));
          a += gx * gx;
          b += gx * gy;
          c += gy * gy;
        }
      }
      const expected = 0.5 * (a + c) - Math.sqrt(0.25 * (a - c) ** 2 + b * b);
      expect(score[y * 40 + x]).toBeCloseTo(expected, 2);
    }
    expect(score[2 * 40 + 10]).toBe(0);
  });


  it('keeps corners apart and away from existing features', () => {
    const a = texture(160, 120, 0, 0);
    const existing = [80, 60];
    const c = detectCorners(a, existing, { maxCorners: 50, minDistancePx: 10 });
    for (let i = 0; i < c.length / 2; i++) {
      expect(Math.hypot(c[2 * i] - 80, c[2 * i + 1] - 60)).toBeGreaterThanOrEqual(10);
      for (let j = i + 1; j < c.length / 2; j++) expect(Math.hypot(c[2 * i] - c[2 * j], c[2 * i + 1] - c[2 * j + 1])).toBeGreaterThanOrEqual(10);
    }
  });

  it('converts RGB to luma and averages 2x2 blocks exactly', () => {
    // Four pixels: pure red, green, blue and white → mean luma (76.245 + 149.685 + 29.07 + 255) / 4.
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255);
    const full = grayFromRgb(rgb, 2, 2, 3, 1);
    expect(Array.from(full.data)).toEqual([76.245, 149.685, 29.07, 255].map((v) => expect.closeTo(v, 3)));
    const half = grayFromRgb(rgb, 2, 2, 3, 2);
    expect(half.widthPx).toBe(1);
    expect(half.data[0]).toBeCloseTo((76.245 + 149.685 + 29.07 + 255) / 4, 3);
    const rgba = new Uint8Array(3 * 3 * 4);
    rgba.set([255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 9, 255, 255, 255, 9]);
    expect(grayFromRgb(rgba, 3, 3, 4, 3).data[0]).toBeCloseTo((76.245 + 149.685 + 29.07 + 255) / 9, 3);
  });
});
