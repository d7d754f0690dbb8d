import { VaneliaError } from '@vanelia/runtime';
import type { ModelShape } from './pair-batches';

/** DUSt3R's output for one directed pair at the model's resolution: both pointmaps in view 1's camera frame. */
export interface PairPrediction {
  first: number;
  second: number;
  /** View 1's points, row-major H₁×W₁×3. */
  pts1: Float32Array;
  /** View 1's confidence (≥ 1 for DUSt3R's head), H₁×W₁. */
  conf1: Float32Array;
  /** View 2's points in view 1's frame, H₂×W₂×3. */
  pts2: Float32Array;
  conf2: Float32Array;
}

/** The pixels of one frame that the alignment works on: a regular grid over the model-size image. */
export interface SampleGrid {
  shape: ModelShape;
  /** Row-major pixel index of each sample. */
  pixelIndex: Int32Array;
  /** Sample pixel centres relative to the image centre (x + 0.5 − W/2, y + 0.5 − H/2), packed (a, b). */
  centred: Float64Array;
}

/** A pair reduced to the sample grids of its two frames, plus its DUSt3R edge score. */
export interface PairObservation {
  first: number;
  second: number;
  /** mean(conf1) · mean(conf2) over all pixels, DUSt3R's edge score for the spanning tree. */
  score: number;
  /** Sampled points of view 1 / view 2 (packed xyz, float64), in view 1's frame. */
  pts1: Float64Array;
  pts2: Float64Array;
  /** Per-sample weights: log(conf) (DUSt3R's 'log' confidence transform), floored at 1e-6; 0 for non-finite points. */
  weight1: Float64Array;
  weight2: Float64Array;
}

/** A grid of about `samples` pixels (at least one per 1×1 cell) spread evenly over a `shape` image. */
export function sampleGrid(shape: ModelShape, samples: number): SampleGrid {
  const { heightPx: h, widthPx: w } = shape;
  const stride = Math.max(1, Math.floor(Math.sqrt((h * w) / Math.max(1, samples))));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = Math.floor(stride / 2); y < h; y += stride) ys.push(y);
  for (let x = Math.floor(stride / 2); x < w; x += stride) xs.push(x);
  const count = xs.length * ys.length;
  const pixelIndex = new Int32Array(count);
  const centred = new Float64Array(2 * count);
  let k = 0;
  for (const y of ys) {
    for (const x of xs) {
      pixelIndex[k] = y * w + x;
      centred[2 * k] = x + 0.5 - w / 2;
      centred[2 * k + 1] = y + 0.5 - h / 2;
      k++;
    }
  }
  return { shape, pixelIndex, centred };
}

/** Weight of a sample whose confidence is 1 (DUSt3R's minimum): almost nothing, but not nothing. */
const MIN_WEIGHT = 1e-6;

function mean(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length ? s / values.length : 0;
}

function gather(pts: Float32Array, conf: Float32Array, grid: SampleGrid, what: string): [Float64Array, Float64Array] {
  const n = grid.shape.heightPx * grid.shape.widthPx;
  if (pts.length !== 3 * n || conf.length !== n) {
    throw new VaneliaError(
      'pose',
      'BAD_PREDICTION',
      `DUSt3R ${what} has ${pts.length / 3} points and ${conf.length} confidences, ${grid.shape.widthPx}x${grid.shape.heightPx} needs ${n}.`,
      { code: 'INTERNAL' },
    );
  }
  const count = grid.pixelIndex.length;
  const points = new Float64Array(3 * count);
  const weights = new Float64Array(count);
  let finiteCount = 0;
  for (let k = 0; k < count; k++) {
    const p = grid.pixelIndex[k];
    const x = pts[3 * p];
    const y = pts[3 * p + 1];
    const z = pts[3 * p + 2];
    const c = conf[p];
    const finite = Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z) && Number.isFinite(c);
    points[3 * k] = finite ? x : 0;
    points[3 * k + 1] = finite ? y : 0;
    points[3 * k + 2] = finite ? z : 0;
    // log(conf), floored just above 0 so an all-uncertain map still has a direction to align.
    weights[k] = finite ? Math.max(c > 1 ? Math.log(c) : 0, MIN_WEIGHT) : 0;
    if (finite) finiteCount++;
  }
  if (finiteCount < 3) {
    throw new VaneliaError('pose', 'BAD_PREDICTION', `DUSt3R ${what} has ${finiteCount} finite points among ${count} samples (a float16 overflow in the export?).`, {
      code: 'INTERNAL',
    });
  }
  return [points, weights];
}

/** Reduces a full-resolution pair prediction to the frames' sample grids. */
export function observePair(prediction: PairPrediction, grids: readonly SampleGrid[]): PairObservation {
  const [pts1, weight1] = gather(prediction.pts1, prediction.conf1, grids[prediction.first], `pair ${prediction.first}→${prediction.second} view 1`);
  const [pts2, weight2] = gather(prediction.pts2, prediction.conf2, grids[prediction.second], `pair ${prediction.first}→${prediction.second} view 2`);
  return {
    first: prediction.first,
    second: prediction.second,
    score: mean(prediction.conf1) * mean(prediction.conf2),
    pts1,
    pts2,
    weight1,
    weight2,
  };
}
