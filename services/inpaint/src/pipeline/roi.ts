/**
 * The region a frame is refined in: in ROI mode a square crop around the product's mask box (with a margin,
 * at least the model size, centred and kept inside the frame when it fits), processed at `roiSizePx`; in
 * whole-frame mode the frame itself, padded to multiples of 64 by repeating its edges.
 */
import type { Box } from './image-ops';

export interface RegionPlan {
  /** Frame box the model input is sampled from (may reach past the frame: edges repeat). */
  cropBox: Box;
  /** Model input size in pixels (multiples of 64). */
  modelWidthPx: number;
  modelHeightPx: number;
}

export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** ROI crop for a mask box. */
export function planRoi(region: Box, frameW: number, frameH: number, roiSizePx: number, marginPx: number): RegionPlan {
  const side = Math.max(roiSizePx, Math.max(region.w, region.h) + 2 * marginPx);
  const place = (centre: number, extent: number): number => {
    if (extent <= side) return (extent - side) / 2; // frame smaller than the crop: centre it, edges repeat
    return Math.min(extent - side, Math.max(0, centre - side / 2));
  };
  const x = place(region.x + region.w / 2, frameW);
  const y = place(region.y + region.h / 2, frameH);
  return { cropBox: { x: Math.round(x), y: Math.round(y), w: side, h: side }, modelWidthPx: roiSizePx, modelHeightPx: roiSizePx };
}

/** Whole-frame plan: the frame at its own resolution, padded up to multiples of 64. */
export function planWholeFrame(frameW: number, frameH: number): RegionPlan {
  const w = roundUp(frameW, 64);
  const h = roundUp(frameH, 64);
  return { cropBox: { x: 0, y: 0, w, h }, modelWidthPx: w, modelHeightPx: h };
}
