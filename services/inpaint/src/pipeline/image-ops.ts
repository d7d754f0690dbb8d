/**
 * Pixel work around the diffusion: sampling a box of an 8-bit frame into planar floats (crop + resize with
 * bilinear filtering, edges clamped, so a crop may reach past the frame), box blur for feathering, and blending
 * a refined crop back into the frame.
 */

/** A pixel box; fractional values allowed where noted. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Interleaved 8-bit pixels (RGB8: 3 channels, GRAY8: 1). */
export interface Raster {
  widthPx: number;
  heightPx: number;
  channels: number;
  data: Uint8Array;
}

/**
 * Samples `box` of `src` onto an `outW` x `outH` grid, bilinear, pixel centres aligned (as a resize of the
 * crop), coordinates outside the raster clamped to its edge. Returns planar [channels, outH, outW] floats in
 * the raster's 0..255 scale.
 */
export function sampleBox(src: Raster, box: Box, outW: number, outH: number): Float32Array {
  const { widthPx: w, heightPx: h, channels: c, data } = src;
  const out = new Float32Array(c * outW * outH);
  const plane = outW * outH;
  // Column taps once per call: source columns (times channels) and weights.
  const col0 = new Int32Array(outW);
  const col1 = new Int32Array(outW);
  const colT = new Float32Array(outW);
  for (let ox = 0; ox < outW; ox++) {
    const fx = Math.min(w - 1, Math.max(0, box.x + (ox + 0.5) * (box.w / outW) - 0.5));
    const x0 = Math.floor(fx);
    col0[ox] = x0 * c;
    col1[ox] = Math.min(w - 1, x0 + 1) * c;
    colT[ox] = fx - x0;
  }
  for (let oy = 0; oy < outH; oy++) {
    const fy = Math.min(h - 1, Math.max(0, box.y + (oy + 0.5) * (box.h / outH) - 0.5));
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const row0 = y0 * w * c;
    const row1 = Math.min(h - 1, y0 + 1) * w * c;
    for (let ox = 0; ox < outW; ox++) {
      const tx = colT[ox];
      const a = row0 + col0[ox];
      const b = row0 + col1[ox];
      const d = row1 + col0[ox];
      const e = row1 + col1[ox];
      const o = oy * outW + ox;
      for (let k = 0; k < c; k++) {
        const top = data[a + k] + (data[b + k] - data[a + k]) * tx;
        const bottom = data[d + k] + (data[e + k] - data[d + k]) * tx;
        out[k * plane + o] = top + (bottom - top) * ty;
      }
    }
  }
  return out;
}

/** Bilinear sample of planar [c, h, w] floats at (fx, fy) in its own pixel coordinates, edges clamped. */
export function samplePlanar(src: Float32Array, w: number, h: number, fx: number, fy: number, k: number): number {
  const x = Math.min(w - 1, Math.max(0, fx));
  const y = Math.min(h - 1, Math.max(0, fy));
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const tx = x - x0;
  const ty = y - y0;
  const base = k * w * h;
  const top = src[base + y0 * w + x0] + (src[base + y0 * w + x1] - src[base + y0 * w + x0]) * tx;
  const bottom = src[base + y1 * w + x0] + (src[base + y1 * w + x1] - src[base + y1 * w + x0]) * tx;
  return top + (bottom - top) * ty;
}

/** Separable box blur of a single-channel [h, w] image, radius `r` (0 returns a copy); edges clamped. */
export function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  if (r <= 0) return src.slice();
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  const size = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += src[y * w + Math.min(w - 1, Math.max(0, k))];
    for (let x = 0; x < w; x++) {
      tmp[y * w + x] = sum / size;
      sum += src[y * w + Math.min(w - 1, x + r + 1)] - src[y * w + Math.max(0, x - r)];
    }
  }
  for (let x = 0; x < w; x++) {
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += tmp[Math.min(h - 1, Math.max(0, k)) * w + x];
    for (let y = 0; y < h; y++) {
      out[y * w + x] = sum / size;
      sum += tmp[Math.min(h - 1, y + r + 1) * w + x] - tmp[Math.max(0, y - r) * w + x];
    }
  }
  return out;
}

