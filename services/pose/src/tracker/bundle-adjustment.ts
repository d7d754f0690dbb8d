import { choleskyFactor, choleskySolve, invertSymmetric3 } from '../geometry/cholesky';
import { mat3Multiply } from '../geometry/mat3';
import { rotationFromVector } from '../geometry/rotation';
import { clonePose, type CameraPose, type RadialIntrinsics } from './camera-model';
import { huberCost, huberWeight, linearizeObservation } from './reprojection';
import { withDefaults } from '../options';

/**
 * Observations of points in cameras, and the state bundle adjustment refines in place: one shared
 * set of intrinsics, world-to-camera poses, packed xyz points.
 */
export interface BundleProblem {
  intrinsics: RadialIntrinsics;
  poses: CameraPose[];
  points: Float64Array;
  obsCamera: Int32Array;
  obsPoint: Int32Array;
  /** Observed pixel positions, packed uv. */
  obsPixel: Float64Array;
  /** 1 for cameras whose pose is held fixed (at least one, for the gauge). */
  fixedCameras: Uint8Array;
}

export interface BundleOptions {
  /** Most Levenberg–Marquardt iterations. */
  maxIterations?: number;
  /** Huber loss threshold on the reprojection error (pixels). */
  huberPx?: number;
  /** Refine the shared focal length. */
  refineFocal?: boolean;
  /** Refine the shared radial distortion k1. */
  refineDistortion?: boolean;
  /** Stop when an accepted step lowers the cost by less than this fraction. */
  relativeTolerance?: number;
}

export const BUNDLE_DEFAULTS: Required<BundleOptions> = {
  maxIterations: 30,
  huberPx: 2,
  refineFocal: true,
  refineDistortion: false,
  relativeTolerance: 1e-6,
};

export interface BundleReport {
  initialCost: number;
  finalCost: number;
  iterations: number;
  /** Root-mean-square reprojection error after the last accepted step (pixels). */
  rmsPx: number;
}

interface State {
  intrinsics: RadialIntrinsics;
  poses: CameraPose[];
  points: Float64Array;
}

/** Robust cost and squared-error sum of a state. */
/** Index layout and per-iteration buffers shared by the Schur elimination and back-substitution. */
interface Workspace {
  problem: BundleProblem;
  /** Observation indices sorted by point, and each point's range in that order. */
  order: number[];
  ptStart: Int32Array;
  /** Block of each camera in the reduced system (−1 when fixed). */
  camBlock: Int32Array;
  /** Intrinsics refined (0–2) and their offset in the reduced system. */
  nk: number;
  kOff: number;
  dim: number;
  Jc: Float64Array;
  Jp: Float64Array;
  wts: Float64Array;
  Vinv: Float64Array;
  Wk: Float64Array;
  gp: Float64Array;
}

function evaluate(problem: BundleProblem, state: State, delta: number): { cost: number; sumSq: number } {
  const { focalPx: f, cxPx: cx, cyPx: cy, k1 } = state.intrinsics;
  let cost = 0;
  let sumSq = 0;
  for (let o = 0; o < problem.obsCamera.length; o++) {
    const pose = state.poses[problem.obsCamera[o]];
    const r = pose.rotation;
    const t = pose.translation;
    const j = 3 * problem.obsPoint[o];
    const X = state.points[j];
    const Y = state.points[j + 1];
    const Z = state.points[j + 2];
    const pz = r[6] * X + r[7] * Y + r[8] * Z + t[2];
    let sq: number;
    if (pz > 1e-9) {
      const xn = (r[0] * X + r[1] * Y + r[2] * Z + t[0]) / pz;
      const yn = (r[3] * X + r[4] * Y + r[5] * Z + t[1]) / pz;
      const d = 1 + k1 * (xn * xn + yn * yn);
      const ex = f * d * xn + cx - problem.obsPixel[2 * o];
      const ey = f * d * yn + cy - problem.obsPixel[2 * o + 1];
      sq = ex * ex + ey * ey;
    } else {
      sq = 1e6;
    }
    sumSq += sq;
    cost += huberCost(sq, delta);
  }
  return { cost, sumSq };
}

