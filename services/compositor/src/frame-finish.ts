import { VaneliaError, i420ToRgb, rgbToI420Into } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import type { CameraPose } from './camera-model';
import { compositeFrame, type CompositeOptions } from './composite';
import { buildInpaintMask, type InpaintMaskOptions } from './inpaint-mask';
import { assembleLayers, emptyLayers, type RenderedLayers, type RenderedPasses } from './layer-renderer';
import type { PixelRect } from './product-stage';
import type { SceneDepth } from './scene-depth';

/**
 * The per-pixel work of one frame once its GPU passes are read back: assemble the layers, composite them
 * into the frame in linear light, build the inpaint mask, and convert from and to I420 when the frame came
 * as I420. Plain data in, plain data out (typed arrays, no class instances), so it runs the same on the
 * job's thread or in a worker of the frame pool, and gives the same bytes either way.
 */

/** A frame as it travels: RGB8 (sRGB) or I420 (planar 4:2:0, BT.601 limited range as ffmpeg converts). */
export interface FrameImage {
  widthPx: number;
  heightPx: number;
  data: Uint8Array;
  /** Pixel layout of `data`; RGB8 when absent. */
  format?: 'rgb8' | 'i420';
}

export interface FinishTask {
  frame: FrameImage;
  frameIndex: number;
  /** The frame's passes; undefined when the product is not drawn (out of view, or no camera). */
  passes?: RenderedPasses;
  /** The camera and supporting plane, needed only with scene depth (occlusion of the shadow). */
  pose?: CameraPose;
  plane?: { pointWorld: Vec3; upWorld: Vec3 };
  sceneDepth?: SceneDepth;
  composite: CompositeOptions;
  mask: InpaintMaskOptions;
}

export interface FinishedFrame {
  frameIndex: number;
  /** Full frame in the input's format (RGB8 or I420). */
  composite: Uint8Array;
  /** GRAY8 full frame (product and shadow, dilated). */
  inpaintMask: Uint8Array;
  /** Bounding box of the inpaint mask; width 0 when the product is out of view. */
  region: PixelRect;
  layers: RenderedLayers;
}

interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/** Bytes an I420 frame of this size carries. */
export function i420Bytes(widthPx: number, heightPx: number): number {
  return widthPx * heightPx + 2 * Math.ceil(widthPx / 2) * Math.ceil(heightPx / 2);
}

/**
 * The frame as RGB8 (the same bytes when it already is); checks an I420 frame's size first. With `rect`,
 * only that part of an I420 frame is converted (the rest of the returned buffer is undefined).
 */
export function frameRgb(frame: FrameImage, frameIndex: number, rect?: PixelRect): Uint8Array {
  if (frame.format !== 'i420') return frame.data;
  const expected = i420Bytes(frame.widthPx, frame.heightPx);
  if (frame.data.byteLength !== expected) {
    throw new VaneliaError('compositor', 'INVALID_FRAME', `frame ${frameIndex} carries ${frame.data.byteLength} bytes, ${frame.widthPx}x${frame.heightPx} I420 needs ${expected}.`);
  }
  return i420ToRgb(frame.data, frame.widthPx, frame.heightPx, undefined, rect);
}

/** `region` grown to even edges (or the frame's edge), so it holds whole 4:2:0 chroma blocks. */
export function chromaAligned(region: PixelRect, widthPx: number, heightPx: number): PixelRect {
  const x0 = region.xPx & ~1;
  const y0 = region.yPx & ~1;
  const x1 = Math.min(widthPx, (region.xPx + region.widthPx + 1) & ~1);
  const y1 = Math.min(heightPx, (region.yPx + region.heightPx + 1) & ~1);
  return { xPx: x0, yPx: y0, widthPx: Math.max(0, x1 - x0), heightPx: Math.max(0, y1 - y0) };
}

export function finishFrame(task: FinishTask): FinishedFrame {
  const { frame, frameIndex } = task;
  const { widthPx, heightPx } = frame;
  const layers = task.passes ? assembleLayers(task.passes) : emptyLayers(frameIndex, widthPx, heightPx);
  // An I420 frame changes only where the layers are: only that part goes to RGB and back, and every other
  // pixel stays the input's own bytes (no colour round trip where nothing was drawn).
  const touched = chromaAligned(layers.region, widthPx, heightPx);
  const vector = (v: Vec3) => new THREE.Vector3(v.x, v.y, v.z);
  const { rgb, productAlpha, shadowStrength } = compositeFrame(
    {
      frame: { widthPx, heightPx, data: frameRgb(frame, frameIndex, touched) },
      layers,
      pose: task.pose,
      plane: task.plane && { pointWorld: vector(task.plane.pointWorld), upWorld: vector(task.plane.upWorld) },
      sceneDepth: task.sceneDepth,
    },
    task.composite,
  );
  const mask = buildInpaintMask(widthPx, heightPx, layers.region, productAlpha, shadowStrength, task.mask);
  const composite = frame.format === 'i420' ? rgbToI420Into(rgb, widthPx, heightPx, frame.data.slice(), touched) : rgb;
  return { frameIndex, composite, inpaintMask: mask.mask, region: mask.box, layers };
}

/** The distinct whole ArrayBuffers under these arrays (views of part of a buffer are left to be copied). */
export function transferables(arrays: (ArrayBufferView | undefined)[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) {
    if (a && a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.byteLength > 0) out.add(a.buffer);
  }
  return [...out];
}

/** The buffers a finished frame can hand over without copying. */
export function finishedTransferables(result: FinishedFrame): ArrayBuffer[] {
  const { layers } = result;
  return transferables([result.composite, result.inpaintMask, layers.colorPremultiplied, layers.productMask, layers.shadowMask, layers.depth]);
}
