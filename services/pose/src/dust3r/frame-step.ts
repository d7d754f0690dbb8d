import { mat3Multiply, rotationFromVector, type Mat3 } from '../geometry';
import type { AlignmentState, ObservationSide } from './alignment-state';
import { solveEnvelopeCholesky } from './envelope-cholesky';

/** Where one frame's samples should be: the reweighted mean of every pair's aligned prediction. */
interface FrameTargets {
  weight: Float64Array;
  /** Weighted mean target per sample, world coordinates, packed xyz. */
  point: Float64Array;
}

function frameTargets(state: AlignmentState, frame: number, sides: readonly ObservationSide[], indices: readonly number[], omegas: readonly Float64Array[]): FrameTargets {
  const count = state.depth[frame].length;
  const weight = new Float64Array(count);
  const point = new Float64Array(3 * count);
  for (const i of indices) {
    const side = sides[i];
    const s = state.edgeScale[side.edge];
    const r = state.edgeRotation[side.edge];
    const t = state.edgeTranslation[side.edge];
    const p = side.points;
    const w = omegas[i];
    for (let k = 0; k < count; k++) {
      const wk = w[k];
      if (wk === 0) continue;
      const x = p[3 * k];
      const y = p[3 * k + 1];
      const z = p[3 * k + 2];
      weight[k] += wk;
      point[3 * k] += wk * (s * (r[0] * x + r[1] * y + r[2] * z) + t[0]);
      point[3 * k + 1] += wk * (s * (r[3] * x + r[4] * y + r[5] * z) + t[1]);
      point[3 * k + 2] += wk * (s * (r[6] * x + r[7] * y + r[8] * z) + t[2]);
    }
  }
  for (let k = 0; k < count; k++) {
    if (weight[k] > 0) for (let c = 0; c < 3; c++) point[3 * k + c] /= weight[k];
  }
  return { weight, point };
}

/**
 * Σ W |z − d r|² with the best depth per sample (clamped positive), where z = Rᵀ(Ȳ − t) and
 * r = (a/f, b/f, 1); also returns those depths and the camera-frame targets z (packed xyz).
 */
function projectedCost(targets: FrameTargets, centred: Float64Array, r: Mat3, t: Float64Array, f: number, minDepth: number) {
  const count = targets.weight.length;
  const depth = new Float64Array(count);
  const z = new Float64Array(3 * count);
  let cost = 0;
  for (let k = 0; k < count; k++) {
    const w = targets.weight[k];
    if (w === 0) continue;
    const dx = targets.point[3 * k] - t[0];
    const dy = targets.point[3 * k + 1] - t[1];
    const dz = targets.point[3 * k + 2] - t[2];
    const z0 = r[0] * dx + r[3] * dy + r[6] * dz;
    const z1 = r[1] * dx + r[4] * dy + r[7] * dz;
    const z2 = r[2] * dx + r[5] * dy + r[8] * dz;
    z[3 * k] = z0;
    z[3 * k + 1] = z1;
    z[3 * k + 2] = z2;
    const r0 = centred[2 * k] / f;
    const r1 = centred[2 * k + 1] / f;
    const d = Math.max((r0 * z0 + r1 * z1 + z2) / (r0 * r0 + r1 * r1 + 1), minDepth);
    depth[k] = d;
    cost += w * ((z0 - d * r0) ** 2 + (z1 - d * r1) ** 2 + (z2 - d) ** 2);
  }
  return { cost, depth, z };
}

export interface FrameStepOptions {
  /** Levenberg-Marquardt iterations per frame. */
  iterations: number;
  /** Smallest depth a sample may take (world units). */
  minDepth: number;
  /** Allowed focal range per frame (pixels at the model size). */
  focalRangePx: (frame: number) => readonly [number, number];
}

/**
 * One frame step with the pair similarities held: for each frame, its pose, focal and sample depths jointly
 * minimise the reweighted distance to the pairs' aligned predictions. The depths are eliminated in closed
 * form (variable projection: each sample's target is projected onto its pixel ray), leaving 7 unknowns per
 * frame (rotation, translation, log focal) solved by Levenberg-Marquardt; the depths follow. Returns the
 * summed reweighted cost.
 */
