/**
 * Runs an image-to-image model tile by tile (VAE encoder /8, decoder x8) with overlapping tiles blended by
 * linear ramps, so large crops fit in device memory; every tile has the same size (static shapes).
 */

export interface TileSpec {
  /** Tile side in input units. */
  tile: number;
  /** Overlap between neighbouring tiles in input units. */
  overlap: number;
  /** Output units per input unit (8 for the decoder, 1/8 for the encoder). */
  scale: number;
}

/** Tile origins along one axis of length `n`: covers [0, n), last tile flush with the end. */
export function tileOrigins(n: number, tile: number, overlap: number): number[] {
  if (n <= tile) return [0];
  const stride = Math.max(1, tile - overlap);
  const out: number[] = [];
  for (let o = 0; o + tile < n; o += stride) out.push(o);
  out.push(n - tile);
  return out;
}

/** Ramp weight at position p of a tile of length t whose neighbours overlap by `ov` on the flagged sides. */
function ramp(p: number, t: number, ov: number, before: boolean, after: boolean): number {
  let w = 1;
  if (before && ov > 0) w = Math.min(w, (p + 0.5) / ov);
  if (after && ov > 0) w = Math.min(w, (t - p - 0.5) / ov);
  return Math.max(w, 1e-3);
}

/**
 * Applies `run` to tiles of planar `input` [cIn, h, w]; `run` maps [cIn, th, tw] to [cOut, th·scale, tw·scale].
 * Returns [cOut, h·scale, w·scale].
 */
export async function runTiled(
  input: Float32Array,
  cIn: number,
  h: number,
  w: number,
  cOut: number,
  spec: TileSpec,
  run: (tile: Float32Array, th: number, tw: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const th = Math.min(spec.tile, h);
  const tw = Math.min(spec.tile, w);
  if (th === h && tw === w) return run(input, h, w);
  const oh = Math.round(h * spec.scale);
  const ow = Math.round(w * spec.scale);
  const oth = Math.round(th * spec.scale);
  const otw = Math.round(tw * spec.scale);
  const ov = Math.round(spec.overlap * spec.scale);
  const acc = new Float32Array(cOut * oh * ow);
  const weight = new Float32Array(oh * ow);
  const ys = tileOrigins(h, th, spec.overlap);
  const xs = tileOrigins(w, tw, spec.overlap);
  const tile = new Float32Array(cIn * th * tw);
  for (const [yi, y0] of ys.entries()) {
    for (const [xi, x0] of xs.entries()) {
      for (let c = 0; c < cIn; c++) {
        for (let y = 0; y < th; y++) {
          const from = c * h * w + (y0 + y) * w + x0;
          tile.set(input.subarray(from, from + tw), c * th * tw + y * tw);
        }
      }
      const out = await run(tile, th, tw);
      const oy0 = Math.round(y0 * spec.scale);
      const ox0 = Math.round(x0 * spec.scale);
      for (let y = 0; y < oth; y++) {
        const wy = ramp(y, oth, ov, yi > 0, yi < ys.length - 1);
        for (let x = 0; x < otw; x++) {
          const wgt = wy * ramp(x, otw, ov, xi > 0, xi < xs.length - 1);
          const o = (oy0 + y) * ow + ox0 + x;
          weight[o] += wgt;
          for (let c = 0; c < cOut; c++) acc[c * oh * ow + o] += out[c * oth * otw + y * otw + x] * wgt;
        }
      }
    }
  }
  for (let c = 0; c < cOut; c++) for (let i = 0; i < oh * ow; i++) acc[c * oh * ow + i] /= weight[i];
  return acc;
}
