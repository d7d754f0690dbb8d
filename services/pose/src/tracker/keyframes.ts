import { correspondences, type TrackTable } from './track-table';
import { withDefaults } from '../options';

export interface KeyframeOptions {
  /** A new keyframe once the median feature displacement since the last one reaches this (pixels). */
  minParallaxPx?: number;
  /** …or once fewer than this fraction of the last keyframe's tracks remain. */
  minSharedRatio?: number;
}

export const KEYFRAME_DEFAULTS: Required<KeyframeOptions> = { minParallaxPx: 20, minSharedRatio: 0.6 };

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = values.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Median displacement (pixels) of the tracks shared by frames a and b, and how many there are. */
export function sharedMotion(table: TrackTable, a: number, b: number): { shared: number; medianPx: number } {
  const { ids, xa, xb } = correspondences(table, a, b);
  const d = ids.map((_, k) => Math.hypot(xb[2 * k] - xa[2 * k], xb[2 * k + 1] - xa[2 * k + 1]));
  return { shared: ids.length, medianPx: median(d) };
}

/**
 * Keyframes for reconstruction: frame 0, then each frame where the motion since the last keyframe is
 * large enough or too many tracks were lost (the frame before is taken when tracks would run out).
 * The last frame is always a keyframe, so the reconstruction spans the whole video.
 */
export function selectKeyframes(table: TrackTable, options: KeyframeOptions = {}): number[] {
  const o = withDefaults(KEYFRAME_DEFAULTS, options);
  const n = table.frameCount;
  if (n === 0) return [];
  const keys = [0];
  let last = 0;
  let lastCount = sharedMotion(table, 0, 0).shared;
  for (let f = 1; f < n; f++) {
    const { shared, medianPx } = sharedMotion(table, last, f);
    if (medianPx >= o.minParallaxPx || shared < o.minSharedRatio * lastCount) {
      const pick = shared < 0.3 * lastCount && f - 1 > last ? f - 1 : f;
      keys.push(pick);
      last = pick;
      lastCount = sharedMotion(table, pick, pick).shared;
      if (pick !== f) f = pick;
    }
  }
  if (keys[keys.length - 1] !== n - 1) keys.push(n - 1);
  return keys;
}
