/** A single-channel float image, row-major, values 0..255. */
export interface GrayImage {
  widthPx: number;
  heightPx: number;
  data: Float32Array;
}

export function createGrayImage(widthPx: number, heightPx: number): GrayImage {
  return { widthPx, heightPx, data: new Float32Array(widthPx * heightPx) };
}

/**
 * Grayscale (Rec. 601 luma) of an interleaved 8-bit RGB or RGBA frame, area-averaged down by an integer
 * `factor` (1 keeps the size; the right and bottom remainders are dropped). Working-image pixel (x, y)
 * covers original pixels [x·factor, (x+1)·factor), so continuous coordinates scale by exactly `factor`.
 */
export function grayFromRgb(rgb: Uint8Array, widthPx: number, heightPx: number, channels: 3 | 4, factor = 1): GrayImage {
  if (rgb.length < widthPx * heightPx * channels) {
    throw new RangeError(`grayFromRgb: ${rgb.length} bytes for ${widthPx}x${heightPx}x${channels}`);
  }
  const w = Math.floor(widthPx / factor);
  const h = Math.floor(heightPx / factor);
  const out = createGrayImage(w, h);
  if (factor === 2) {
    // Fast path (1080p → 960x540): two input rows at a time, weights summing to 1/4 of the luma.
    const d = out.data;
    for (let y = 0; y < h; y++) {
      let p = 2 * y * widthPx * channels;
      let q = p + widthPx * channels;
      for (let x = 0; x < w; x++) {
        const r = rgb[p] + rgb[p + channels] + rgb[q] + rgb[q + channels];
        const g = rgb[p + 1] + rgb[p + channels + 1] + rgb[q + 1] + rgb[q + channels + 1];
        const b = rgb[p + 2] + rgb[p + channels + 2] + rgb[q + 2] + rgb[q + channels + 2];
        d[y * w + x] = 0.07475 * r + 0.14675 * g + 0.0285 * b;
        p += 2 * channels;
        q += 2 * channels;
      }
    }
    return out;
  }
  const scale = 1 / (factor * factor * 1000);
  const row = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    row.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      let p = ((y * factor + dy) * widthPx) * channels;
      for (let x = 0; x < w; x++) {
        let sum = 0;
        for (let dx = 0; dx < factor; dx++) {
          sum += 299 * rgb[p] + 587 * rgb[p + 1] + 114 * rgb[p + 2];
          p += channels;
        }
        row[x] += sum;
      }
    }
    for (let x = 0; x < w; x++) out.data[y * w + x] = row[x] * scale;
  }
  return out;
}

/** Half-size image by 2x2 averaging (odd last row/column dropped). */
export function halfSize(image: GrayImage): GrayImage {
  const w = image.widthPx >> 1;
  const h = image.heightPx >> 1;
  const out = createGrayImage(w, h);
  const src = image.data;
  const sw = image.widthPx;
  for (let y = 0; y < h; y++) {
    const r0 = 2 * y * sw;
    const r1 = r0 + sw;
    for (let x = 0; x < w; x++) {
      const c = 2 * x;
      out.data[y * w + x] = 0.25 * (src[r0 + c] + src[r0 + c + 1] + src[r1 + c] + src[r1 + c + 1]);
    }
  }
  return out;
}

/** Separable [1 2 1]/4 blur (edges clamped): removes aliasing before KLT and corner scoring. */
export function blur121(image: GrayImage): GrayImage {
  const { widthPx: w, heightPx: h, data } = image;
  const tmp = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0; x < w; x++) {
      const l = data[r + (x > 0 ? x - 1 : 0)];
      const rr = data[r + (x < w - 1 ? x + 1 : w - 1)];
      tmp[r + x] = 0.25 * (l + 2 * data[r + x] + rr);
    }
  }
  const out = createGrayImage(w, h);
  for (let y = 0; y < h; y++) {
    const up = (y > 0 ? y - 1 : 0) * w;
    const dn = (y < h - 1 ? y + 1 : h - 1) * w;
    const r = y * w;
    for (let x = 0; x < w; x++) out.data[r + x] = 0.25 * (tmp[up + x] + 2 * tmp[r + x] + tmp[dn + x]);
  }
  return out;
}
