import { fitPlaneLeastSquares, planeDistance, planeThroughPoints, type Plane, type PlaneFit } from './plane-fit';
import { createRng, sampleDistinct } from './random';
import { withDefaults } from '../options';

export interface PlaneRansacOptions {
  /** Point-to-plane distance (world units) under which a point is an inlier; 0 = 2% of the cloud's median spread. */
  inlierThreshold?: number;
  /** Most random 3-point hypotheses tried. */
  maxIterations?: number;
  /** Stop early once this probability of having drawn an all-inlier sample is reached. */
  confidence?: number;
  /** Least-squares refinement rounds on the inliers (each re-selects inliers). */
  refineRounds?: number;
  /** Seed of the sampler, for repeatable results. */
  seed?: number;
  /** Per-point weights (≥ 0) for the refinement; hypotheses count inliers unweighted. */
  weights?: ArrayLike<number>;
}

export const PLANE_RANSAC_DEFAULTS: Required<Omit<PlaneRansacOptions, 'weights'>> = {
  inlierThreshold: 0,
  maxIterations: 500,
  confidence: 0.999,
  refineRounds: 3,
  seed: 1,
};

export interface PlaneRansacResult extends PlaneFit {
  /** Indices of the inlier points of the refined plane. */
  inliers: Uint32Array;
  /** The threshold used (after the automatic choice). */
  inlierThreshold: number;
}

/** Median distance of the points to their coordinate-wise median: a robust size of the cloud. */
function medianSpread(points: ArrayLike<number>): number {
  const n = points.length / 3;
  const med = [0, 1, 2].map((d) => median(Array.from({ length: n }, (_, i) => points[3 * i + d])));
  return median(Array.from({ length: n }, (_, i) => Math.hypot(points[3 * i] - med[0], points[3 * i + 1] - med[1], points[3 * i + 2] - med[2])));
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function inliersOf(plane: Plane, points: ArrayLike<number>, threshold: number): number[] {
  const out: number[] = [];
  const n = points.length / 3;
  for (let i = 0; i < n; i++) if (Math.abs(planeDistance(plane, points, i)) <= threshold) out.push(i);
  return out;
}

/**
 * Robust plane fit: RANSAC over 3-point planes (adaptive number of iterations), then least-squares
 * refinement on the inliers. Returns null when there are fewer than 3 points or every sample is degenerate.
 */
export function fitPlaneRansac(points: ArrayLike<number>, options: PlaneRansacOptions = {}): PlaneRansacResult | null {
  const o = withDefaults(PLANE_RANSAC_DEFAULTS, options);
  const n = points.length / 3;
  if (n < 3) return null;
  const threshold = o.inlierThreshold > 0 ? o.inlierThreshold : 0.02 * medianSpread(points);
  const rng = createRng(o.seed);

  let best: Plane | null = null;
  let bestCount = 0;
  let needed = o.maxIterations;
  for (let it = 0; it < Math.min(needed, o.maxIterations); it++) {
    const [i, j, k] = sampleDistinct(rng, n, 3);
    const plane = planeThroughPoints(points, i, j, k);
    if (!plane) continue;
    let count = 0;
    for (let p = 0; p < n; p++) if (Math.abs(planeDistance(plane, points, p)) <= threshold) count++;
    if (count > bestCount) {
      best = plane;
      bestCount = count;
      const ratio = count / n;
      const allInlier = ratio ** 3;
      needed = allInlier >= 1 ? 0 : Math.ceil(Math.log(1 - o.confidence) / Math.log(1 - Math.max(allInlier, 1e-12)));
    }
  }
  if (!best) return null;

  let inliers = inliersOf(best, points, threshold);
  let fit: PlaneFit = { ...best, rms: 0, centroid: fitPlaneLeastSquares(points, undefined, inliers).centroid };
  for (let round = 0; round < o.refineRounds && inliers.length >= 3; round++) {
    fit = fitPlaneLeastSquares(points, options.weights, inliers);
    const next = inliersOf(fit, points, threshold);
    if (next.length < 3) break;
    const same = next.length === inliers.length && next.every((v, idx) => v === inliers[idx]);
    inliers = next;
    if (same) break;
  }
  return { ...fit, inliers: Uint32Array.from(inliers), inlierThreshold: threshold };
}
