import { VaneliaError } from '@vanelia/runtime';
import type * as THREE from 'three/webgpu';
import { worldToCamera, type CameraPose } from './camera-model';
import { SRGB8_TO_LINEAR, linearToSrgb8, type RgbImage } from './colour';
import type { RenderedLayers } from './layer-renderer';
import { sampleSceneDepth, type SceneDepth } from './scene-depth';

/**
 * Puts rendered layers into a video frame, in linear light: the frame is darkened by the shadow (multiply),
 * then the premultiplied product goes over it (alpha-over); partially covered silhouette pixels are
 * feathered by a 3x3 binomial filter so edges blend like the footage's. Scene depth, when given, hides the product (and its
 * shadow) wherever the scene is nearer than it. Only the layers' region is touched; the rest is copied.
 *
 * (sharp/libvips composites in non-linear sRGB, so the blend itself is this loop over the region; sharp
 * does the image I/O around it.)
 */

export interface CompositeOptions {
  /** How much light the shadow removes at full strength, 0..1 (0 disables the shadow). */
  shadowOpacity?: number;
  /** Occlusion: the scene must be nearer than the product by this fraction of its depth to hide it fully (soft below). */
  occlusionTolerance?: number;
  /** Feather partially covered silhouette pixels (3x3 binomial filter on the premultiplied layer). */
  featherEdges?: boolean;
}

export const COMPOSITE_DEFAULTS: Required<CompositeOptions> = {
  shadowOpacity: 0.8,
  occlusionTolerance: 0.02,
  featherEdges: true,
};

/** The composite and the per-pixel visibility of product and shadow actually applied (for masks). */
export interface CompositeResult {
  /** RGB8 sRGB, full frame. */
  rgb: Uint8Array;
  /** Applied product alpha over the layers' region, 0..255. */
  productAlpha: Uint8Array;
  /** Applied shadow strength over the layers' region, 0..255. */
  shadowStrength: Uint8Array;
}

export interface CompositeInputs {
  frame: RgbImage;
  layers: RenderedLayers;
  /** The camera of this frame and the supporting plane (for the shadow's depth under occlusion). */
  pose?: CameraPose;
  plane?: { pointWorld: THREE.Vector3; upWorld: THREE.Vector3 };
  sceneDepth?: SceneDepth;
}

/** Depth along +z of the supporting plane at each pixel, as a function (0 when the ray misses it). */
function planeDepthFunction(pose: CameraPose, plane: { pointWorld: THREE.Vector3; upWorld: THREE.Vector3 }): (x: number, y: number) => number {
  const m = pose.cameraToWorldOpenCv;
  const n = plane.upWorld;
  // Plane normal in camera axes (R^T n) and the camera-space signed distance n_c · p_c.
  const nc = [m[0] * n.x + m[4] * n.y + m[8] * n.z, m[1] * n.x + m[5] * n.y + m[9] * n.z, m[2] * n.x + m[6] * n.y + m[10] * n.z];
  const pc = worldToCamera(pose, plane.pointWorld);
  const dist = nc[0] * pc.x + nc[1] * pc.y + nc[2] * pc.z;
  const k = pose.intrinsics;
  return (x, y) => {
    const denom = nc[0] * ((x + 0.5 - k.cxPx) / k.fxPx) + nc[1] * ((y + 0.5 - k.cyPx) / k.fyPx) + nc[2];
    const z = Math.abs(denom) > 1e-12 ? dist / denom : 0;
    return z > 0 ? z : 0;
  };
}

export function compositeFrame(inputs: CompositeInputs, options: CompositeOptions = {}): CompositeResult {
  const opts = { ...COMPOSITE_DEFAULTS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (opts as Record<string, unknown>)[key] = value;
  const { frame, layers, sceneDepth } = inputs;
  const fw = frame.widthPx;
  const fh = frame.heightPx;
  if (frame.data.byteLength !== fw * fh * 3) throw new VaneliaError('compositor', 'INVALID_FRAME', `frame ${layers.frameIndex} carries ${frame.data.byteLength} bytes, ${fw}x${fh} RGB needs ${fw * fh * 3}.`);
  if (layers.frameWidthPx !== fw || layers.frameHeightPx !== fh) {
    throw new VaneliaError('compositor', 'FRAME_SIZE_MISMATCH', `frame ${layers.frameIndex} is ${fw}x${fh} but its camera is ${layers.frameWidthPx}x${layers.frameHeightPx}.`);
  }
  const rgb = frame.data.slice();
  const { xPx: rx, yPx: ry, widthPx: rw, heightPx: rh } = layers.region;
  const productAlpha = new Uint8Array(rw * rh);
  const shadowStrength = new Uint8Array(rw * rh);
  if (rw === 0 || rh === 0) return { rgb, productAlpha, shadowStrength };
  const { colorPremultiplied: color, productMask, shadowMask, depth } = layers;
  const planeDepth = sceneDepth && inputs.pose && inputs.plane ? planeDepthFunction(inputs.pose, inputs.plane) : undefined;
  const shadowOpacity = Math.max(0, Math.min(1, opts.shadowOpacity)) / 255;
  const lut = SRGB8_TO_LINEAR;
  const src = frame.data;

  for (let ly = 0; ly < rh; ly++) {
    const y = ry + ly;
    for (let lx = 0; lx < rw; lx++) {
      const q = ly * rw + lx;
      const m = productMask[q];
      const shadowRaw = shadowMask[q];
      const c = q * 4;
      if (m === 0 && shadowRaw === 0 && color[c + 3] === 0) continue;
      const x = rx + lx;
      // Premultiplied linear colour and alpha; partially covered silhouette pixels are feathered (3x3 binomial).
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      if (opts.featherEdges && m > 0 && m < 255 && lx > 0 && ly > 0 && lx < rw - 1 && ly < rh - 1) {
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const w = (dx === 0 ? 0.5 : 0.25) * (dy === 0 ? 0.5 : 0.25);
            const t = c + (dy * rw + dx) * 4;
            r += w * lut[color[t]];
            g += w * lut[color[t + 1]];
            b += w * lut[color[t + 2]];
            a += (w * color[t + 3]) / 255;
          }
        }
      } else {
        r = lut[color[c]];
        g = lut[color[c + 1]];
        b = lut[color[c + 2]];
        a = color[c + 3] / 255;
      }
      let visible = 1;
      let shadow = shadowOpacity * shadowRaw;
      if (sceneDepth) {
        const scene = sampleSceneDepth(sceneDepth, x, y, fw, fh);
        if (scene > 0) {
          const own = depth[q];
          if (own > 0) visible = Math.max(0, Math.min(1, (scene - own) / (opts.occlusionTolerance * own) + 1));
          const ground = planeDepth && shadow > 0 ? planeDepth(x, y) : 0;
          if (ground > 0) shadow *= Math.max(0, Math.min(1, (scene - ground) / (opts.occlusionTolerance * ground) + 1));
        }
      }
      const alpha = Math.min(1, a) * visible;
      const keep = (1 - shadow) * (1 - alpha);
      const p = (y * fw + x) * 3;
      rgb[p] = linearToSrgb8(r * visible + lut[src[p]] * keep);
      rgb[p + 1] = linearToSrgb8(g * visible + lut[src[p + 1]] * keep);
      rgb[p + 2] = linearToSrgb8(b * visible + lut[src[p + 2]] * keep);
      productAlpha[q] = alpha * 255 + 0.5;
      shadowStrength[q] = shadow * 255 + 0.5;
    }
  }
  return { rgb, productAlpha, shadowStrength };
}
