export interface WeiszfeldFocalOptions {
  /** Principal point (pixels) that `pixels` are measured in; default (0, 0) — pixels already centred. */
  principalPoint?: readonly [number, number];
  /** Per-point confidence weights (≥ 0); all 1 when omitted. */
  weights?: ArrayLike<number>;
  /** IRLS iterations after the least-squares start. */
  iterations?: number;
  /** Smallest residual used in the reweighting (pixels), so exact points do not divide by zero. */
  minResidualPx?: number;
}

export const WEISZFELD_FOCAL_DEFAULTS: Required<Omit<WeiszfeldFocalOptions, 'weights'>> = {
  principalPoint: [0, 0],
  iterations: 10,
  minResidualPx: 1e-8,
};

/**
 * Focal length (pixels) of a pinhole camera that sees camera-frame points `points` (packed xyz, z > 0)
 * at `pixels` (packed uv): the f minimising Σ wᵢ |(uᵢ, vᵢ) − pp − f (xᵢ/zᵢ, yᵢ/zᵢ)|, the robust L1 cost
 * DUSt3R uses, solved by Weiszfeld iterations (iteratively reweighted least squares) from the L2 solution.
 * Points with z ≤ 0 are ignored. Returns NaN when no point is usable.
 */
export function estimateFocalWeiszfeld(
  points: ArrayLike<number>,
  pixels: ArrayLike<number>,
  options: WeiszfeldFocalOptions = {},
): number {
  const [cx, cy] = options.principalPoint ?? WEISZFELD_FOCAL_DEFAULTS.principalPoint;
  const iterations = options.iterations ?? WEISZFELD_FOCAL_DEFAULTS.iterations;
  const minResidual = options.minResidualPx ?? WEISZFELD_FOCAL_DEFAULTS.minResidualPx;
  const n = points.length / 3;
  if (pixels.length !== 2 * n) throw new RangeError(`estimateFocalWeiszfeld: ${pixels.length / 2} pixels for ${n} points`);
  const weights = options.weights;

  const qx = new Float64Array(n);
  const qy = new Float64Array(n);
  const px = new Float64Array(n);
  const py = new Float64Array(n);
  const base = new Float64Array(n);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const z = points[3 * i + 2];
    const w = weights ? weights[i] : 1;
    if (!(z > 0) || !(w > 0)) continue;
    qx[used] = points[3 * i] / z;
    qy[used] = points[3 * i + 1] / z;
    px[used] = pixels[2 * i] - cx;
    py[used] = pixels[2 * i + 1] - cy;
    base[used] = w;
    used++;
  }
  if (used === 0) return Number.NaN;

  const solve = (omega: (i: number) => number): number => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < used; i++) {
      const o = omega(i);
      num += o * (px[i] * qx[i] + py[i] * qy[i]);
      den += o * (qx[i] * qx[i] + qy[i] * qy[i]);
    }
    return den > 0 ? num / den : Number.NaN;
  };

  let focal = solve((i) => base[i]);
  for (let it = 0; it < iterations && Number.isFinite(focal); it++) {
    const f = focal;
    focal = solve((i) => base[i] / Math.max(Math.hypot(px[i] - f * qx[i], py[i] - f * qy[i]), minResidual));
  }
  return focal;
}

/**
 * Focal of a dense pointmap (DUSt3R's output: `width × height` points in the camera frame, row-major
 * xyz), pixel centres at integer coordinates and, by default, the principal point at (W/2, H/2) as DUSt3R
 * places it.
 */
export function focalFromPointmap(
  pointmap: ArrayLike<number>,
  widthPx: number,
  heightPx: number,
  confidence?: ArrayLike<number>,
  principalPoint: readonly [number, number] = [widthPx / 2, heightPx / 2],
): number {
  const n = widthPx * heightPx;
  if (pointmap.length !== 3 * n) throw new RangeError(`focalFromPointmap: ${pointmap.length} values for ${widthPx}x${heightPx}`);
  const pixels = new Float64Array(2 * n);
  for (let y = 0; y < heightPx; y++) {
    for (let x = 0; x < widthPx; x++) {
      pixels[2 * (y * widthPx + x)] = x;
      pixels[2 * (y * widthPx + x) + 1] = y;
    }
  }
  return estimateFocalWeiszfeld(pointmap, pixels, {
    principalPoint,
    weights: confidence,
  });
}