/** The integer pixel box of `box` grown by `margin`, clipped to the frame; null when empty. */
export function clipBox(box: Box, margin: number, widthPx: number, heightPx: number): Box | null {
  const x0 = Math.max(0, Math.floor(box.x - margin));
  const y0 = Math.max(0, Math.floor(box.y - margin));
  const x1 = Math.min(widthPx, Math.ceil(box.x + box.w + margin));
  const y1 = Math.min(heightPx, Math.ceil(box.y + box.h + margin));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
}

/** The integer overlap of two boxes; null when they do not overlap. */
export function intersectBoxes(a: Box, b: Box): Box | null {
  const x0 = Math.ceil(Math.max(a.x, b.x));
  const y0 = Math.ceil(Math.max(a.y, b.y));
  const x1 = Math.floor(Math.min(a.x + a.w, b.x + b.w));
  const y1 = Math.floor(Math.min(a.y + a.h, b.y + b.h));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
}

/**
 * Feather weights over `area` (integer box in the frame): the mask blurred twice with radius `radiusPx`
 * (close to a Gaussian), 0..1.
 */
export function featherWeights(mask: Raster, area: Box, radiusPx: number): Float32Array {
  const values = new Float32Array(area.w * area.h);
  for (let y = 0; y < area.h; y++) {
    for (let x = 0; x < area.w; x++) values[y * area.w + x] = mask.data[(area.y + y) * mask.widthPx + area.x + x] / 255;
  }
  const r = Math.max(0, Math.round(radiusPx / 2));
  return boxBlur(boxBlur(values, area.w, area.h, r), area.w, area.h, r);
}

/**
 * The refined crop (planar [3, rh, rw], covering frame box `cropBox`) resampled onto the frame pixels of
 * `area`: planar [3, area.h, area.w].
 */
export function resampleToArea(refined: Float32Array, rw: number, rh: number, cropBox: Box, area: Box): Float32Array {
  const out = new Float32Array(3 * area.w * area.h);
  const plane = area.w * area.h;
  const srcPlane = rw * rh;
  const col0 = new Int32Array(area.w);
  const col1 = new Int32Array(area.w);
  const colT = new Float32Array(area.w);
  for (let x = 0; x < area.w; x++) {
    const fx = Math.min(rw - 1, Math.max(0, (area.x + x + 0.5 - cropBox.x) * (rw / cropBox.w) - 0.5));
    col0[x] = Math.floor(fx);
    col1[x] = Math.min(rw - 1, col0[x] + 1);
    colT[x] = fx - col0[x];
  }
  for (let y = 0; y < area.h; y++) {
    const fy = Math.min(rh - 1, Math.max(0, (area.y + y + 0.5 - cropBox.y) * (rh / cropBox.h) - 0.5));
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    const row0 = y0 * rw;
    const row1 = Math.min(rh - 1, y0 + 1) * rw;
    for (let k = 0; k < 3; k++) {
      const base = k * srcPlane;
      for (let x = 0; x < area.w; x++) {
        const tx = colT[x];
        const top = refined[base + row0 + col0[x]] + (refined[base + row0 + col1[x]] - refined[base + row0 + col0[x]]) * tx;
        const bottom = refined[base + row1 + col0[x]] + (refined[base + row1 + col1[x]] - refined[base + row1 + col0[x]]) * tx;
        out[k * plane + y * area.w + x] = top + (bottom - top) * ty;
      }
    }
  }
  return out;
}

/** frame = frame·(1 − w) + values·w over `area` (values planar [3, area.h, area.w], 0..255); RGB8 in place. */
export function blendArea(frame: Raster, area: Box, weights: Float32Array, values: Float32Array): void {
  const plane = area.w * area.h;
  for (let y = 0; y < area.h; y++) {
    for (let x = 0; x < area.w; x++) {
      const wgt = weights[y * area.w + x];
      if (wgt <= 0) continue;
      const i = ((area.y + y) * frame.widthPx + area.x + x) * 3;
      for (let k = 0; k < 3; k++) {
        const v = values[k * plane + y * area.w + x];
        frame.data[i + k] = Math.round(Math.min(255, Math.max(0, frame.data[i + k] * (1 - wgt) + v * wgt)));
      }
    }
  }
}
