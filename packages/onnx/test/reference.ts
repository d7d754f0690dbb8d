/** Hand computations the builder tests compare onnxruntime's results with. */

export function conv2dReference(
  x: Float32Array, [n, c, h, w]: readonly number[],
  weight: Float32Array, [oc, , kh, kw]: readonly number[],
  bias: Float32Array | undefined, stride: number, pad: number,
): { data: Float32Array; dims: number[] } {
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - kw) / stride) + 1;
  const out = new Float32Array(n * oc * oh * ow);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < oc; o++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let sum = bias ? bias[o] : 0;
          for (let ci = 0; ci < c; ci++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = y * stride - pad + ky;
                const ix = xx * stride - pad + kx;
                if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
                sum += x[((b * c + ci) * h + iy) * w + ix] * weight[((o * c + ci) * kh + ky) * kw + kx];
              }
          out[((b * oc + o) * oh + y) * ow + xx] = sum;
        }
  return { data: out, dims: [n, oc, oh, ow] };
}

/** [m, k] x [k, n]. */
export function matMulReference(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
      out[i * n + j] = s;
    }
  return out;
}

/** Normalises each run of `size` consecutive values (mean 0, variance 1), then scale and bias per position. */
export function normalizeRuns(x: Float32Array, size: number, eps: number, scale?: ArrayLike<number>, bias?: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let start = 0; start < x.length; start += size) {
    let mean = 0;
    for (let i = 0; i < size; i++) mean += x[start + i];
    mean /= size;
    let variance = 0;
    for (let i = 0; i < size; i++) variance += (x[start + i] - mean) ** 2;
    variance /= size;
    for (let i = 0; i < size; i++) {
      const v = (x[start + i] - mean) / Math.sqrt(variance + eps);
      out[start + i] = v * (scale ? scale[i] : 1) + (bias ? bias[i] : 0);
    }
  }
  return out;
}

/** erf to about 1e-7 (Abramowitz and Stegun 7.1.26). */
export function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function range(n: number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i * scale + offset);
}
