import { quatFromRotation, type Mat3 } from '../geometry';
import { alignmentLoss, cloneState, observationSides, type AlignmentState } from './alignment-state';

/**
 * DUSt3R's own refinement, for comparison: Adam (betas 0.9, 0.9) with a cosine learning-rate schedule over
 * DUSt3R's parametrisation — log depths, unit-normalised quaternions (x, y, z, w), translations through
 * signed expm1, focals as 20·log f, pair similarities scaled to a geometric mean of `baseScale` — on the same
 * sampled objective as `alignGlobally`. Not used by the service; tests and benchmarks compare against it.
 */
export interface AdamReferenceOptions {
  iterations?: number;
  lr?: number;
  lrMin?: number;
  baseScale?: number;
}

export const ADAM_REFERENCE_DEFAULTS: Required<AdamReferenceOptions> = { iterations: 300, lr: 0.01, lrMin: 1e-6, baseScale: 0.5 };

const FOCAL_BREAK = 20;
const signedExpm1 = (x: number): number => Math.sign(x) * Math.expm1(Math.abs(x));
const signedLog1p = (x: number): number => Math.sign(x) * Math.log1p(Math.abs(x));

function rotationOfQuat(q: ArrayLike<number>, o: number): { r: Float64Array; unit: number[]; norm: number } {
  const norm = Math.hypot(q[o], q[o + 1], q[o + 2], q[o + 3]);
  const [x, y, z, w] = [q[o] / norm, q[o + 1] / norm, q[o + 2] / norm, q[o + 3] / norm];
  const r = Float64Array.of(
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  );
  return { r, unit: [x, y, z, w], norm };
}

/** dL/dq from dL/dR (row-major) through R(q/|q|). */
function quatGradient(g: Float64Array, unit: number[], norm: number): number[] {
  const [x, y, z, w] = unit;
  // ∂R_ij/∂(x, y, z, w) of the unit-quaternion rotation, row-major.
  const d = [
    [0, -4 * y, -4 * z, 0], [2 * y, 2 * x, -2 * w, -2 * z], [2 * z, 2 * w, 2 * x, 2 * y],
    [2 * y, 2 * x, 2 * w, 2 * z], [-4 * x, 0, -4 * z, 0], [-2 * w, 2 * z, 2 * y, -2 * x],
    [2 * z, -2 * w, 2 * x, -2 * y], [2 * w, 2 * z, 2 * y, 2 * x], [-4 * x, -4 * y, 0, 0],
  ];
  const gu = [0, 0, 0, 0];
  for (let ij = 0; ij < 9; ij++) for (let k = 0; k < 4; k++) gu[k] += g[ij] * d[ij][k];
  const dot = gu[0] * x + gu[1] * y + gu[2] * z + gu[3] * w;
  return gu.map((v, k) => (v - dot * unit[k]) / norm);
}

function quatOf(r: Mat3): number[] {
  const [w, x, y, z] = quatFromRotation(r);
  return [x, y, z, w];
}

/** DUSt3R's parametrisation of an alignment state and its loss with the analytic gradient. */
export interface Dust3rObjective {
  /** Parameters of the start state. */
  x0: Float64Array;
  /** Loss at x; writes dLoss/dx into `grad`. */
  evaluate(x: Float64Array, grad: Float64Array): number;
  /** The alignment state of parameters x. */
  toState(x: Float64Array): AlignmentState;
}

