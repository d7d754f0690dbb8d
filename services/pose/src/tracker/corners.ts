import type { GrayImage } from './gray-image';
import { withDefaults } from '../options';

export interface CornerOptions {
  /** Most corners returned. */
  maxCorners?: number;
  /** Smallest distance between two corners, and between a new corner and an existing feature (pixels). */
  minDistancePx?: number;
  /** A corner's score must reach this fraction of the strongest score (Shi–Tomasi quality level). */
  qualityLevel?: number;
  /** Pixels at the border where no corner is taken (the KLT window must fit). */
  borderPx?: number;
}

export const CORNER_DEFAULTS: Required<CornerOptions> = {
  maxCorners: 500,
  minDistancePx: 12,
  qualityLevel: 0.01,
  borderPx: 8,
};

/**
 * Shi–Tomasi score: the smaller eigenvalue of the gradient structure tensor (central differences)
 * summed over a 5x5 window. Row-major, same size as the image; zero in a 3-pixel border. One pass over
 * the rows with running box sums: five rows of horizontal sums in a ring, vertical sums updated as
 * rows enter and leave.
 */
export function minEigenScore(image: GrayImage): Float32Array {
  const { widthPx: w, heightPx: h, data } = image;
  const score = new Float32Array(w * h);
  if (w < 7 || h < 7) return score;
  const prod = new Float64Array(3 * w);
  const ring = new Float64Array(5 * 3 * w);
  const vert = new Float64Array(3 * w);
  for (let y = 0; y < h; y++) {
    prod.fill(0);
    if (y >= 1 && y < h - 1) {
      const r = y * w;
      for (let x = 1; x < w - 1; x++) {
        const gx = 0.5 * (data[r + x + 1] - data[r + x - 1]);
        const gy = 0.5 * (data[r + x + w] - data[r + x - w]);
        prod[3 * x] = gx * gx;
        prod[3 * x + 1] = gx * gy;
        prod[3 * x + 2] = gy * gy;
      }
    }
    // Horizontal 5-tap sums of this row replace the row five above in the ring and the vertical sums.
    const slot = (y % 5) * 3 * w;
    for (let c = 0; c < 3; c++) {
      let run = prod[c] + prod[3 + c] + prod[6 + c] + prod[9 + c];
      for (let x = 2; x < w - 2; x++) {
        run += prod[3 * (x + 2) + c];
        const i = 3 * x + c;
        vert[i] += run - ring[slot + i];
        ring[slot + i] = run;
        run -= prod[3 * (x - 2) + c];
      }
    }
    const yc = y - 2;
    if (y >= 4 && yc >= 3 && yc < h - 3) {
      for (let x = 3; x < w - 3; x++) {
        const a = vert[3 * x];
        const b = vert[3 * x + 1];
        const c = vert[3 * x + 2];
        score[yc * w + x] = 0.5 * (a + c) - Math.sqrt(0.25 * (a - c) * (a - c) + b * b);
      }
    }
  }
  return score;
}

/**
 * Good features to track: local maxima of the Shi–Tomasi score, strongest first, kept at least
 * `minDistancePx` from each other and from `existing` (packed xy, pixel-index coordinates).
 * Returns packed xy of the new corners.
 */
export function detectCorners(image: GrayImage, existing: ArrayLike<number>, options: CornerOptions = {}): Float32Array {
  const o = withDefaults(CORNER_DEFAULTS, options);
  const { widthPx: w, heightPx: h } = image;
  const score = minEigenScore(image);
  const border = Math.max(3, o.borderPx);

  let best = 0;
  for (let i = 0; i < score.length; i++) if (score[i] > best) best = score[i];
  if (best <= 0) return new Float32Array(0);
  const floor = o.qualityLevel * best;

  const candidates: number[] = [];
  for (let y = border; y < h - border; y++) {
    for (let x = border; x < w - border; x++) {
      const i = y * w + x;
      const s = score[i];
      if (s < floor) continue;
      if (s < score[i - 1] || s < score[i + 1] || s < score[i - w] || s < score[i + w]) continue;
      if (s < score[i - w - 1] || s < score[i - w + 1] || s < score[i + w - 1] || s < score[i + w + 1]) continue;
      candidates.push(i);
    }
  }
  candidates.sort((a, b) => score[b] - score[a]);

  // Occupancy grid with cells of minDistance: only the 3x3 neighbouring cells need checking.
  const cell = Math.max(1, o.minDistancePx);
  const gw = Math.ceil(w / cell);
  const gh = Math.ceil(h / cell);
  const grid: number[][] = Array.from({ length: gw * gh }, () => []);
  const minD2 = o.minDistancePx * o.minDistancePx;
  const taken = (x: number, y: number): boolean => {
    const cx = Math.floor(x / cell);
    const cy = Math.floor(y / cell);
    for (let gy = Math.max(0, cy - 1); gy <= Math.min(gh - 1, cy + 1); gy++) {
      for (let gx = Math.max(0, cx - 1); gx <= Math.min(gw - 1, cx + 1); gx++) {
        const pts = grid[gy * gw + gx];
        for (let k = 0; k < pts.length; k += 2) {
          const dx = pts[k] - x;
          const dy = pts[k + 1] - y;
          if (dx * dx + dy * dy < minD2) return true;
        }
      }
    }
    return false;
  };
  const put = (x: number, y: number): void => {
    const cx = Math.min(gw - 1, Math.max(0, Math.floor(x / cell)));
    const cy = Math.min(gh - 1, Math.max(0, Math.floor(y / cell)));
    grid[cy * gw + cx].push(x, y);
  };
  for (let k = 0; k + 1 < existing.length; k += 2) put(existing[k], existing[k + 1]);

  const out: number[] = [];
  for (const i of candidates) {
    if (out.length >= 2 * o.maxCorners) break;
    const x = i % w;
    const y = (i - x) / w;
    if (taken(x, y)) continue;
    put(x, y);
    out.push(x, y);
  }
  return Float32Array.from(out);
}
