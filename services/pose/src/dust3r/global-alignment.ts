import { VaneliaError } from '@vanelia/runtime';
import { mat4FromRotationTranslation, type Mat4 } from '../geometry';
import { cloneState, normaliseScale, observationSides, rebaseToFrame, residualNorms, type AlignmentState } from './alignment-state';
import { frameStep } from './frame-step';
import { globalStep } from './global-step';
import { FOCAL_RANGE, focalBasePx, initialiseFromSpanningTree } from './mst-init';
import type { PairObservation, SampleGrid } from './pair-observations';
import { reweightSides } from './side-moments';

export interface GlobalAlignmentOptions {
  /** Outer iterations (each: reweighting, a global pose step, a per-frame pose/focal/depth step). */
  maxIterations?: number;
  /** Stop when the loss improves by less than this fraction in one iteration. */
  tolerance?: number;
  /** Geometric mean of the pair scales, DUSt3R's scale gauge. */
  baseScale?: number;
  /** Levenberg-Marquardt iterations inside the global step. */
  globalIterations?: number;
  /** Levenberg-Marquardt iterations per frame inside the frame step. */
  frameIterations?: number;
  /** Skip the refinement: poses from the spanning-tree initialisation only. */
  initOnly?: boolean;
}

export const GLOBAL_ALIGNMENT_DEFAULTS: Required<GlobalAlignmentOptions> = {
  maxIterations: 30,
  tolerance: 1e-5,
  baseScale: 0.5,
  globalIterations: 1,
  frameIterations: 1,
  initOnly: false,
};

/** One frame's camera from the alignment, at the model's input size. */
export interface AlignedCamera {
  /** Focal length in pixels of the model-size image; the principal point is its centre. */
  focalPx: number;
  /** Camera-to-world, OpenCV axes (x right, y down, z forward), row-major 4x4; frame 0 is the identity. */
  cameraToWorldOpenCv: Mat4;
}

export interface GlobalAlignmentResult {
  cameras: AlignedCamera[];
  /** The optimised state (poses, focals, sample depths, pair similarities). */
  state: AlignmentState;
  /** DUSt3R's loss on the samples after the initialisation and at the end. */
  initialLoss: number;
  finalLoss: number;
  iterations: number;
  /** Per-frame confidence-weighted mean residual relative to the frame's median depth. */
  relativeResidual: Float64Array;
}

function resolve(options: GlobalAlignmentOptions): Required<GlobalAlignmentOptions> {
  const out = { ...GLOBAL_ALIGNMENT_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted.length ? sorted[sorted.length >> 1] : 0;
}

function perFrameResidual(state: AlignmentState, sides: ReturnType<typeof observationSides>, norms: Float64Array[]): Float64Array {
  const n = state.grids.length;
  const sum = new Float64Array(n);
  const weight = new Float64Array(n);
  sides.forEach((side, i) => {
    for (let k = 0; k < norms[i].length; k++) {
      sum[side.frame] += side.weights[k] * norms[i][k];
      weight[side.frame] += side.weights[k];
    }
  });
  return sum.map((s, f) => (weight[f] > 0 ? s / weight[f] / Math.max(median(state.depth[f]), 1e-12) : Number.POSITIVE_INFINITY));
}

/**
 * The alignment as a sequence of steps: yields after the initialisation and after every iteration (so a
 * caller may hand the event loop back in between), returns the result.
 */
function* alignmentSteps(grids: readonly SampleGrid[], observations: readonly PairObservation[], options: GlobalAlignmentOptions): Generator<number, GlobalAlignmentResult> {
  const o = resolve(options);
  if (grids.length < 2) throw new VaneliaError('pose', 'TOO_FEW_FRAMES', `global alignment needs at least 2 frames, got ${grids.length}.`);
  if (observations.length === 0) throw new VaneliaError('pose', 'NO_PAIRS', 'global alignment got no image pairs.');
  const sides = observationSides(observations);
  const state = initialiseFromSpanningTree(grids, observations);
  normaliseScale(state, o.baseScale);
  const scene = median(Float64Array.from(state.depth.map(median)));
  const minResidual = 1e-4 * scene;
  let weighting = reweightSides(state, sides, minResidual);
  const initialLoss = weighting.loss;
  let best = cloneState(state);
  let bestLoss = initialLoss;
  let loss = initialLoss;
  const focalRangePx = (f: number): readonly [number, number] => {
    const base = focalBasePx(grids[f]);
    return [FOCAL_RANGE.min * base, FOCAL_RANGE.max * base];
  };
  let iterations = 0;
  yield iterations;
  if (!o.initOnly) {
    for (; iterations < o.maxIterations; iterations++) {
      // Majorise |r| by |r|²/(2|r₀|): weights ω = w / |r₀| make each step a weighted least-squares problem.
      globalStep(state, sides, weighting.moments, { iterations: o.globalIterations, anchorFrame: 0 });
      frameStep(state, sides, weighting.omegas, { iterations: o.frameIterations, minDepth: 1e-6 * scene, focalRangePx });
      normaliseScale(state, o.baseScale);
      weighting = reweightSides(state, sides, minResidual, weighting);
      const previous = loss;
      loss = weighting.loss;
      if (loss < bestLoss) {
        bestLoss = loss;
        best = cloneState(state);
      }
      if (!(previous - loss > o.tolerance * previous)) {
        iterations++;
        break;
      }
      yield iterations + 1;
    }
  }
  rebaseToFrame(best, 0);
  const finalNorms = residualNorms(best, sides);
  return {
    cameras: best.rotation.map((r, f) => ({ focalPx: best.focalPx[f], cameraToWorldOpenCv: mat4FromRotationTranslation(r, best.translation[f]) })),
    state: best,
    initialLoss,
    finalLoss: bestLoss,
    iterations,
    relativeResidual: perFrameResidual(best, sides, finalNorms),
  };
}

/**
 * DUSt3R's global alignment over sampled pointmaps: spanning-tree initialisation, then joint refinement of
 * poses, focals and depths of DUSt3R's objective (confidence-weighted point distances, pair scales held at
 * a geometric mean of `baseScale`). The robust distance is minimised by iteratively reweighted least
 * squares; each iteration takes a global Levenberg-Marquardt step on all poses and pair similarities and
 * a per-frame step on pose, focal and depths, and the best state seen is returned.
 */
export function alignGlobally(grids: readonly SampleGrid[], observations: readonly PairObservation[], options: GlobalAlignmentOptions = {}): GlobalAlignmentResult {
  const steps = alignmentSteps(grids, observations, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** alignGlobally that hands the event loop back between iterations and stops when `signal` aborts. */
export async function alignGloballyAsync(
  grids: readonly SampleGrid[],
  observations: readonly PairObservation[],
  options: GlobalAlignmentOptions = {},
  signal?: AbortSignal,
): Promise<GlobalAlignmentResult> {
  const steps = alignmentSteps(grids, observations, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw new VaneliaError('pose', 'CANCELLED', 'tracking was cancelled.', { code: 'CANCELLED' });
  }
}