export function dust3rObjective(start: AlignmentState, baseScale = ADAM_REFERENCE_DEFAULTS.baseScale): Dust3rObjective {
  const frames = start.grids.length;
  const edges = start.observations.length;
  const sides = observationSides(start.observations);
  // Parameter layout: frames [q 4, τ 3, φ 1, log d …] then pairs [q 4, τ 3, σ 1].
  const frameOffset: number[] = [];
  let size = 0;
  for (let n = 0; n < frames; n++) {
    frameOffset.push(size);
    size += 8 + start.depth[n].length;
  }
  const edgeOffset = size;
  size += 8 * edges;
  const x0 = new Float64Array(size);
  for (let n = 0; n < frames; n++) {
    const b = frameOffset[n];
    x0.set(quatOf(start.rotation[n]), b);
    for (let k = 0; k < 3; k++) x0[b + 4 + k] = signedLog1p(start.translation[n][k]);
    x0[b + 7] = FOCAL_BREAK * Math.log(start.focalPx[n]);
    start.depth[n].forEach((d, p) => (x0[b + 8 + p] = Math.log(d)));
  }
  let logMean = 0;
  for (const s of start.edgeScale) logMean += Math.log(s) / edges;
  for (let e = 0; e < edges; e++) {
    const b = edgeOffset + 8 * e;
    const s = start.edgeScale[e];
    x0.set(quatOf(start.edgeRotation[e]), b);
    for (let k = 0; k < 3; k++) x0[b + 4 + k] = signedLog1p(start.edgeTranslation[e][k] / s);
    x0[b + 7] = Math.log(s) - logMean;
  }

  const state = cloneState(start);
  let x: Float64Array = new Float64Array(0);
  const unpack = (): { units: Array<{ unit: number[]; norm: number }>; edgeUnits: Array<{ unit: number[]; norm: number }>; sigmaMean: number } => {
    const units = [];
    for (let n = 0; n < frames; n++) {
      const b = frameOffset[n];
      const q = rotationOfQuat(x, b);
      state.rotation[n] = q.r;
      state.translation[n] = Float64Array.of(signedExpm1(x[b + 4]), signedExpm1(x[b + 5]), signedExpm1(x[b + 6]));
      state.focalPx[n] = Math.exp(x[b + 7] / FOCAL_BREAK);
      const d = state.depth[n];
      for (let p = 0; p < d.length; p++) d[p] = Math.exp(x[b + 8 + p]);
      units.push(q);
    }
    let sigmaMean = 0;
    for (let e = 0; e < edges; e++) sigmaMean += x[edgeOffset + 8 * e + 7] / edges;
    const edgeUnits = [];
    for (let e = 0; e < edges; e++) {
      const b = edgeOffset + 8 * e;
      const q = rotationOfQuat(x, b);
      const s = baseScale * Math.exp(x[b + 7] - sigmaMean);
      state.edgeRotation[e] = q.r;
      state.edgeScale[e] = s;
      state.edgeTranslation[e] = Float64Array.of(s * signedExpm1(x[b + 4]), s * signedExpm1(x[b + 5]), s * signedExpm1(x[b + 6]));
      edgeUnits.push(q);
    }
    return { units, edgeUnits, sigmaMean };
  };

  const area = [0, 0];
  sides.forEach((side, i) => (area[i % 2] += side.weights.length));
  const evaluate = (params: Float64Array, grad: Float64Array): number => {
    x = params;
    const { units, edgeUnits } = unpack();
    grad.fill(0);
    let loss = 0;
    const gWorld = state.grids.map((g) => new Float64Array(3 * g.pixelIndex.length));
    const gRe = Array.from({ length: edges }, () => new Float64Array(9));
    const gTe = Array.from({ length: edges }, () => new Float64Array(3));
    const gS = new Float64Array(edges);
    const world = state.grids.map((grid, n) => {
      const r = state.rotation[n];
      const t = state.translation[n];
      const f = state.focalPx[n];
      const d = state.depth[n];
      const out = new Float64Array(3 * d.length);
      for (let p = 0; p < d.length; p++) {
        const c = [(d[p] * grid.centred[2 * p]) / f, (d[p] * grid.centred[2 * p + 1]) / f, d[p]];
        for (let k = 0; k < 3; k++) out[3 * p + k] = r[3 * k] * c[0] + r[3 * k + 1] * c[1] + r[3 * k + 2] * c[2] + t[k];
      }
      return out;
    });
    sides.forEach((side, i) => {
      const e = side.edge;
      const s = state.edgeScale[e];
      const re = state.edgeRotation[e];
      const tRaw = [0, 1, 2].map((k) => state.edgeTranslation[e][k] / s);
      const X = world[side.frame];
      const gX = gWorld[side.frame];
      const inv = 1 / area[i % 2];
      for (let p = 0; p < side.weights.length; p++) {
        const w = side.weights[p];
        if (w === 0) continue;
        const P = [side.points[3 * p], side.points[3 * p + 1], side.points[3 * p + 2]];
        const u = [0, 1, 2].map((k) => re[3 * k] * P[0] + re[3 * k + 1] * P[1] + re[3 * k + 2] * P[2] + tRaw[k]);
        const r = [X[3 * p] - s * u[0], X[3 * p + 1] - s * u[1], X[3 * p + 2] - s * u[2]];
        const norm = Math.hypot(r[0], r[1], r[2]);
        if (norm === 0) continue;
        loss += w * inv * norm;
        const g = r.map((c) => (w * inv * c) / norm);
        for (let k = 0; k < 3; k++) {
          gX[3 * p + k] += g[k];
          gTe[e][k] -= s * g[k];
          for (let j = 0; j < 3; j++) gRe[e][3 * k + j] -= s * g[k] * P[j];
        }
        gS[e] -= g[0] * u[0] + g[1] * u[1] + g[2] * u[2];
      }
    });
    for (let n = 0; n < frames; n++) {
      const b = frameOffset[n];
      const grid = state.grids[n];
      const r = state.rotation[n];
      const f = state.focalPx[n];
      const d = state.depth[n];
      const gX = gWorld[n];
      const gR = new Float64Array(9);
      let gf = 0;
      for (let p = 0; p < d.length; p++) {
        const ray = [grid.centred[2 * p] / f, grid.centred[2 * p + 1] / f, 1];
        const g = [gX[3 * p], gX[3 * p + 1], gX[3 * p + 2]];
        const gc = [0, 1, 2].map((k) => r[k] * g[0] + r[3 + k] * g[1] + r[6 + k] * g[2]);
        for (let k = 0; k < 3; k++) {
          grad[b + 4 + k] += g[k];
          for (let j = 0; j < 3; j++) gR[3 * k + j] += g[k] * d[p] * ray[j];
        }
        grad[b + 8 + p] = (gc[0] * ray[0] + gc[1] * ray[1] + gc[2]) * d[p];
        gf += -(gc[0] * ray[0] + gc[1] * ray[1]) * (d[p] / f);
      }
      for (let k = 0; k < 3; k++) grad[b + 4 + k] *= Math.exp(Math.abs(x[b + 4 + k]));
      grad[b + 7] = (gf * f) / FOCAL_BREAK;
      quatGradient(gR, units[n].unit, units[n].norm).forEach((gq, k) => (grad[b + k] = gq));
    }
    let gSMean = 0;
    for (let e = 0; e < edges; e++) gSMean += (gS[e] * state.edgeScale[e]) / edges;
    for (let e = 0; e < edges; e++) {
      const b = edgeOffset + 8 * e;
      for (let k = 0; k < 3; k++) grad[b + 4 + k] = gTe[e][k] * Math.exp(Math.abs(x[b + 4 + k]));
      grad[b + 7] = gS[e] * state.edgeScale[e] - gSMean;
      quatGradient(gRe[e], edgeUnits[e].unit, edgeUnits[e].norm).forEach((gq, k) => (grad[b + k] = gq));
    }
    return loss;
  };
  const toState = (params: Float64Array): AlignmentState => {
    x = params;
    unpack();
    return cloneState(state);
  };
  return { x0, evaluate, toState };
}

/** Runs DUSt3R's Adam refinement from `start` (e.g. the spanning-tree initialisation); returns the result and its loss. */
export function refineWithAdam(start: AlignmentState, options: AdamReferenceOptions = {}): { state: AlignmentState; loss: number } {
  const o = { ...ADAM_REFERENCE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const objective = dust3rObjective(start, o.baseScale);
  const x = Float64Array.from(objective.x0);
  const size = x.length;
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  for (let it = 0; it < o.iterations; it++) {
    objective.evaluate(x, grad);
    const lr = o.lrMin + ((o.lr - o.lrMin) * (1 + Math.cos((Math.PI * it) / o.iterations))) / 2;
    const bias = 1 - 0.9 ** (it + 1);
    for (let i = 0; i < size; i++) {
      m[i] = 0.9 * m[i] + 0.1 * grad[i];
      v[i] = 0.9 * v[i] + 0.1 * grad[i] * grad[i];
      x[i] -= (lr * (m[i] / bias)) / (Math.sqrt(v[i] / bias) + 1e-8);
    }
  }
  const state = objective.toState(x);
  return { state, loss: alignmentLoss(state, observationSides(state.observations)) };
}

