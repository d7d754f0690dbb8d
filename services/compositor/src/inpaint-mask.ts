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

/** Square dilation restricted to `box` (which already holds every pixel the dilation can reach). */
function dilateInBox(mask: Uint8Array, stride: number, box: PixelRect, radius: number): void {
  const { xPx, yPx, widthPx: w, heightPx: h } = box;
  const line = new Uint8Array(Math.max(w, h));
  const out = new Uint8Array(Math.max(w, h));
  const runningMax = (length: number): void => {
    // A pixel is set when any pixel within `radius` is: count set pixels in a sliding window.
    let count = 0;
    for (let i = 0; i < Math.min(radius, length); i++) count += line[i] ? 1 : 0;
    for (let i = 0; i < length; i++) {
      if (i + radius < length && line[i + radius]) count++;
      if (i - radius - 1 >= 0 && line[i - radius - 1]) count--;
      out[i] = count > 0 ? 255 : 0;
    }
  };
  for (let y = 0; y < h; y++) {
    const row = (yPx + y) * stride + xPx;
    line.set(mask.subarray(row, row + w));
    runningMax(w);
    mask.set(out.subarray(0, w), row);
  }
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) line[y] = mask[(yPx + y) * stride + xPx + x];
    runningMax(h);
    for (let y = 0; y < h; y++) mask[(yPx + y) * stride + xPx + x] = out[y];
  }
}