/**
 * Sparse bundle adjustment by Levenberg–Marquardt: the point blocks are eliminated (Schur complement),
 * the reduced camera system (6 a free camera plus the shared intrinsics) is solved densely by Cholesky,
 * and points are recovered by back-substitution. Huber-robust. Refines `problem` in place.
 */
export function bundleAdjust(problem: BundleProblem, options: BundleOptions = {}): BundleReport {
  const o = withDefaults(BUNDLE_DEFAULTS, options);
  const nCams = problem.poses.length;
  const nPts = problem.points.length / 3;
  const nObs = problem.obsCamera.length;
  const camBlock = new Int32Array(nCams).fill(-1);
  let nFree = 0;
  for (let c = 0; c < nCams; c++) if (!problem.fixedCameras[c]) camBlock[c] = nFree++;
  const nk = (o.refineFocal ? 1 : 0) + (o.refineDistortion ? 1 : 0);
  const dim = 6 * nFree + nk;
  const kOff = 6 * nFree;

  // Observations grouped by point.
  const order = Array.from({ length: nObs }, (_, i) => i).sort((a, b) => problem.obsPoint[a] - problem.obsPoint[b]);
  const ptStart = new Int32Array(nPts + 1);
  for (let i = 0; i < nObs; i++) ptStart[problem.obsPoint[i] + 1]++;
  for (let j = 0; j < nPts; j++) ptStart[j + 1] += ptStart[j];

  const state: State = { intrinsics: { ...problem.intrinsics }, poses: problem.poses.map(clonePose), points: Float64Array.from(problem.points) };
  let { cost, sumSq } = evaluate(problem, state, o.huberPx);
  const initialCost = cost;
  let lambda = 1e-4;
  let iterations = 0;

  const H = new Float64Array(dim * dim);
  const g = new Float64Array(dim);
  const Jc = new Float64Array(nObs * 12);
  const Jp = new Float64Array(nObs * 6);
  const Jk = new Float64Array(nObs * 2 * Math.max(nk, 1));
  const res = new Float64Array(nObs * 2);
  const wts = new Float64Array(nObs);
  const V = new Float64Array(nPts * 9);
  const gp = new Float64Array(nPts * 3);
  const Vinv = new Float64Array(nPts * 9);
  const Wk = new Float64Array(nPts * 3 * Math.max(nk, 1));
  const S = new Float64Array(dim * dim);
  const rhs = new Float64Array(dim);
  const Y = new Float64Array(18);
  const Yk = new Float64Array(3 * 2);
  const vd = new Float64Array(9);
  const ws: Workspace = { problem, order, ptStart, camBlock, nk, kOff, dim, Jc, Jp, wts, Vinv, Wk, gp };

  for (; iterations < o.maxIterations && dim > 0; iterations++) {
    linearize(problem, state, o, nk, Jc, Jp, Jk, res, wts);
    // Accumulate the normal equations.
    H.fill(0);
    g.fill(0);
    V.fill(0);
    gp.fill(0);
    Wk.fill(0);
    for (let ob = 0; ob < nObs; ob++) {
      const c = camBlock[problem.obsCamera[ob]];
      const j = problem.obsPoint[ob];
      const w = wts[ob];
      const r0 = res[2 * ob];
      const r1 = res[2 * ob + 1];
      const jc = ob * 12;
      const jp = ob * 6;
      const jk = ob * 2 * nk;
      for (let a = 0; a < 3; a++) {
        const pa0 = Jp[jp + a];
        const pa1 = Jp[jp + 3 + a];
        gp[3 * j + a] += w * (pa0 * r0 + pa1 * r1);
        for (let b = 0; b < 3; b++) V[9 * j + 3 * a + b] += w * (pa0 * Jp[jp + b] + pa1 * Jp[jp + 3 + b]);
      }
      for (let a = 0; a < nk; a++) {
        const ka0 = Jk[jk + a];
        const ka1 = Jk[jk + nk + a];
        g[kOff + a] += w * (ka0 * r0 + ka1 * r1);
        for (let b = 0; b < nk; b++) H[(kOff + a) * dim + kOff + b] += w * (ka0 * Jk[jk + b] + ka1 * Jk[jk + nk + b]);
        for (let b = 0; b < 3; b++) Wk[(j * nk + a) * 3 + b] += w * (ka0 * Jp[jp + b] + ka1 * Jp[jp + 3 + b]);
      }
      if (c < 0) continue;
      const base = 6 * c;
      for (let a = 0; a < 6; a++) {
        const ca0 = Jc[jc + a];
        const ca1 = Jc[jc + 6 + a];
        g[base + a] += w * (ca0 * r0 + ca1 * r1);
        const row = (base + a) * dim;
        for (let b = 0; b < 6; b++) H[row + base + b] += w * (ca0 * Jc[jc + b] + ca1 * Jc[jc + 6 + b]);
        for (let b = 0; b < nk; b++) {
          const v = w * (ca0 * Jk[jk + b] + ca1 * Jk[jk + nk + b]);
          H[row + kOff + b] += v;
          H[(kOff + b) * dim + base + a] += v;
        }
      }
    }

    // Try steps with growing damping until one lowers the cost.
    let accepted = false;
    for (let attempt = 0; attempt < 10 && !accepted; attempt++) {
      S.set(H);
      for (let d = 0; d < dim; d++) S[d * dim + d] += lambda * Math.max(H[d * dim + d], 1e-9) + 1e-12;
      rhs.set(g);
      let ok = true;
      for (let j = 0; j < nPts && ok; j++) {
        for (let d = 0; d < 9; d++) vd[d] = V[9 * j + d];
        for (let d = 0; d < 3; d++) vd[4 * d] += lambda * Math.max(V[9 * j + 4 * d], 1e-9) + 1e-12;
        if (!invertSymmetric3(vd, Vinv.subarray(9 * j, 9 * j + 9))) ok = false;
        schurPoint(ws, j, S, rhs, Y, Yk);
      }
      if (!ok || !choleskyFactor(S, dim)) {
        lambda *= 10;
        continue;
      }
      const step = choleskySolve(S, dim, rhs.map((x) => -x));
      const trial = applyStep(ws, state, step, o);
      const next = evaluate(problem, trial, o.huberPx);
      if (next.cost < cost) {
        const gain = (cost - next.cost) / Math.max(cost, 1e-300);
        state.intrinsics = trial.intrinsics;
        state.poses = trial.poses;
        state.points = trial.points;
        cost = next.cost;
        sumSq = next.sumSq;
        lambda = Math.max(lambda / 5, 1e-9);
        accepted = true;
        if (gain < o.relativeTolerance) iterations = o.maxIterations;
      } else {
        lambda *= 8;
      }
    }
    if (!accepted) break;
  }

  problem.intrinsics.focalPx = state.intrinsics.focalPx;
  problem.intrinsics.k1 = state.intrinsics.k1;
  problem.poses.forEach((p, i) => {
    p.rotation.set(state.poses[i].rotation);
    p.translation.set(state.poses[i].translation);
  });
  problem.points.set(state.points);
  return { initialCost, finalCost: cost, iterations, rmsPx: nObs > 0 ? Math.sqrt(sumSq / nObs) : 0 };
}

