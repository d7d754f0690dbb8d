/**
 * frame_interval: a refined key frame's change (refined − composite around the product) is carried to the
 * frames after it by the geometry the compositor gives — each frame's mask box — mapping the later frame's box
 * onto the key frame's (scale and shift), and applied with the later frame's own feathered mask. The product
 * itself is rendered exactly in every frame; only the refinement's change is carried.
 */
import { blendArea, clipBox, featherWeights, samplePlanar, type Box, type Raster } from './image-ops';

/** What a key frame leaves for the frames after it. */
export interface KeyResidual {
  index: number;
  /** The mask box of the key frame. */
  region: Box;
  /** Frame area the residual covers. */
  area: Box;
  /** [3, area.h, area.w]: refined − composite, 0..255 scale. */
  residual: Float32Array;
}

/** The residual over `area` of a key frame: refined values (planar, over `area`) minus its composite. */
export function keyResidual(index: number, region: Box, area: Box, composite: Raster, refined: Float32Array): KeyResidual {
  const plane = area.w * area.h;
  const residual = new Float32Array(3 * plane);
  for (let y = 0; y < area.h; y++) {
    for (let x = 0; x < area.w; x++) {
      const i = ((area.y + y) * composite.widthPx + area.x + x) * 3;
      for (let k = 0; k < 3; k++) residual[k * plane + y * area.w + x] = refined[k * plane + y * area.w + x] - composite.data[i + k];
    }
  }
  return { index, region, area, residual };
}

/**
 * Applies `key`'s residual to `frame` (RGB8, changed in place) inside the frame's feathered `mask` around
 * `region`. Returns false when there is nothing to apply (empty box).
 */
export function applyCarry(frame: Raster, mask: Raster, region: Box, featherPx: number, key: KeyResidual): boolean {
  const area = clipBox(region, featherPx, frame.widthPx, frame.heightPx);
  if (!area || region.w <= 0 || region.h <= 0) return false;
  const plane = area.w * area.h;
  const values = new Float32Array(3 * plane);
  const sx = key.region.w / region.w;
  const sy = key.region.h / region.h;
  for (let y = 0; y < area.h; y++) {
    // frame pixel centre -> key frame coordinates -> residual grid
    const ky = key.region.y + (area.y + y + 0.5 - region.y) * sy - 0.5 - key.area.y;
    for (let x = 0; x < area.w; x++) {
      const kx = key.region.x + (area.x + x + 0.5 - region.x) * sx - 0.5 - key.area.x;
      const i = ((area.y + y) * frame.widthPx + area.x + x) * 3;
      for (let k = 0; k < 3; k++) {
        values[k * plane + y * area.w + x] = frame.data[i + k] + samplePlanar(key.residual, key.area.w, key.area.h, kx, ky, k);
      }
    }
  }
  blendArea(frame, area, featherWeights(mask, area, featherPx), values);
  return true;
}
