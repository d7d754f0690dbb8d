import { mat3Multiply, mat3MulVec, mat3Transpose, type Mat3, type Vec3 } from '../geometry';
import type { PairObservation, SampleGrid } from './pair-observations';

/**
 * The unknowns of DUSt3R's global alignment on the sample grids: per frame a camera-to-world pose (OpenCV
 * axes), a focal length (pixels at the model's size, principal point at the image centre) and a depth per
 * sample; per pair a similarity (scale, rotation, translation) that carries its pointmaps into the world.
 */
export interface AlignmentState {
  grids: readonly SampleGrid[];
  observations: readonly PairObservation[];
  rotation: Mat3[];
  translation: Vec3[];
  focalPx: Float64Array;
  /** Depth (along +z of the camera) of each sample of each frame. */
  depth: Float64Array[];
  edgeScale: Float64Array;
  edgeRotation: Mat3[];
  edgeTranslation: Vec3[];
}

/** One side of an observation: the samples of `frame` that pair `edge` predicts. */
export interface ObservationSide {
  edge: number;
  frame: number;
  points: Float64Array;
  weights: Float64Array;
}

export function observationSides(observations: readonly PairObservation[]): ObservationSide[] {
  const sides: ObservationSide[] = [];
  observations.forEach((o, edge) => {
    sides.push({ edge, frame: o.first, points: o.pts1, weights: o.weight1 });
    sides.push({ edge, frame: o.second, points: o.pts2, weights: o.weight2 });
  });
  return sides;
}

/** World points (packed xyz) of a frame's samples: R · d (a/f, b/f, 1) + t. */
export function worldPoints(state: AlignmentState, frame: number): Float64Array {
  const grid = state.grids[frame];
  const d = state.depth[frame];
  const r = state.rotation[frame];
  const t = state.translation[frame];
  const f = state.focalPx[frame];
  const n = d.length;
  const out = new Float64Array(3 * n);
  for (let p = 0; p < n; p++) {
    const cx = (d[p] * grid.centred[2 * p]) / f;
    const cy = (d[p] * grid.centred[2 * p + 1]) / f;
    const cz = d[p];
    out[3 * p] = r[0] * cx + r[1] * cy + r[2] * cz + t[0];
    out[3 * p + 1] = r[3] * cx + r[4] * cy + r[5] * cz + t[1];
    out[3 * p + 2] = r[6] * cx + r[7] * cy + r[8] * cz + t[2];
  }
  return out;
}

/**
 * Distances |X_frame(p) − (s R P(p) + t)| for every sample of every observation side, in the order of
 * `sides`, using the frames' current world points.
 */
export function residualNorms(state: AlignmentState, sides: readonly ObservationSide[]): Float64Array[] {
  const world = state.grids.map((_, n) => worldPoints(state, n));
  return sides.map((side) => {
    const x = world[side.frame];
    const s = state.edgeScale[side.edge];
    const r = state.edgeRotation[side.edge];
    const t = state.edgeTranslation[side.edge];
    const p = side.points;
    const out = new Float64Array(side.weights.length);
    for (let k = 0; k < out.length; k++) {
      const px = p[3 * k];
      const py = p[3 * k + 1];
      const pz = p[3 * k + 2];
      const dx = x[3 * k] - (s * (r[0] * px + r[1] * py + r[2] * pz) + t[0]);
      const dy = x[3 * k + 1] - (s * (r[3] * px + r[4] * py + r[5] * pz) + t[1]);
      const dz = x[3 * k + 2] - (s * (r[6] * px + r[7] * py + r[8] * pz) + t[2]);
      out[k] = Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
    return out;
  });
}

/**
 * DUSt3R's global-alignment loss on the samples: confidence-weighted point distances, summed separately
 * over view-1 and view-2 sides and each divided by its number of samples (DUSt3R divides by pixel areas).
 */
export function alignmentLoss(state: AlignmentState, sides: readonly ObservationSide[], norms = residualNorms(state, sides)): number {
  let sum1 = 0;
  let sum2 = 0;
  let area1 = 0;
  let area2 = 0;
  sides.forEach((side, i) => {
    let s = 0;
    const w = side.weights;
    const d = norms[i];
    for (let k = 0; k < d.length; k++) s += w[k] * d[k];
    if (i % 2 === 0) {
      sum1 += s;
      area1 += d.length;
    } else {
      sum2 += s;
      area2 += d.length;
    }
  });
  return (area1 ? sum1 / area1 : 0) + (area2 ? sum2 / area2 : 0);
}

/**
 * DUSt3R's scale gauge: the loss shrinks with the world, so the pairwise scales are held at a geometric
 * mean of `baseScale` (0.5 in DUSt3R). Rescales the whole state in place to meet it.
 */
export function normaliseScale(state: AlignmentState, baseScale: number): void {
  let logSum = 0;
  for (const s of state.edgeScale) logSum += Math.log(s);
  const factor = baseScale / Math.exp(logSum / state.edgeScale.length);
  if (!Number.isFinite(factor) || factor <= 0) return;
  for (const t of state.translation) for (let k = 0; k < 3; k++) t[k] *= factor;
  for (const d of state.depth) for (let p = 0; p < d.length; p++) d[p] *= factor;
  for (let e = 0; e < state.edgeScale.length; e++) {
    state.edgeScale[e] *= factor;
    for (let k = 0; k < 3; k++) state.edgeTranslation[e][k] *= factor;
  }
}

/** Moves the world (rigidly, in place) so that `frame`'s camera sits at the origin looking along +z. */
export function rebaseToFrame(state: AlignmentState, frame: number): void {
  const r0 = state.rotation[frame];
  const t0 = state.translation[frame];
  const inv = mat3Transpose(r0);
  const move = (t: Float64Array): Float64Array => mat3MulVec(inv, [t[0] - t0[0], t[1] - t0[1], t[2] - t0[2]]);
  state.translation = state.translation.map(move);
  state.rotation = state.rotation.map((r) => mat3Multiply(inv, r));
  state.edgeTranslation = state.edgeTranslation.map(move);
  state.edgeRotation = state.edgeRotation.map((r) => mat3Multiply(inv, r));
}

export function cloneState(state: AlignmentState): AlignmentState {
  return {
    grids: state.grids,
    observations: state.observations,
    rotation: state.rotation.map((r) => Float64Array.from(r)),
    translation: state.translation.map((t) => Float64Array.from(t)),
    focalPx: Float64Array.from(state.focalPx),
    depth: state.depth.map((d) => Float64Array.from(d)),
    edgeScale: Float64Array.from(state.edgeScale),
    edgeRotation: state.edgeRotation.map((r) => Float64Array.from(r)),
    edgeTranslation: state.edgeTranslation.map((t) => Float64Array.from(t)),
  };
}
