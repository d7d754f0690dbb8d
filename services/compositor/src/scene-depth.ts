import { VaneliaError } from '@vanelia/runtime';

/** A dense scene depth map for one frame (e.g. from DUSt3R pointmaps): depth along +z, world units. */
export interface SceneDepth {
  frameIndex: number;
  widthPx: number;
  heightPx: number;
  /** Row-major, top row first; 0 or non-finite = unknown. */
  depth: Float32Array;
}

/** Reads little-endian float32 depth bytes, checking the size against the declared resolution. */
export function sceneDepthFromBytes(frameIndex: number, widthPx: number, heightPx: number, bytes: Uint8Array): SceneDepth {
  if (!(widthPx > 0 && heightPx > 0) || bytes.byteLength !== widthPx * heightPx * 4) {
    throw new VaneliaError('compositor', 'INVALID_DEPTH', `depth map of frame ${frameIndex} carries ${bytes.byteLength} bytes, ${widthPx}x${heightPx} float32 needs ${widthPx * heightPx * 4}.`);
  }
  const depth = new Float32Array(widthPx * heightPx);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < depth.length; i++) depth[i] = view.getFloat32(i * 4, true);
  return { frameIndex, widthPx, heightPx, depth };
}

/**
 * Scene depth at a frame pixel centre (frame resolution `frameWidthPx` x `frameHeightPx`), bilinear over
 * the valid neighbours of the (usually lower-resolution) map; 0 when none is valid.
 */
export function sampleSceneDepth(map: SceneDepth, xPx: number, yPx: number, frameWidthPx: number, frameHeightPx: number): number {
  const u = ((xPx + 0.5) * map.widthPx) / frameWidthPx - 0.5;
  const v = ((yPx + 0.5) * map.heightPx) / frameHeightPx - 0.5;
  const x0 = Math.max(0, Math.min(map.widthPx - 1, Math.floor(u)));
  const y0 = Math.max(0, Math.min(map.heightPx - 1, Math.floor(v)));
  const x1 = Math.min(map.widthPx - 1, x0 + 1);
  const y1 = Math.min(map.heightPx - 1, y0 + 1);
  const fx = Math.max(0, Math.min(1, u - x0));
  const fy = Math.max(0, Math.min(1, v - y0));
  let sum = 0;
  let weight = 0;
  const take = (x: number, y: number, w: number): void => {
    const d = map.depth[y * map.widthPx + x];
    if (d > 0 && Number.isFinite(d) && w > 0) {
      sum += d * w;
      weight += w;
    }
  };
  take(x0, y0, (1 - fx) * (1 - fy));
  take(x1, y0, fx * (1 - fy));
  take(x0, y1, (1 - fx) * fy);
  take(x1, y1, fx * fy);
  return weight > 0 ? sum / weight : 0;
}
