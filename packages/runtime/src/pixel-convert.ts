import { PixelFormat, type Frame } from '@vanelia/proto';
import { VaneliaError, type StageName } from './errors';

// BT.601 limited range, as ffmpeg converts rgb24 <-> yuv420p by default, so frames converted here and
// frames converted by ffmpeg agree.
const KY = 1.164383;

/** A rectangle of a frame in pixels; conversions limited to it leave every other pixel of `out` as it was. */
export interface PixelRect {
  xPx: number;
  yPx: number;
  widthPx: number;
  heightPx: number;
}

/**
 * I420 (planar 4:2:0) to RGB8; each chroma sample covers its 2x2 block, as ffmpeg's default conversion does.
 * With `rect`, only its pixels are converted (into their places in the full-frame `out`).
 */
export function i420ToRgb(data: Uint8Array, widthPx: number, heightPx: number, out = Buffer.allocUnsafe(widthPx * heightPx * 3), rect?: PixelRect): Buffer {
  const cw = Math.ceil(widthPx / 2);
  const ch = Math.ceil(heightPx / 2);
  const uPlane = widthPx * heightPx;
  const vPlane = uPlane + cw * ch;
  const [x0, y0, x1, y1] = rect ? [rect.xPx, rect.yPx, rect.xPx + rect.widthPx, rect.yPx + rect.heightPx] : [0, 0, widthPx, heightPx];
  for (let y = y0; y < y1; y++) {
    const chromaRow = (y >> 1) * cw;
    for (let x = x0; x < x1; x++) {
      const c = chromaRow + (x >> 1);
      const u = data[uPlane + c] - 128;
      const v = data[vPlane + c] - 128;
      const l = KY * (data[y * widthPx + x] - 16);
      const o = (y * widthPx + x) * 3;
      out[o] = clamp(l + 1.596027 * v);
      out[o + 1] = clamp(l - 0.391762 * u - 0.812968 * v);
      out[o + 2] = clamp(l + 2.017232 * u);
    }
  }
  return out;
}

/** RGB8 to I420; chroma is the mean of each 2x2 block. */
export function rgbToI420(rgb: Uint8Array, widthPx: number, heightPx: number): Buffer {
  const out = Buffer.allocUnsafe(widthPx * heightPx + 2 * Math.ceil(widthPx / 2) * Math.ceil(heightPx / 2));
  rgbToI420Into(rgb, widthPx, heightPx, out, { xPx: 0, yPx: 0, widthPx, heightPx });
  return out;
}

/**
 * RGB8 to I420 over `rect` only, written into the full-frame I420 `out` (the rest of it is kept). `rect`
 * must start on even coordinates and end on even ones or at the frame's edge, so every chroma block it
 * touches lies inside it.
 */
export function rgbToI420Into(rgb: Uint8Array, widthPx: number, heightPx: number, out: Uint8Array, rect: PixelRect): Uint8Array {
  const cw = Math.ceil(widthPx / 2);
  const ch = Math.ceil(heightPx / 2);
  const x1 = rect.xPx + rect.widthPx;
  const y1 = rect.yPx + rect.heightPx;
  if (rect.xPx % 2 || rect.yPx % 2 || (x1 % 2 && x1 !== widthPx) || (y1 % 2 && y1 !== heightPx)) {
    throw new RangeError(`rgbToI420Into: rect ${rect.xPx},${rect.yPx} ${rect.widthPx}x${rect.heightPx} splits chroma blocks`);
  }
  for (let y = rect.yPx; y < y1; y++) {
    for (let x = rect.xPx, i = y * widthPx + x, p = i * 3; x < x1; x++, i++, p += 3) {
      out[i] = clamp(16 + 0.256788 * rgb[p] + 0.504129 * rgb[p + 1] + 0.097906 * rgb[p + 2]);
    }
  }
  const uPlane = widthPx * heightPx;
  const vPlane = uPlane + cw * ch;
  for (let cy = rect.yPx >> 1; cy < Math.ceil(y1 / 2); cy++) {
    for (let cx = rect.xPx >> 1; cx < Math.ceil(x1 / 2); cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let dy = 0; dy < 2; dy++) {
        const y = 2 * cy + dy;
        if (y >= heightPx) continue;
        for (let dx = 0; dx < 2; dx++) {
          const x = 2 * cx + dx;
          if (x >= widthPx) continue;
          const p = (y * widthPx + x) * 3;
          r += rgb[p];
          g += rgb[p + 1];
          b += rgb[p + 2];
          n += 1;
        }
      }
      r /= n;
      g /= n;
      b /= n;
      out[uPlane + cy * cw + cx] = clamp(128 - 0.148223 * r - 0.290993 * g + 0.439216 * b);
      out[vPlane + cy * cw + cx] = clamp(128 + 0.439216 * r - 0.367788 * g - 0.071427 * b);
    }
  }
  return out;
}

function clamp(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}

/** The frame as RGB8 (the same object when it already is). Domain code works on RGB8. */
export function toRgbFrame(stage: StageName, frame: Frame): Frame {
  if (frame.format === PixelFormat.PIXEL_FORMAT_RGB8) return frame;
  if (frame.format === PixelFormat.PIXEL_FORMAT_I420) {
    return { ...frame, format: PixelFormat.PIXEL_FORMAT_RGB8, data: i420ToRgb(frame.data, frame.widthPx, frame.heightPx) };
  }
  throw new VaneliaError(stage, 'UNSUPPORTED_FORMAT', `frame ${frame.index} has format ${PixelFormat[frame.format]}; RGB8 or I420 expected.`);
}

/** An RGB8 frame in `format` (RGB8 or I420), for sending back in the format it came in. */
export function fromRgbFrame(stage: StageName, frame: Frame, format: PixelFormat): Frame {
  if (format === frame.format) return frame;
  if (frame.format === PixelFormat.PIXEL_FORMAT_RGB8 && format === PixelFormat.PIXEL_FORMAT_I420) {
    return { ...frame, format, data: rgbToI420(frame.data, frame.widthPx, frame.heightPx) };
  }
  throw new VaneliaError(stage, 'UNSUPPORTED_FORMAT', `cannot convert frame ${frame.index} from ${PixelFormat[frame.format]} to ${PixelFormat[format]}.`);
}
