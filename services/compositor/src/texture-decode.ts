import { VaneliaError } from '@vanelia/runtime';
import sharp from 'sharp';
import { inflateSync } from 'node:zlib';
import { transcodeBasisKtx2 } from './basis-transcoder';

/** A decoded texture: RGBA8, rows top to bottom (glTF's image order, UV (0,0) at the first pixel). */
export interface DecodedImage {
  widthPx: number;
  heightPx: number;
  data: Uint8Array;
}

export interface TextureDecodeOptions {
  /** Most pixels an image may have, read from its header before decoding. */
  maxPixels?: number;
  /** Longest side kept; larger images are downscaled after decoding (memory and render speed). */
  maxSizePx?: number;
}

export const TEXTURE_DECODE_DEFAULTS: Required<TextureDecodeOptions> = {
  maxPixels: 8192 * 8192,
  maxSizePx: 4096,
};

const KTX2_IDENTIFIER = [0xab, 0x4b, 0x54, 0x58, 0x20, 0x32, 0x30, 0xbb, 0x0d, 0x0a, 0x1a, 0x0a];

/** Uncompressed KTX2 formats read directly: vkFormat -> channels. */
const KTX2_PLAIN_FORMATS: Record<number, number> = { 9: 1, 15: 1, 16: 2, 22: 2, 23: 3, 29: 3, 37: 4, 43: 4 };

function badTexture(label: string, sentence: string, cause?: unknown): VaneliaError {
  return new VaneliaError('compositor', 'INVALID_TEXTURE', `${label} ${sentence}`, { cause });
}

/** Decodes PNG, JPEG, WebP, AVIF (sharp) or KTX2 (plain, zlib/zstd, or Basis) into RGBA8. */
export async function decodeTexture(bytes: Uint8Array, mimeType: string, label: string, options: TextureDecodeOptions = {}): Promise<DecodedImage> {
  const opts = { ...TEXTURE_DECODE_DEFAULTS };
  if (options.maxPixels !== undefined) opts.maxPixels = options.maxPixels;
  if (options.maxSizePx !== undefined) opts.maxSizePx = options.maxSizePx;
  if (bytes.byteLength === 0) throw badTexture(label, 'is empty: the texture is missing.');
  const image = isKtx2(bytes) || mimeType === 'image/ktx2' ? await decodeKtx2(bytes, label, opts.maxPixels) : await decodeWithSharp(bytes, label, opts.maxPixels);
  return downscale(image, opts.maxSizePx);
}

function isKtx2(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 12 && KTX2_IDENTIFIER.every((b, i) => bytes[i] === b);
}

async function decodeWithSharp(bytes: Uint8Array, label: string, maxPixels: number): Promise<DecodedImage> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (error) {
    throw badTexture(label, `is not a readable image (${(error as Error).message}).`, error);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > maxPixels) throw badTexture(label, `is ${width}x${height}, more than the ${maxPixels} pixels allowed.`);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .ensureAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4 || data.byteLength !== info.width * info.height * 4) throw new Error(`decoded to ${info.channels} channels of ${data.byteLength} bytes`);
    return { widthPx: info.width, heightPx: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (error) {
    throw badTexture(label, `could not be decoded (${(error as Error).message}).`, error);
  }
}

interface Ktx2Header {
  vkFormat: number;
  widthPx: number;
  heightPx: number;
  supercompression: number;
  level0: { offset: number; length: number; uncompressed: number };
  colorModel: number;
}

function readKtx2Header(bytes: Uint8Array, label: string): Ktx2Header {
  if (bytes.byteLength < 80 + 24) throw badTexture(label, 'is a truncated KTX2 file.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const levelCount = Math.max(1, u32(40));
  if (80 + levelCount * 24 > bytes.byteLength) throw badTexture(label, 'has a KTX2 level index past the end of the file.');
  const level0 = { offset: u64(80), length: u64(88), uncompressed: u64(96) };
  if (level0.offset + level0.length > bytes.byteLength) throw badTexture(label, 'has KTX2 level 0 data past the end of the file: it is truncated.');
  const dfdOffset = u32(48);
  const colorModel = dfdOffset + 12 < bytes.byteLength ? bytes[dfdOffset + 12] : 0;
  return { vkFormat: u32(12), widthPx: u32(20), heightPx: Math.max(1, u32(24)), supercompression: u32(44), level0, colorModel };
}

async function decodeKtx2(bytes: Uint8Array, label: string, maxPixels: number): Promise<DecodedImage> {
  if (!isKtx2(bytes)) throw badTexture(label, 'is declared image/ktx2 but lacks the KTX2 identifier.');
  const header = readKtx2Header(bytes, label);
  const { widthPx, heightPx } = header;
  if (widthPx === 0 || widthPx * heightPx > maxPixels) throw badTexture(label, `is ${widthPx}x${heightPx}, outside the ${maxPixels} pixels allowed.`);
  // Basis Universal: BasisLZ/ETC1S supercompression, or UASTC (colour model 166) with vkFormat UNDEFINED.
  if (header.supercompression === 1 || header.vkFormat === 0) {
    const data = await transcodeBasisKtx2(bytes, label);
    return { widthPx, heightPx, data };
  }
  const channels = KTX2_PLAIN_FORMATS[header.vkFormat];
  if (!channels) throw badTexture(label, `uses KTX2 vkFormat ${header.vkFormat}, which the renderer cannot decode.`);
  const expected = widthPx * heightPx * channels;
  let level = bytes.subarray(header.level0.offset, header.level0.offset + header.level0.length);
  try {
    if (header.supercompression === 3) level = new Uint8Array(inflateSync(level, { maxOutputLength: expected }));
    else if (header.supercompression === 2) level = await zstdDecode(level, expected);
    else if (header.supercompression !== 0) throw new Error(`supercompression scheme ${header.supercompression} is unknown`);
  } catch (error) {
    throw badTexture(label, `has KTX2 data that does not decompress (${(error as Error).message}).`, error);
  }
  if (level.byteLength < expected) throw badTexture(label, `has ${level.byteLength} bytes of KTX2 level 0 data, ${expected} expected.`);
  const data = new Uint8Array(widthPx * heightPx * 4);
  for (let p = 0; p < widthPx * heightPx; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = level[p * channels + Math.min(c, channels - 1)];
    data[p * 4 + 3] = channels === 4 ? level[p * 4 + 3] : channels === 2 ? level[p * 2 + 1] : 255;
  }
  return { widthPx, heightPx, data };
}

let zstd: Promise<{ decode(array: Uint8Array, size: number): Uint8Array }> | undefined;

async function zstdDecode(compressed: Uint8Array, size: number): Promise<Uint8Array> {
  zstd ??= import('three/examples/jsm/libs/zstddec.module.js').then(async ({ ZSTDDecoder }) => {
    const decoder = new ZSTDDecoder();
    await decoder.init();
    return decoder;
  });
  return (await zstd).decode(compressed, size);
}

async function downscale(image: DecodedImage, maxSizePx: number): Promise<DecodedImage> {
  const longest = Math.max(image.widthPx, image.heightPx);
  if (longest <= maxSizePx) return image;
  const scale = maxSizePx / longest;
  const widthPx = Math.max(1, Math.round(image.widthPx * scale));
  const heightPx = Math.max(1, Math.round(image.heightPx * scale));
  const data = await sharp(image.data, { raw: { width: image.widthPx, height: image.heightPx, channels: 4 } })
    .resize(widthPx, heightPx, { kernel: 'lanczos3', fit: 'fill' })
    .raw()
    .toBuffer();
  return { widthPx, heightPx, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
