import { describe, expect, it } from 'vitest';
import { eigenSymmetric, eigenvector } from '../../src/geometry/eigen-symmetric';
import { mat3Determinant, mat3Multiply, mat3Transpose } from '../../src/geometry/mat3';
import { nearestRotation, nullVector, svd, svd3 } from '../../src/geometry/svd';
import { rotationAboutAxis } from '../../src/geometry/rotation';

function reconstruct(u: Float64Array, s: Float64Array, v: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let k = 0; k < cols; k++) sum += u[r * cols + k] * s[k] * v[c * cols + k];
      out[r * cols + c] = sum;
    }
  }
  return out;
}

describe('eigenSymmetric', () => {
  it('finds the eigenpairs of a hand-checked 2x2 and 3x3', () => {
    // [[2,1],[1,2]] has eigenvalues 1 (along (1,-1)) and 3 (along (1,1)).
    const e2 = eigenSymmetric([2, 1, 1, 2], 2);
    expect(Array.from(e2.values)).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
    const v0 = eigenvector(e2, 0);
    expect(Math.abs(v0[0] + v0[1])).toBeLessThan(1e-12);
    // diag(5, -1, 2) rotated: eigenvalues stay (-1, 2, 5).
    const r = rotationAboutAxis([1, 2, 3], 0.7);
    const d = Float64Array.of(5, 0, 0, 0, -1, 0, 0, 0, 2);
    const m = mat3Multiply(mat3Multiply(r, d), mat3Transpose(r));
    const e3 = eigenSymmetric(m, 3);
    expect(e3.values[0]).toBeCloseTo(-1, 12);
    expect(e3.values[1]).toBeCloseTo(2, 12);
    expect(e3.values[2]).toBeCloseTo(5, 12);
    // The eigenvector of -1 is the rotated y axis.
    const v = eigenvector(e3, 0);
    expect(Math.abs(v[0] * r[1] + v[1] * r[4] + v[2] * r[7])).toBeCloseTo(1, 12);
  });
});

describe('svd', () => {
  it('decomposes a hand-checked 3x3: diag(3, 2, 1) with permuted, signed rows', () => {
    const a = Float64Array.of(0, 2, 0, -3, 0, 0, 0, 0, 1);
    const { u, s, v } = svd3(a);
    expect(Array.from(s)).toEqual([expect.closeTo(3, 12), expect.closeTo(2, 12), expect.closeTo(1, 12)]);
    expect(Array.from(reconstruct(u, s, v, 3, 3))).toEqual(Array.from(a).map((x) => expect.closeTo(x, 12)));
    expect(Math.abs(mat3Determinant(u))).toBeCloseTo(1, 12);
  });

  it('reconstructs a tall matrix and finds the null space of a rank-deficient one', () => {
    const a = Float64Array.from({ length: 8 * 4 }, (_, i) => Math.sin(i * 1.7) + (i % 3));
    const d = svd(a, 8, 4);
    expect(d.s[0]).toBeGreaterThanOrEqual(d.s[1]);
    const back = reconstruct(d.u, d.s, d.v, 8, 4);
    back.forEach((x, i) => expect(x).toBeCloseTo(a[i], 10));
    // Rows orthogonal to (1, -2, 1, 0)ᵀ/√6: every row r has r0 - 2 r1 + r2 = 0.
    const rows = [1, 1, 1, 5, 2, 3, 4, -1, 0, 1, 2, 7];
    const x = nullVector(rows, 3, 4);
    const expected = [1, -2, 1, 0].map((t) => t / Math.sqrt(6));
    const sign = Math.sign(x[0]);
    x.forEach((xi, i) => expect(sign * xi).toBeCloseTo(expected[i], 10));
  });

  it('projects a noisy matrix to the nearest rotation', () => {
    const r = rotationAboutAxis([0.3, -1, 0.2], 1.1);
    const noisy = r.map((x, i) => x + 1e-3 * Math.cos(i));
    const back = nearestRotation(noisy);
    expect(mat3Determinant(back)).toBeCloseTo(1, 12);
    back.forEach((x, i) => expect(x).toBeCloseTo(r[i], 2));
    // A reflection maps to a proper rotation.
    expect(mat3Determinant(nearestRotation(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, -1)))).toBeCloseTo(1, 12);
  });
});