/** Residuals, Huber weights and Jacobians of every observation at the current state. */
function linearize(
  problem: BundleProblem,
  state: State,
  o: Required<BundleOptions>,
  nk: number,
  Jc: Float64Array,
  Jp: Float64Array,
  Jk: Float64Array,
  res: Float64Array,
  wts: Float64Array,
): void {
  const { focalPx: f, k1 } = state.intrinsics;
  for (let ob = 0; ob < problem.obsCamera.length; ob++) {
    const j = 3 * problem.obsPoint[ob];
    const pose = state.poses[problem.obsCamera[ob]];
    linearizeObservation(state.intrinsics, pose, state.points, j, problem.obsPixel[2 * ob], problem.obsPixel[2 * ob + 1], res, 2 * ob, Jc, ob * 12, Jp, ob * 6);
    wts[ob] = huberWeight(res[2 * ob], res[2 * ob + 1], o.huberPx);
    // Intrinsics: du/df = d·xn, du/dk1 = f·r²·xn (xn, yn recovered from the residual's projection).
    const R = pose.rotation;
    const t = pose.translation;
    const pz = Math.max(R[6] * state.points[j] + R[7] * state.points[j + 1] + R[8] * state.points[j + 2] + t[2], 1e-9);
    const xn = (R[0] * state.points[j] + R[1] * state.points[j + 1] + R[2] * state.points[j + 2] + t[0]) / pz;
    const yn = (R[3] * state.points[j] + R[4] * state.points[j + 1] + R[5] * state.points[j + 2] + t[1]) / pz;
    const r2 = xn * xn + yn * yn;
    const d = 1 + k1 * r2;
    const k = ob * 2 * nk;
    let col = 0;
    if (o.refineFocal) {
      Jk[k + col] = d * xn;
      Jk[k + nk + col] = d * yn;
      col++;
    }
    if (o.refineDistortion) {
      Jk[k + col] = f * r2 * xn;
      Jk[k + nk + col] = f * r2 * yn;
    }
  }
}

