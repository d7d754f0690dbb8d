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

/** One reweighting of the robust objective at the current state. */
export interface Reweighting {
  /** DUSt3R's loss (see alignmentLoss) at the state. */
  loss: number;
  /** Per side and sample: w / max(|r|, minResidual), the weights that majorise |r| by |r|²/(2|r₀|). */
  omegas: Float64Array[];
  /** Per side: the moments under those weights. */
  moments: SideMoments[];
}

/**
 * One pass over every sample of every side: residuals, DUSt3R's loss, the reweighted least-squares weights
 * and the sides' moments under them.
 */
export function reweightSides(state: AlignmentState, sides: readonly ObservationSide[], minResidual: number, reuse?: Reweighting): Reweighting {
  const sums = [0, 0];
  const areas = [0, 0];
  const omegas: Float64Array[] = [];
  const moments: SideMoments[] = [];
  for (let i = 0; i < sides.length; i++) {
    const side = sides[i];
    const n = side.frame;
    const grid = state.grids[n];
    const d = state.depth[n];
    const invF = 1 / state.focalPx[n];
    const centred = grid.centred;
    const weights = side.weights;
    const r = state.rotation[n];
    const t = state.translation[n];
    const s = state.edgeScale[side.edge];
    const re = state.edgeRotation[side.edge];
    const te = state.edgeTranslation[side.edge];
    const pts = side.points;
    const count = side.weights.length;
    const omega = reuse && reuse.omegas[i].length === count ? reuse.omegas[i].fill(0) : new Float64Array(count);
    const sumC = new Float64Array(3);
    const sumP = new Float64Array(3);
    const cc = new Float64Array(9);
    const pp = new Float64Array(9);
    const cp = new Float64Array(9);
    let weight = 0;
    let loss = 0;
    for (let k = 0; k < count; k++) {
      const w0 = weights[k];
      if (w0 === 0) continue;
      const c2 = d[k];
      const c0 = c2 * centred[2 * k] * invF;
      const c1 = c2 * centred[2 * k + 1] * invF;
      const p0 = pts[3 * k];
      const p1 = pts[3 * k + 1];
      const p2 = pts[3 * k + 2];
      const dx = r[0] * c0 + r[1] * c1 + r[2] * c2 + t[0] - (s * (re[0] * p0 + re[1] * p1 + re[2] * p2) + te[0]);
      const dy = r[3] * c0 + r[4] * c1 + r[5] * c2 + t[1] - (s * (re[3] * p0 + re[4] * p1 + re[5] * p2) + te[1]);
      const dz = r[6] * c0 + r[7] * c1 + r[8] * c2 + t[2] - (s * (re[6] * p0 + re[7] * p1 + re[8] * p2) + te[2]);
      const norm = Math.sqrt(dx * dx + dy * dy + dz * dz);
      loss += w0 * norm;
      const w = w0 / Math.max(norm, minResidual);
      omega[k] = w;
      weight += w;
      const wc0 = w * c0;
      const wc1 = w * c1;
      const wc2 = w * c2;
      const wp0 = w * p0;
      const wp1 = w * p1;
      const wp2 = w * p2;
      sumC[0] += wc0; sumC[1] += wc1; sumC[2] += wc2;
      sumP[0] += wp0; sumP[1] += wp1; sumP[2] += wp2;
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
    sums[i % 2] += loss;
    areas[i % 2] += count;
    omegas.push(omega);
    moments.push({ weight, sumC, sumP, cc, pp, cp });
  }
  const loss = (areas[0] ? sums[0] / areas[0] : 0) + (areas[1] ? sums[1] / areas[1] : 0);
  return { loss, omegas, moments };
}
