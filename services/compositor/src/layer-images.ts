import sharp from 'sharp';
import { SRGB8_TO_LINEAR, linearToSrgb8 } from './colour';
import type { RenderedLayers } from './layer-renderer';

/**
 * Full-frame images of rendered layers for files and people: PNG wants straight (not premultiplied) alpha
 * in sRGB, so the premultiplied linear layer is un-premultiplied here.
 */

/** Straight-alpha RGBA8 sRGB, full frame (transparent outside the rendered region). */
export function straightRgba(layers: RenderedLayers): Uint8Array {
  const { frameWidthPx: fw, frameHeightPx: fh, region } = layers;
  const out = new Uint8Array(fw * fh * 4);
  const src = layers.colorPremultiplied;
  for (let ly = 0; ly < region.heightPx; ly++) {
    for (let lx = 0; lx < region.widthPx; lx++) {
      const q = (ly * region.widthPx + lx) * 4;
      const alpha = src[q + 3];
      if (alpha === 0) continue;
      const p = ((region.yPx + ly) * fw + region.xPx + lx) * 4;
      const a = alpha / 255;
      out[p] = linearToSrgb8(SRGB8_TO_LINEAR[src[q]] / a);
      out[p + 1] = linearToSrgb8(SRGB8_TO_LINEAR[src[q + 1]] / a);
      out[p + 2] = linearToSrgb8(SRGB8_TO_LINEAR[src[q + 2]] / a);
      out[p + 3] = alpha;
    }
  }
  return out;
}

/** A region-sized single-channel layer placed into a full frame. */
export function fullFrame<T extends Uint8Array | Float32Array>(layers: RenderedLayers, channel: T, make: (length: number) => T): T {
  const { frameWidthPx: fw, frameHeightPx: fh, region } = layers;
  const out = make(fw * fh);
  for (let ly = 0; ly < region.heightPx; ly++) {
    const row = channel.subarray(ly * region.widthPx, (ly + 1) * region.widthPx);
    out.set(row as never, (region.yPx + ly) * fw + region.xPx);
  }
  return out;
}

/** Writes a PNG from raw 8-bit pixels. */
export async function writePng(path: string, data: Uint8Array, widthPx: number, heightPx: number, channels: 1 | 3 | 4): Promise<void> {
  await sharp(data, { raw: { width: widthPx, height: heightPx, channels } }).png({ compressionLevel: 6 }).toFile(path);
}
