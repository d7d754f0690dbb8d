import { essentialDefect, essentialFromFundamental, intrinsicsMatrix } from '../geometry/essential-matrix';
import type { Mat3 } from '../geometry/mat3';
import { withDefaults } from '../options';

export interface FocalSearchOptions {
  /** Smallest and largest focal tried, as multiples of the image's larger side. */
  minFactor?: number;
  maxFactor?: number;
  /** Grid size of the search (log-spaced). */
  steps?: number;
  /** The minimum must be this many times lower than the median cost, or the focal counts as unobservable. */
  minContrast?: number;
}

export const FOCAL_SEARCH_DEFAULTS: Required<FocalSearchOptions> = { minFactor: 0.3, maxFactor: 3, steps: 60, minContrast: 1.5 };

export interface FocalEstimate {
  focalPx: number;
  /** False when the pairs do not constrain the focal (nearly pure translation): `focalPx` is then NaN. */
  observable: boolean;
}

/**
 * Self-calibration of a shared focal length (principal point known) from fundamental matrices: the f
 * for which K ᵀ F K is closest to a valid essential matrix (two equal singular values), summed over the
 * pairs with their weights. Grid search, then golden-section refinement around the best cell.
 */
export function searchFocal(
  pairs: readonly { fundamental: Mat3; weight: number }[],
  cxPx: number,
  cyPx: number,
  largerSidePx: number,
  options: FocalSearchOptions = {},
): FocalEstimate {
  const o = withDefaults(FOCAL_SEARCH_DEFAULTS, options);
  if (pairs.length === 0) return { focalPx: Number.NaN, observable: false };
  const cost = (f: number): number => {
    const k = intrinsicsMatrix(f, cxPx, cyPx);
    let sum = 0;
    for (const p of pairs) sum += p.weight * essentialDefect(essentialFromFundamental(p.fundamental, k, k));
    return sum;
  };
  const lo = Math.log(o.minFactor * largerSidePx);
  const hi = Math.log(o.maxFactor * largerSidePx);
  const grid = Array.from({ length: o.steps }, (_, i) => Math.exp(lo + ((hi - lo) * i) / (o.steps - 1)));
  const costs = grid.map(cost);
  let best = 0;
  for (let i = 1; i < costs.length; i++) if (costs[i] < costs[best]) best = i;
  const sorted = costs.slice().sort((a, b) => a - b);
  const medianCost = sorted[sorted.length >> 1];
  if (best === 0 || best === grid.length - 1 || !(medianCost >= o.minContrast * costs[best])) {
    return { focalPx: Number.NaN, observable: false };
  }
  // Golden-section search in the bracketing cells (log focal).
  let a = Math.log(grid[best - 1]);
  let b = Math.log(grid[best + 1]);
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 30; it++) {
    const c = b - phi * (b - a);
    const d = a + phi * (b - a);
    if (cost(Math.exp(c)) < cost(Math.exp(d))) b = d;
    else a = c;
  }
  return { focalPx: Math.exp((a + b) / 2), observable: true };
}
