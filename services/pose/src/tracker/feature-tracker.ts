import { findFundamentalRansac } from '../geometry/fundamental-matrix';
import { detectCorners } from './corners';
import type { GrayImage } from './gray-image';
import { trackKlt } from './klt';
import { buildPyramid, pyramidLevelsFor, type Pyramid } from './pyramid';
import { withDefaults } from '../options';

export interface FeatureTrackerOptions {
  /** Features kept alive at once. */
  maxFeatures?: number;
  /** Re-detect corners when fewer than this fraction of maxFeatures survive. */
  redetectBelow?: number;
  /** KLT window half size (pixels). */
  windowRadiusPx?: number;
  /** Most pyramid levels (fewer for small images); more levels follow larger motions. */
  maxPyramidLevels?: number;
  /** Forward–backward consistency threshold (pixels); 0 turns the check off. */
  forwardBackwardPx?: number;
  /** Epipolar (Sampson) threshold for the frame-to-frame fundamental-matrix RANSAC (pixels). */
  epipolarPx?: number;
  /** Working images at least this wide look for new corners on the half-size pyramid level. */
  halfSizeDetectionPx?: number;
}

export const FEATURE_TRACKER_DEFAULTS: Required<FeatureTrackerOptions> = {
  maxFeatures: 800,
  redetectBelow: 0.8,
  windowRadiusPx: 4,
  maxPyramidLevels: 5,
  forwardBackwardPx: 0.5,
  epipolarPx: 1,
  halfSizeDetectionPx: 800,
};

/** One frame's observations: track ids and positions (continuous pixels, top-left corner at 0). */
export interface FrameObservations {
  ids: Int32Array;
  xy: Float32Array;
}

export interface FeatureTracks {
  widthPx: number;
  heightPx: number;
  trackCount: number;
  frames: FrameObservations[];
}

/**
 * Frame-to-frame feature tracking for a video: Shi–Tomasi corners followed by pyramidal KLT with a
 * forward–backward check, filtered by a RANSAC fundamental matrix between consecutive frames, topped
 * up with new corners where tracks were lost. Frames are pushed one at a time; only the previous
 * frame's pyramid is kept.
 */
export class FeatureTracker {
  private readonly o: Required<FeatureTrackerOptions>;
  private prev: Pyramid | null = null;
  private ids: number[] = [];
  private xy = new Float32Array(0);
  /** Last frame-to-frame displacement of each live feature (constant-velocity guess for KLT). */
  private velocity = new Float32Array(0);
  private nextId = 0;
  private readonly frames: FrameObservations[] = [];
  private size: { widthPx: number; heightPx: number } | null = null;

  constructor(options: FeatureTrackerOptions = {}) {
    this.o = withDefaults(FEATURE_TRACKER_DEFAULTS, options);
  }

  push(image: GrayImage): void {
    const { widthPx, heightPx } = image;
    if (this.size && (this.size.widthPx !== widthPx || this.size.heightPx !== heightPx)) {
      throw new RangeError(`FeatureTracker: frame ${this.frames.length} is ${widthPx}x${heightPx}, expected ${this.size.widthPx}x${this.size.heightPx}`);
    }
    this.size = { widthPx, heightPx };
    const pyramid = buildPyramid(image, pyramidLevelsFor(widthPx, heightPx, this.o.maxPyramidLevels));
    if (this.prev && this.ids.length > 0) this.follow(this.prev, pyramid);
    if (this.ids.length < this.o.redetectBelow * this.o.maxFeatures) this.detect(pyramid);
    const ids = Int32Array.from(this.ids);
    const xy = new Float32Array(this.xy.length);
    for (let i = 0; i < xy.length; i++) xy[i] = this.xy[i] + 0.5;
    this.frames.push({ ids, xy });
    this.prev = pyramid;
  }

  result(): FeatureTracks {
    return { widthPx: this.size?.widthPx ?? 0, heightPx: this.size?.heightPx ?? 0, trackCount: this.nextId, frames: this.frames };
  }

  private minDistancePx(): number {
    const { widthPx, heightPx } = this.size!;
    return Math.max(5, 0.6 * Math.sqrt((widthPx * heightPx) / this.o.maxFeatures));
  }

  private follow(prev: Pyramid, next: Pyramid): void {
    const guess = new Float32Array(this.xy.length);
    for (let i = 0; i < guess.length; i++) guess[i] = this.xy[i] + this.velocity[i];
    const tracked = trackKlt(prev, next, this.xy, { windowRadiusPx: this.o.windowRadiusPx, forwardBackwardPx: this.o.forwardBackwardPx }, guess);
    const keep: number[] = [];
    for (let i = 0; i < this.ids.length; i++) if (tracked.status[i]) keep.push(i);
    const x1 = new Float64Array(2 * keep.length);
    const x2 = new Float64Array(2 * keep.length);
    keep.forEach((i, k) => {
      x1[2 * k] = this.xy[2 * i];
      x1[2 * k + 1] = this.xy[2 * i + 1];
      x2[2 * k] = tracked.points[2 * i];
      x2[2 * k + 1] = tracked.points[2 * i + 1];
    });
    const fit = keep.length >= 16 ? findFundamentalRansac(x1, x2, { thresholdPx: this.o.epipolarPx, seed: this.frames.length + 1, maxIterations: 100, confidence: 0.99 }) : null;
    const ids: number[] = [];
    const xy: number[] = [];
    const velocity: number[] = [];
    keep.forEach((i, k) => {
      if (fit && !fit.inlierMask[k]) return;
      ids.push(this.ids[i]);
      xy.push(x2[2 * k], x2[2 * k + 1]);
      velocity.push(x2[2 * k] - x1[2 * k], x2[2 * k + 1] - x1[2 * k + 1]);
    });
    this.ids = ids;
    this.xy = Float32Array.from(xy);
    this.velocity = Float32Array.from(velocity);
  }

  private detect(pyramid: Pyramid): void {
    // Large working images are searched at half size (4x fewer pixels); corners map back to pixel centres.
    const half = pyramid.length > 1 && pyramid[0].widthPx >= this.o.halfSizeDetectionPx;
    const s = half ? 2 : 1;
    const existing = half ? this.xy.map((v) => (v - 0.5) / 2) : this.xy;
    const found = detectCorners(pyramid[half ? 1 : 0], existing, {
      maxCorners: this.o.maxFeatures - this.ids.length,
      minDistancePx: this.minDistancePx() / s,
      borderPx: Math.ceil((this.o.windowRadiusPx + 2) / s),
    });
    const fresh = half ? found.map((v) => 2 * v + 0.5) : found;
    const merged = new Float32Array(this.xy.length + fresh.length);
    merged.set(this.xy);
    merged.set(fresh, this.xy.length);
    const velocity = new Float32Array(merged.length);
    velocity.set(this.velocity);
    for (let k = 0; k < fresh.length / 2; k++) this.ids.push(this.nextId++);
    this.xy = merged;
    this.velocity = velocity;
  }
}