/** Subtracts point j's contribution W V⁻¹ Wᵀ from the reduced system and W V⁻¹ g_p from its right side. */
function schurPoint(
  ws: Workspace,
  j: number,
  S: Float64Array,
  rhs: Float64Array,
  Y: Float64Array,
  Yk: Float64Array,
): void {
  const { problem, order, ptStart, camBlock, nk, kOff, dim, Jc, Jp, wts, Vinv, Wk, gp } = ws;
  const vi = 9 * j;
  const wkBase = j * nk * 3;
  // Yk = Wk V⁻¹ (nk x 3).
  for (let a = 0; a < nk; a++) {
    for (let b = 0; b < 3; b++) {
      let s = 0;
      for (let m = 0; m < 3; m++) s += Wk[wkBase + a * 3 + m] * Vinv[vi + m * 3 + b];
      Yk[a * 3 + b] = s;
    }
    let s = 0;
    for (let m = 0; m < 3; m++) s += Yk[a * 3 + m] * gp[3 * j + m];
    rhs[kOff + a] -= s;
    for (let b = 0; b < nk; b++) {
      let t = 0;
      for (let m = 0; m < 3; m++) t += Yk[a * 3 + m] * Wk[wkBase + b * 3 + m];
      S[(kOff + a) * dim + kOff + b] -= t;
    }
  }
  for (let ia = ptStart[j]; ia < ptStart[j + 1]; ia++) {
    const oa = order[ia];
    const ca = camBlock[problem.obsCamera[oa]];
    if (ca < 0) continue;
    cameraPointBlock(Jc, Jp, wts[oa], oa, Vinv, vi, Y);
    // Y now holds W_a V⁻¹ (6x3) for observation a.
    const baseA = 6 * ca;
    for (let a = 0; a < 6; a++) {
      let s = 0;
      for (let m = 0; m < 3; m++) s += Y[a * 3 + m] * gp[3 * j + m];
      rhs[baseA + a] -= s;
      for (let b = 0; b < nk; b++) {
        let t = 0;
        for (let m = 0; m < 3; m++) t += Y[a * 3 + m] * Wk[wkBase + b * 3 + m];
        S[(baseA + a) * dim + kOff + b] -= t;
        S[(kOff + b) * dim + baseA + a] -= t;
      }
    }
    for (let ib = ptStart[j]; ib < ptStart[j + 1]; ib++) {
      const ob = order[ib];
      const cb = camBlock[problem.obsCamera[ob]];
      if (cb < 0) continue;
      const wb = wts[ob];
      const baseB = 6 * cb;
      const pb = ob * 6;
      const jcb = ob * 12;
      // W_b = w_b Jc_bᵀ Jp_b (6x3); S[a,b] −= Y W_bᵀ.
      for (let a = 0; a < 6; a++) {
        const y0 = Y[a * 3];
        const y1 = Y[a * 3 + 1];
        const y2 = Y[a * 3 + 2];
        const t0 = y0 * Jp[pb] + y1 * Jp[pb + 1] + y2 * Jp[pb + 2];
        const t1 = y0 * Jp[pb + 3] + y1 * Jp[pb + 4] + y2 * Jp[pb + 5];
        const row = (baseA + a) * dim + baseB;
        for (let b = 0; b < 6; b++) S[row + b] -= wb * (t0 * Jc[jcb + b] + t1 * Jc[jcb + 6 + b]);
      }
    }
  }
}

