import { sampleWindow, type Pyramid } from './pyramid';
import { withDefaults } from '../options';

export interface KltOptions {
  /** Half size of the square window (pixels at every level): 4 → 9x9. */
  windowRadiusPx?: number;
  /** Most Gauss–Newton iterations a level. */
  maxIterations?: number;
  /** Stop a level once the update is below this (pixels). */
  epsilonPx?: number;
  /** Track back from the new frame and drop points that do not return within this distance (pixels); 0 = off. */
  forwardBackwardPx?: number;
  /** Drop points whose mean absolute patch difference exceeds this (gray levels 0..255). */
  maxResidual?: number;
  /** Drop points whose structure tensor's smaller eigenvalue per pixel is below this (flat patches). */
  minEigenvalue?: number;
}

export const KLT_DEFAULTS: Required<KltOptions> = {
  windowRadiusPx: 4,
  maxIterations: 12,
  epsilonPx: 0.02,
  forwardBackwardPx: 0.5,
  maxResidual: 18,
  minEigenvalue: 1e-3,
};

export interface KltResult {
  /** New positions, packed xy (pixel-index coordinates of the next image). */
  points: Float32Array;
  /** 1 where the point was tracked, 0 where it was lost. */
  status: Uint8Array;
}

/**
 * Pyramidal Lucas–Kanade (Bouguet): for each point, coarse-to-fine Gauss–Newton on the translation
 * that best matches the previous frame's window in the next frame. `guess` (packed xy, optional) seeds
 * the displacement, e.g. from a global motion estimate.
 */
export function trackKlt(prev: Pyramid, next: Pyramid, points: ArrayLike<number>, options: KltOptions = {}, guess?: ArrayLike<number>): KltResult {
  const o = withDefaults(KLT_DEFAULTS, options);
  const forward = trackOneWay(prev, next, points, o, guess);
  if (o.forwardBackwardPx <= 0) return forward;
  // Backward on the finest level only, seeded with the original positions: a consistent track returns
  // to its start within a couple of iterations, an inconsistent one does not.
  const back = trackOneWay(next, prev, forward.points, o, points, 1);
  for (let i = 0; i < forward.status.length; i++) {
    if (!forward.status[i]) continue;
    if (!back.status[i]) {
      forward.status[i] = 0;
      continue;
    }
    const dx = back.points[2 * i] - points[2 * i];
    const dy = back.points[2 * i + 1] - points[2 * i + 1];
    if (dx * dx + dy * dy > o.forwardBackwardPx * o.forwardBackwardPx) forward.status[i] = 0;
  }
  return forward;
}

function trackOneWay(
  prev: Pyramid,
  next: Pyramid,
  points: ArrayLike<number>,
  o: Required<KltOptions>,
  guess?: ArrayLike<number>,
  maxLevels = Number.POSITIVE_INFINITY,
): KltResult {
  const n = points.length >> 1;
  const levels = Math.min(prev.length, next.length, maxLevels);
  const r = o.windowRadiusPx;
  const side = 2 * r + 1;
  const area = side * side;
  const extSide = side + 2;
  const ext = new Float32Array(extSide * extSide);
  const tpl = new Float32Array(area);
  const gx = new Float32Array(area);
  const gy = new Float32Array(area);
  const cur = new Float32Array(area);
  const out = new Float32Array(2 * n);
  const status = new Uint8Array(n);
  const eps2 = o.epsilonPx * o.epsilonPx;

  for (let i = 0; i < n; i++) {
    const px = points[2 * i];
    const py = points[2 * i + 1];
    let dx = guess ? guess[2 * i] - px : 0;
    let dy = guess ? guess[2 * i + 1] - py : 0;
    let ok = true;
    let residual = 0;
    for (let l = levels - 1; l >= 0 && ok; l--) {
      const scale = 1 / (1 << l);
      const P = prev[l];
      const N = next[l];
      const x0 = px * scale;
      const y0 = py * scale;
      let ldx = dx * scale;
      let ldy = dy * scale;
      // Template with a one-pixel rim, its central-difference gradients and the structure tensor.
      sampleWindow(P.data, P.widthPx, P.heightPx, x0, y0, r + 1, ext);
      let a = 0;
      let b = 0;
      let c = 0;
      let k = 0;
      for (let v = 1; v <= side; v++) {
        for (let u = 1; u <= side; u++, k++) {
          const e = v * extSide + u;
          const ix = 0.5 * (ext[e + 1] - ext[e - 1]);
          const iy = 0.5 * (ext[e + extSide] - ext[e - extSide]);
          tpl[k] = ext[e];
          gx[k] = ix;
          gy[k] = iy;
          a += ix * ix;
          b += ix * iy;
          c += iy * iy;
        }
      }
      const det = a * c - b * b;
      const minEig = (0.5 * (a + c) - Math.sqrt(0.25 * (a - c) * (a - c) + b * b)) / area;
      if (minEig < o.minEigenvalue || det <= 0) {
        ok = false;
        break;
      }
      const inv = 1 / det;
      const nw = N.widthPx;
      const nh = N.heightPx;
      const data = N.data;
      for (let it = 0; it < o.maxIterations; it++) {
        const cx = x0 + ldx;
        const cy = y0 + ldy;
        if (cx < -r || cy < -r || cx > nw - 1 + r || cy > nh - 1 + r) {
          ok = false;
          break;
        }
        let bx = 0;
        let by = 0;
        const fx = Math.floor(cx);
        const fy = Math.floor(cy);
        if (fx - r >= 0 && fy - r >= 0 && fx + r + 1 < nw && fy + r + 1 < nh) {
          // Inside: one set of bilinear weights for the whole window.
          const ax = cx - fx;
          const ay = cy - fy;
          const w00 = (1 - ax) * (1 - ay);
          const w01 = ax * (1 - ay);
          const w10 = (1 - ax) * ay;
          const w11 = ax * ay;
          k = 0;
          for (let v = -r; v <= r; v++) {
            let p = (fy + v) * nw + fx - r;
            for (let u = -r; u <= r; u++, k++, p++) {
              const diff = tpl[k] - (w00 * data[p] + w01 * data[p + 1] + w10 * data[p + nw] + w11 * data[p + nw + 1]);
              bx += diff * gx[k];
              by += diff * gy[k];
            }
          }
        } else {
          sampleWindow(data, nw, nh, cx, cy, r, cur);
          for (k = 0; k < area; k++) {
            const diff = tpl[k] - cur[k];
            bx += diff * gx[k];
            by += diff * gy[k];
          }
        }
        const ux = inv * (c * bx - b * by);
        const uy = inv * (a * by - b * bx);
        ldx += ux;
        ldy += uy;
        if (ux * ux + uy * uy < eps2) break;
      }
      dx = ldx / scale;
      dy = ldy / scale;
      if (l === 0 && ok) {
        sampleWindow(data, nw, nh, x0 + ldx, y0 + ldy, r, cur);
        residual = 0;
        for (k = 0; k < area; k++) residual += Math.abs(tpl[k] - cur[k]);
        residual /= area;
      }
    }
    const nx = px + dx;
    const ny = py + dy;
    out[2 * i] = nx;
    out[2 * i + 1] = ny;
    const w0 = next[0].widthPx;
    const h0 = next[0].heightPx;
    status[i] = ok && residual <= o.maxResidual && nx >= 0 && ny >= 0 && nx <= w0 - 1 && ny <= h0 - 1 ? 1 : 0;
  }
  return { points: out, status };
}
