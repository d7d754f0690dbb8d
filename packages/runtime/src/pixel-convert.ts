import { PixelFormat, type Frame } from '@vanelia/proto';
import { VaneliaError, type StageName } from './errors';

// BT.601 limited range, as ffmpeg converts rgb24 <-> yuv420p by default, so frames converted here and
// frames converted by ffmpeg agree.
const KY = 1.164383;

/** I420 (planar 4:2:0) to RGB8; each chroma sample covers its 2x2 block, as ffmpeg's default conversion does. */
export function i420ToRgb(data: Uint8Array, widthPx: number, heightPx: number, out = Buffer.allocUnsafe(widthPx * heightPx * 3)): Buffer {
  const cw = Math.ceil(widthPx / 2);
  const ch = Math.ceil(heightPx / 2);
  const uPlane = widthPx * heightPx;
  const vPlane = uPlane + cw * ch;
  for (let y = 0; y < heightPx; y++) {
    const chromaRow = (y >> 1) * cw;
    for (let x = 0; x < widthPx; x++) {
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
  const cw = Math.ceil(widthPx / 2);
  const ch = Math.ceil(heightPx / 2);
  const out = Buffer.allocUnsafe(widthPx * heightPx + 2 * cw * ch);
  for (let i = 0, p = 0; i < widthPx * heightPx; i++, p += 3) {
    out[i] = clamp(16 + 0.256788 * rgb[p] + 0.504129 * rgb[p + 1] + 0.097906 * rgb[p + 2]);
  }
  const uPlane = widthPx * heightPx;
  const vPlane = uPlane + cw * ch;
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
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