/** Y = (w Jcᵀ Jp) V⁻¹ for one observation (6x3). */
function cameraPointBlock(Jc: Float64Array, Jp: Float64Array, w: number, ob: number, Vinv: Float64Array, vi: number, Y: Float64Array): void {
  const c = ob * 12;
  const p = ob * 6;
  for (let a = 0; a < 6; a++) {
    const w0 = w * (Jc[c + a] * Jp[p] + Jc[c + 6 + a] * Jp[p + 3]);
    const w1 = w * (Jc[c + a] * Jp[p + 1] + Jc[c + 6 + a] * Jp[p + 4]);
    const w2 = w * (Jc[c + a] * Jp[p + 2] + Jc[c + 6 + a] * Jp[p + 5]);
    for (let b = 0; b < 3; b++) Y[a * 3 + b] = w0 * Vinv[vi + b] + w1 * Vinv[vi + 3 + b] + w2 * Vinv[vi + 6 + b];
  }
}

/** The state after a reduced-system step: cameras and intrinsics from `step`, points by back-substitution. */
function applyStep(ws: Workspace, state: State, step: Float64Array, o: Required<BundleOptions>): State {
  const { problem, order, ptStart, camBlock, nk, kOff, Jc, Jp, wts, Vinv, Wk, gp } = ws;
  const poses = state.poses.map((pose, c) => {
    const b = camBlock[c];
    if (b < 0) return pose;
    const rotation = mat3Multiply(rotationFromVector([step[6 * b], step[6 * b + 1], step[6 * b + 2]]), pose.rotation);
    const t = pose.translation;
    return { rotation, translation: Float64Array.of(t[0] + step[6 * b + 3], t[1] + step[6 * b + 4], t[2] + step[6 * b + 5]) };
  });
  const intrinsics = { ...state.intrinsics };
  let col = 0;
  if (o.refineFocal) intrinsics.focalPx += step[kOff + col++];
  if (o.refineDistortion) intrinsics.k1 += step[kOff + col];
  const points = Float64Array.from(state.points);
  const nPts = points.length / 3;
  const u = new Float64Array(3);
  for (let j = 0; j < nPts; j++) {
    // δp = −V⁻¹ (g_p + Σ W_aᵀ δc_a + Wkᵀ δk).
    u[0] = gp[3 * j];
    u[1] = gp[3 * j + 1];
    u[2] = gp[3 * j + 2];
    for (let a = 0; a < nk; a++) for (let m = 0; m < 3; m++) u[m] += Wk[(j * nk + a) * 3 + m] * step[kOff + a];
    for (let ia = ptStart[j]; ia < ptStart[j + 1]; ia++) {
      const ob = order[ia];
      const cb = camBlock[problem.obsCamera[ob]];
      if (cb < 0) continue;
      const w = wts[ob];
      const c = ob * 12;
      const p = ob * 6;
      let jc0 = 0;
      let jc1 = 0;
      for (let b = 0; b < 6; b++) {
        jc0 += Jc[c + b] * step[6 * cb + b];
        jc1 += Jc[c + 6 + b] * step[6 * cb + b];
      }
      for (let m = 0; m < 3; m++) u[m] += w * (Jp[p + m] * jc0 + Jp[p + 3 + m] * jc1);
    }
    const vi = 9 * j;
    for (let m = 0; m < 3; m++) {
      points[3 * j + m] -= Vinv[vi + 3 * m] * u[0] + Vinv[vi + 3 * m + 1] * u[1] + Vinv[vi + 3 * m + 2] * u[2];
    }
  }
  return { intrinsics, poses, points };
}