export function frameStep(state: AlignmentState, sides: readonly ObservationSide[], omegas: readonly Float64Array[], options: FrameStepOptions): number {
  const byFrame = state.grids.map(() => [] as number[]);
  sides.forEach((side, i) => byFrame[side.frame].push(i));
  let total = 0;
  const h = new Float64Array(49);
  const g = new Float64Array(7);
  const jac = new Float64Array(21);
  const cols = new Float64Array(21);
  for (let n = 0; n < state.grids.length; n++) {
    const targets = frameTargets(state, n, sides, byFrame[n], omegas);
    const centred = state.grids[n].centred;
    const [fMin, fMax] = options.focalRangePx(n);
    let r = state.rotation[n];
    let t = state.translation[n];
    let f = state.focalPx[n];
    let current = projectedCost(targets, centred, r, t, f, options.minDepth);
    let lambda = 1e-3;
    for (let iter = 0; iter < options.iterations; iter++) {
      h.fill(0);
      g.fill(0);
      for (let k = 0; k < targets.weight.length; k++) {
        const w = targets.weight[k];
        if (w === 0) continue;
        const z0 = current.z[3 * k];
        const z1 = current.z[3 * k + 1];
        const z2 = current.z[3 * k + 2];
        const q0 = centred[2 * k] / f;
        const q1 = centred[2 * k + 1] / f;
        const rr = q0 * q0 + q1 * q1 + 1;
        const d = current.depth[k];
        const e0 = z0 - d * q0;
        const e1 = z1 - d * q1;
        const e2 = z2 - d;
        // Columns before projection: ∂z/∂ω = [z]ₓ, ∂z/∂t = −I (camera frame), focal: d (r_x, r_y, 0).
        cols[0] = 0; cols[1] = z2; cols[2] = -z1;
        cols[3] = -z2; cols[4] = 0; cols[5] = z0;
        cols[6] = z1; cols[7] = -z0; cols[8] = 0;
        cols[9] = -1; cols[10] = 0; cols[11] = 0;
        cols[12] = 0; cols[13] = -1; cols[14] = 0;
        cols[15] = 0; cols[16] = 0; cols[17] = -1;
        cols[18] = d * q0; cols[19] = d * q1; cols[20] = 0;
        for (let c = 0; c < 7; c++) {
          const v0 = cols[c * 3];
          const v1 = cols[c * 3 + 1];
          const v2 = cols[c * 3 + 2];
          const dot = (q0 * v0 + q1 * v1 + v2) / rr;
          const j0 = v0 - dot * q0;
          const j1 = v1 - dot * q1;
          const j2 = v2 - dot;
          jac[c * 3] = j0;
          jac[c * 3 + 1] = j1;
          jac[c * 3 + 2] = j2;
          g[c] += w * (j0 * e0 + j1 * e1 + j2 * e2);
        }
        for (let a = 0; a < 7; a++) {
          const a0 = w * jac[a * 3];
          const a1 = w * jac[a * 3 + 1];
          const a2 = w * jac[a * 3 + 2];
          for (let b = a; b < 7; b++) h[a * 7 + b] += a0 * jac[b * 3] + a1 * jac[b * 3 + 1] + a2 * jac[b * 3 + 2];
        }
      }
      for (let a = 0; a < 7; a++) for (let b = 0; b < a; b++) h[a * 7 + b] = h[b * 7 + a];
      let improved = false;
      for (let attempt = 0; attempt < 6 && !improved; attempt++) {
        const m = Float64Array.from(h);
        for (let a = 0; a < 7; a++) m[a * 7 + a] += lambda * h[a * 7 + a] + 1e-12;
        const step = solveEnvelopeCholesky(m, g.map((v) => -v), 7);
        if (!step) {
          lambda *= 10;
          continue;
        }
        const nr = mat3Multiply(r, rotationFromVector([step[0], step[1], step[2]]));
        const nt = Float64Array.of(
          t[0] + r[0] * step[3] + r[1] * step[4] + r[2] * step[5],
          t[1] + r[3] * step[3] + r[4] * step[4] + r[5] * step[5],
          t[2] + r[6] * step[3] + r[7] * step[4] + r[8] * step[5],
        );
        const nf = Math.min(Math.max(f * Math.exp(step[6]), fMin), fMax);
        const next = projectedCost(targets, centred, nr, nt, nf, options.minDepth);
        if (next.cost < current.cost) {
          r = nr;
          t = nt;
          f = nf;
          current = next;
          lambda = Math.max(lambda / 4, 1e-9);
          improved = true;
        } else {
          lambda *= 10;
        }
      }
      if (!improved) break;
    }
    state.rotation[n] = r;
    state.translation[n] = t;
    state.focalPx[n] = f;
    const depth = state.depth[n];
    for (let k = 0; k < depth.length; k++) if (targets.weight[k] > 0) depth[k] = current.depth[k];
    total += current.cost;
  }
  return total;
}
