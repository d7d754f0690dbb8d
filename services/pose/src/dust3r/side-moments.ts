import type { AlignmentState, ObservationSide } from './alignment-state';

/**
 * Weighted sums over one observation side of c (the frame's camera-frame sample points, d·(a/f, b/f, 1))
 * and P (the pair's predicted points): enough to evaluate and linearise Σ ω |R c + t − (s R' P + t')|²
 * exactly for any poses, so the global step costs nothing per sample.
 */
export interface SideMoments {
  weight: number;
  /** Σ ω c and Σ ω P. */
  sumC: Float64Array;
  sumP: Float64Array;
  /** Σ ω c cᵀ, Σ ω P Pᵀ, Σ ω c Pᵀ (row-major 3x3). */
  cc: Float64Array;
  pp: Float64Array;
  cp: Float64Array;
}

export function sideMoments(state: AlignmentState, side: ObservationSide, omega: Float64Array): SideMoments {
  const grid = state.grids[side.frame];
  const d = state.depth[side.frame];
  const f = state.focalPx[side.frame];
  const pts = side.points;
  const sumC = new Float64Array(3);
  const sumP = new Float64Array(3);
  const cc = new Float64Array(9);
  const pp = new Float64Array(9);
  const cp = new Float64Array(9);
  let weight = 0;
  for (let k = 0; k < omega.length; k++) {
    const w = omega[k];
    if (w === 0) continue;
    const c0 = (d[k] * grid.centred[2 * k]) / f;
    const c1 = (d[k] * grid.centred[2 * k + 1]) / f;
    const c2 = d[k];
    const p0 = pts[3 * k];
    const p1 = pts[3 * k + 1];
    const p2 = pts[3 * k + 2];
    weight += w;
    sumC[0] += w * c0;
    sumC[1] += w * c1;
    sumC[2] += w * c2;
    sumP[0] += w * p0;
    sumP[1] += w * p1;
    sumP[2] += w * p2;
    const wc0 = w * c0;
    const wc1 = w * c1;
    const wc2 = w * c2;
    const wp0 = w * p0;
    const wp1 = w * p1;
    const wp2 = w * p2;
    cc[0] += wc0 * c0; cc[1] += wc0 * c1; cc[2] += wc0 * c2; cc[4] += wc1 * c1; cc[5] += wc1 * c2; cc[8] += wc2 * c2;
    pp[0] += wp0 * p0; pp[1] += wp0 * p1; pp[2] += wp0 * p2; pp[4] += wp1 * p1; pp[5] += wp1 * p2; pp[8] += wp2 * p2;
    cp[0] += wc0 * p0; cp[1] += wc0 * p1; cp[2] += wc0 * p2;
    cp[3] += wc1 * p0; cp[4] += wc1 * p1; cp[5] += wc1 * p2;
    cp[6] += wc2 * p0; cp[7] += wc2 * p1; cp[8] += wc2 * p2;
  }
  for (const m of [cc, pp]) {
    m[3] = m[1];
    m[6] = m[2];
    m[7] = m[5];
  }
  return { weight, sumC, sumP, cc, pp, cp };
}
