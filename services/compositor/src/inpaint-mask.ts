import type { PixelRect } from './product-stage';

/**
 * The region refinement may repaint: pixels where the product or a visible shadow was composited, grown by
 * a square dilation of `dilatePx` (separable running max), and its bounding box.
 */

export interface InpaintMaskOptions {
  /** Grow the mask by this many pixels in every direction. */
  dilatePx?: number;
  /** Product alpha (0..255) above which a pixel counts. */
  productThreshold?: number;
  /** Shadow strength (0..255) above which a pixel counts. */
  shadowThreshold?: number;
}

export const INPAINT_MASK_DEFAULTS: Required<InpaintMaskOptions> = {
  dilatePx: 8,
  productThreshold: 8,
  shadowThreshold: 16,
};

export interface InpaintMask {
  /** GRAY8 full frame: 255 inside, 0 outside. */
  mask: Uint8Array;
  /** Bounding box of the mask; width 0 when empty. */
  box: PixelRect;
}

export function buildInpaintMask(
  frameWidthPx: number,
  frameHeightPx: number,
  region: PixelRect,
  productAlpha: Uint8Array,
  shadowStrength: Uint8Array,
  options: InpaintMaskOptions = {},
): InpaintMask {
  const opts = { ...INPAINT_MASK_DEFAULTS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (opts as Record<string, number>)[key] = value;
  const dilate = Math.max(0, Math.floor(opts.dilatePx));
  const mask = new Uint8Array(frameWidthPx * frameHeightPx);
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let ly = 0; ly < region.heightPx; ly++) {
    for (let lx = 0; lx < region.widthPx; lx++) {
      const q = ly * region.widthPx + lx;
      if (productAlpha[q] > opts.productThreshold || shadowStrength[q] > opts.shadowThreshold) {
        const x = region.xPx + lx;
        const y = region.yPx + ly;
        mask[y * frameWidthPx + x] = 255;
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return { mask, box: { xPx: 0, yPx: 0, widthPx: 0, heightPx: 0 } };
  const box = {
    xPx: Math.max(0, x0 - dilate),
    yPx: Math.max(0, y0 - dilate),
    widthPx: Math.min(frameWidthPx - 1, x1 + dilate) - Math.max(0, x0 - dilate) + 1,
    heightPx: Math.min(frameHeightPx - 1, y1 + dilate) - Math.max(0, y0 - dilate) + 1,
  };
  if (dilate > 0) dilateInBox(mask, frameWidthPx, box, dilate);
  return { mask, box };
}

/**
 * Square dilation restricted to `box` (which already holds every pixel the dilation can reach): running
 * counts of set pixels in a sliding window, rows first, then columns (kept row-major for the cache).
 */
function dilateInBox(mask: Uint8Array, stride: number, box: PixelRect, radius: number): void {
  const { xPx, yPx, widthPx: w, heightPx: h } = box;
  const rows = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = (yPx + y) * stride + xPx;
    let count = 0;
    for (let i = 0; i < Math.min(radius, w); i++) count += mask[row + i] ? 1 : 0;
    for (let x = 0; x < w; x++) {
      if (x + radius < w && mask[row + x + radius]) count++;
      if (x - radius - 1 >= 0 && mask[row + x - radius - 1]) count--;
      rows[y * w + x] = count > 0 ? 1 : 0;
    }
  }
  const counts = new Int32Array(w);
  for (let y = 0; y < Math.min(radius, h); y++) for (let x = 0; x < w; x++) counts[x] += rows[y * w + x];
  for (let y = 0; y < h; y++) {
    const enter = y + radius < h ? (y + radius) * w : -1;
    const leave = y - radius - 1 >= 0 ? (y - radius - 1) * w : -1;
    const row = (yPx + y) * stride + xPx;
    for (let x = 0; x < w; x++) {
      if (enter >= 0) counts[x] += rows[enter + x];
      if (leave >= 0) counts[x] -= rows[leave + x];
      mask[row + x] = counts[x] > 0 ? 255 : 0;
    }
  }
}
