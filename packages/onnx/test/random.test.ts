import { describe, expect, it } from 'vitest';
import { createRandom } from '@vanelia/onnx';

describe('createRandom', () => {
  it('repeats for a seed and differs between seeds, including the high 32 bits', () => {
    expect(Array.from(createRandom(42).normals(8))).toEqual(Array.from(createRandom(42).normals(8)));
    expect(createRandom(42).uniform()).not.toBe(createRandom(43).uniform());
    expect(createRandom(5n).uniform()).not.toBe(createRandom(5n + (1n << 32n)).uniform());
  });

  it('gives uniform values in [0, 1) and standard normal moments', () => {
    const r = createRandom(7);
    const n = 200_000;
    let min = 1;
    let max = 0;
    for (let i = 0; i < 1000; i++) {
      const u = r.uniform();
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    const x = r.normals(n);
    const mean = x.reduce((a, b) => a + b, 0) / n;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });
});
