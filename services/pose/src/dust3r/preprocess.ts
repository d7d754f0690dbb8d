import sharp from 'sharp';
import type { CameraIntrinsics, Frame } from '@vanelia/proto';
import { PixelFormat } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';
import { DUST3R_LONG_SIDE_PX, DUST3R_PATCH_PX } from './contract';

/** How a frame becomes the model's input: resized so its long side is 512, then centre-cropped to multiples of 16. */
export interface ModelGeometry {
  originalWidthPx: number;
  originalHeightPx: number;
  resizedWidthPx: number;
  resizedHeightPx: number;
  cropLeftPx: number;
  cropTopPx: number;
  /** The model input's size. */
  widthPx: number;
  heightPx: number;
}

/**
 * DUSt3R's `load_images(size=512)` geometry: long side to 512 (rounded), then a centred crop whose sides are
 * the largest multiples of 16 that fit; square frames are cropped to 4:3 as DUSt3R does.
 */
export function modelGeometry(widthPx: number, heightPx: number, longSidePx = DUST3R_LONG_SIDE_PX): ModelGeometry {
  if (!(widthPx >= DUST3R_PATCH_PX && heightPx >= DUST3R_PATCH_PX)) {
    throw new VaneliaError('pose', 'FRAME_TOO_SMALL', `frames of ${widthPx}x${heightPx} are too small for DUSt3R (at least 16x16).`);
  }
  const scale = longSidePx / Math.max(widthPx, heightPx);
  const rw = Math.round(widthPx * scale);
  const rh = Math.round(heightPx * scale);
  const cx = Math.floor(rw / 2);
  const cy = Math.floor(rh / 2);
  const halfW = Math.floor((2 * cx) / 16) * 8;
  let halfH = Math.floor((2 * cy) / 16) * 8;
  if (rw === rh) halfH = Math.floor((3 * halfW) / 4 / 8) * 8;
  if (halfW === 0 || halfH === 0) {
    throw new VaneliaError('pose', 'FRAME_TOO_SMALL', `frames of ${widthPx}x${heightPx} leave no 16-pixel rows at DUSt3R's size.`);
  }
  return {
    originalWidthPx: widthPx,
    originalHeightPx: heightPx,
    resizedWidthPx: rw,
    resizedHeightPx: rh,
    cropLeftPx: cx - halfW,
    cropTopPx: cy - halfH,
    widthPx: 2 * halfW,
    heightPx: 2 * halfH,
  };
}

/** The model input for one RGB8/RGBA8 frame: float32 CHW in [−1, 1] (Lanczos down, cubic up, like PIL in DUSt3R). */
export async function preprocessFrame(frame: Frame, geometry: ModelGeometry): Promise<Float32Array> {
  const channels = frame.format === PixelFormat.PIXEL_FORMAT_RGB8 ? 3 : frame.format === PixelFormat.PIXEL_FORMAT_RGBA8 ? 4 : 0;
  if (channels === 0) {
    throw new VaneliaError('pose', 'INVALID_FRAME', `frame ${frame.index} is ${PixelFormat[frame.format]}; DUSt3R needs RGB8 or RGBA8 frames.`);
  }
  if (frame.widthPx !== geometry.originalWidthPx || frame.heightPx !== geometry.originalHeightPx) {
    throw new VaneliaError('pose', 'INVALID_FRAME', `frame ${frame.index} is ${frame.widthPx}x${frame.heightPx}, the video is ${geometry.originalWidthPx}x${geometry.originalHeightPx}.`);
  }
  if (frame.data.byteLength !== frame.widthPx * frame.heightPx * channels) {
    throw new VaneliaError('pose', 'INVALID_FRAME', `frame ${frame.index} carries ${frame.data.byteLength} bytes, ${frame.widthPx}x${frame.heightPx}x${channels} needs ${frame.widthPx * frame.heightPx * channels}.`);
  }
  const upscale = geometry.resizedWidthPx > frame.widthPx;
  const rgb = await sharp(frame.data, { raw: { width: frame.widthPx, height: frame.heightPx, channels: channels as 3 | 4 } })
    .removeAlpha()
    .resize(geometry.resizedWidthPx, geometry.resizedHeightPx, { fit: 'fill', kernel: upscale ? 'cubic' : 'lanczos3' })
    .extract({ left: geometry.cropLeftPx, top: geometry.cropTopPx, width: geometry.widthPx, height: geometry.heightPx })
    .raw()
    .toBuffer();
  const plane = geometry.widthPx * geometry.heightPx;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = rgb[3 * p + c] / 127.5 - 1;
  }
  return out;
}

/**
 * Intrinsics at the original frame size for a focal found at the model's size with the principal point at
 * the model image's centre. Pixel coordinates put the image's top-left corner at (0, 0) (pixel centres at
 * +0.5, as COLMAP and NeRF's transforms.json do), so an uncropped centred camera has cx = W/2.
 */
export function intrinsicsAtOriginal(focalModelPx: number, g: ModelGeometry): CameraIntrinsics {
  const sx = g.resizedWidthPx / g.originalWidthPx;
  const sy = g.resizedHeightPx / g.originalHeightPx;
  return {
    fxPx: focalModelPx / sx,
    fyPx: focalModelPx / sy,
    cxPx: (g.cropLeftPx + g.widthPx / 2) / sx,
    cyPx: (g.cropTopPx + g.heightPx / 2) / sy,
    widthPx: g.originalWidthPx,
    heightPx: g.originalHeightPx,
  };
}

/**
 * A model-size depth map (H×W) spread over the whole resized frame (the crop's bands filled from the
 * nearest cropped pixel), so it maps onto the original frame by plain scaling.
 */
export function depthOverFrame(depth: Float32Array, g: ModelGeometry): { widthPx: number; heightPx: number; depth: Float32Array } {
  const w = g.resizedWidthPx;
  const h = g.resizedHeightPx;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(Math.max(y - g.cropTopPx, 0), g.heightPx - 1);
    for (let x = 0; x < w; x++) {
      const sx = Math.min(Math.max(x - g.cropLeftPx, 0), g.widthPx - 1);
      out[y * w + x] = depth[sy * g.widthPx + sx];
    }
  }
  return { widthPx: w, heightPx: h, depth: out };
}
