import { blur121, halfSize, type GrayImage } from './gray-image';

/** Level 0 is the working image itself; each next level is half the size, blurred against aliasing. */
export type Pyramid = GrayImage[];

/** Number of levels whose smallest side stays at least `minSidePx`, capped at `maxLevels`. */
export function pyramidLevelsFor(widthPx: number, heightPx: number, maxLevels: number, minSidePx = 40): number {
  let levels = 1;
  let side = Math.min(widthPx, heightPx);
  while (levels < maxLevels && side / 2 >= minSidePx) {
    side /= 2;
    levels++;
  }
  return levels;
}

export function buildPyramid(image: GrayImage, levels: number): Pyramid {
  const out: Pyramid = [image];
  for (let l = 1; l < levels; l++) out.push(blur121(halfSize(out[l - 1])));
  return out;
}

/** Bilinear sample with clamping to the border; coordinates in pixel-index units (centre of pixel i at i). */
export function sampleBilinear(data: Float32Array, widthPx: number, heightPx: number, x: number, y: number): number {
  const xc = x < 0 ? 0 : x > widthPx - 1.001 ? widthPx - 1.001 : x;
  const yc = y < 0 ? 0 : y > heightPx - 1.001 ? heightPx - 1.001 : y;
  const x0 = xc | 0;
  const y0 = yc | 0;
  const ax = xc - x0;
  const ay = yc - y0;
  const i = y0 * widthPx + x0;
  return (
    (1 - ay) * ((1 - ax) * data[i] + ax * data[i + 1]) + ay * ((1 - ax) * data[i + widthPx] + ax * data[i + widthPx + 1])
  );
}

/**
 * Samples the (2r+1)² window centred at (cx, cy) into `out`, row by row. All window pixels share one
 * set of bilinear weights, so the inside case costs four multiply-adds a pixel; windows that cross the
 * border fall back to clamped sampling.
 */
export function sampleWindow(data: Float32Array, widthPx: number, heightPx: number, cx: number, cy: number, r: number, out: Float32Array): void {
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  if (x0 - r < 0 || y0 - r < 0 || x0 + r + 1 > widthPx - 1 || y0 + r + 1 > heightPx - 1) {
    let k = 0;
    for (let v = -r; v <= r; v++) for (let u = -r; u <= r; u++) out[k++] = sampleBilinear(data, widthPx, heightPx, cx + u, cy + v);
    return;
  }
  const ax = cx - x0;
  const ay = cy - y0;
  const w00 = (1 - ax) * (1 - ay);
  const w01 = ax * (1 - ay);
  const w10 = (1 - ax) * ay;
  const w11 = ax * ay;
  let k = 0;
  for (let v = -r; v <= r; v++) {
    let i = (y0 + v) * widthPx + x0 - r;
    for (let u = -r; u <= r; u++, i++) {
      out[k++] = w00 * data[i] + w01 * data[i + 1] + w10 * data[i + widthPx] + w11 * data[i + widthPx + 1];
    }
  }
}
