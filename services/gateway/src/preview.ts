import { PixelFormat, type Frame } from '@vanelia/proto';
import { silentLogger, toRgbFrame, type Logger } from '@vanelia/runtime';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

export interface PreviewOptions {
  /** Frames sampled across the video. */
  frames?: number;
  /** Width of each thumbnail, pixels. */
  thumbWidthPx?: number;
  /** Gap between thumbnails and around the sheet, pixels. */
  gapPx?: number;
}

export const PREVIEW_DEFAULTS: Required<PreviewOptions> = { frames: 4, thumbWidthPx: 320, gapPx: 8 };

/** Frame indices spread evenly over a video (the middle of each of `count` equal parts). */
export function previewFrameIndices(frameCount: number, count = PREVIEW_DEFAULTS.frames): number[] {
  const n = Math.min(count, frameCount);
  return Array.from({ length: n }, (_, i) => Math.min(frameCount - 1, Math.floor(((i + 0.5) * frameCount) / n)));
}

const thumbName = (kind: 'before' | 'after', index: number): string => `${kind}-${String(index).padStart(7, '0')}.png`;

/**
 * Keeps small PNGs of a few source frames and the same result frames as the job passes them (so the
 * preview costs no extra decode, and survives a restart in the job's folder).
 */
export class PreviewCapture {
  private readonly wanted: Set<number>;
  private readonly writes: Array<Promise<void>> = [];

  constructor(
    private readonly folder: string,
    indices: number[],
    private readonly options: PreviewOptions = {},
    private readonly logger: Logger = silentLogger,
  ) {
    this.wanted = new Set(indices);
  }

  /** Thumbnails the sampled frames among `frames` (pixels taken now, the PNG written in the background; `flush` waits). */
  capture(kind: 'before' | 'after', frames: Frame[]): void {
    for (const frame of frames) {
      if (!this.wanted.has(frame.index)) continue;
      if (frame.format !== PixelFormat.PIXEL_FORMAT_RGB8 && frame.format !== PixelFormat.PIXEL_FORMAT_I420) continue;
      const path = join(this.folder, thumbName(kind, frame.index));
      const width = this.options.thumbWidthPx ?? PREVIEW_DEFAULTS.thumbWidthPx;
      let small: Frame;
      try {
        // Now: the frame's bytes may go on to the next stage (and out of this process) right after this.
        small = shrinkFrame(frame, width);
      } catch (error) {
        this.logger.warn('preview thumbnail failed', { frame: frame.index, error });
        continue;
      }
      this.writes.push(
        (async () => {
          await mkdir(this.folder, { recursive: true });
          const tmp = `${path}.tmp.png`;
          const rgb = toRgbFrame('gateway', small);
          await sharp(rgb.data, { raw: { width: rgb.widthPx, height: rgb.heightPx, channels: 3 } }).resize({ width }).png().toFile(tmp);
          await rename(tmp, path);
        })().catch((error: unknown) => this.logger.warn('preview thumbnail failed', { frame: frame.index, error })),
      );
    }
  }

  async flush(): Promise<void> {
    await Promise.all(this.writes.splice(0));
  }
}

/**
 * The frame scaled down by a whole step (at least `minWidthPx` wide still), in its own format: a
 * thumbnail needs a few thousandths of a 1080p frame's colour conversion. Luma is a 2x2 mean at each step.
 */
export function shrinkFrame(frame: Frame, minWidthPx: number): Frame {
  const { widthPx: w, heightPx: h } = frame;
  const i420 = frame.format === PixelFormat.PIXEL_FORMAT_I420;
  let step = Math.max(1, Math.floor(w / Math.max(1, minWidthPx)));
  if (i420 && step > 1) step -= step % 2; // chroma samples stay on the grid
  if (step === 1) return { ...frame, data: frame.data }; // its bytes now (an unread frame's are read here)
  const ow = Math.floor(w / step);
  const oh = Math.floor(h / step);
  const src = frame.data;
  if (!i420) {
    const out = Buffer.allocUnsafe(ow * oh * 3);
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) src.copy(out, (y * ow + x) * 3, (y * step * w + x * step) * 3, (y * step * w + x * step) * 3 + 3);
    return { ...frame, widthPx: ow, heightPx: oh, data: out };
  }
  const [cw, ocw, och] = [Math.ceil(w / 2), Math.ceil(ow / 2), Math.ceil(oh / 2)];
  const out = Buffer.allocUnsafe(ow * oh + 2 * ocw * och);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const p = y * step * w + x * step;
      out[y * ow + x] = (src[p] + src[p + 1] + src[p + w] + src[p + w + 1] + 2) >> 2;
    }
  }
  const [uIn, vIn, uOut, vOut] = [w * h, w * h + cw * Math.ceil(h / 2), ow * oh, ow * oh + ocw * och];
  for (let y = 0; y < och; y++) {
    for (let x = 0; x < ocw; x++) {
      const c = Math.min(y * step, Math.ceil(h / 2) - 1) * cw + Math.min(x * step, cw - 1);
      out[uOut + y * ocw + x] = src[uIn + c];
      out[vOut + y * ocw + x] = src[vIn + c];
    }
  }
  return { ...frame, widthPx: ow, heightPx: oh, data: out };
}

/**
 * The before/after contact sheet: the sampled source frames in a row above the same frames of the
 * result. Uses the pairs captured so far; returns false when there is none yet.
 */
export async function makeContactSheet(folder: string, outputPath: string, options: PreviewOptions = {}): Promise<boolean> {
  const o = { ...PREVIEW_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const names = existsSync(folder) ? await readdir(folder) : [];
  const indices = names
    .map((n) => /^before-(\d+)\.png$/.exec(n)?.[1])
    .filter((i): i is string => i !== undefined && names.includes(`after-${i}.png`))
    .map(Number)
    .sort((a, b) => a - b);
  if (indices.length === 0) return false;
  const firstMeta = await sharp(join(folder, thumbName('before', indices[0]))).metadata();
  const cellW = firstMeta.width ?? o.thumbWidthPx;
  const cellH = firstMeta.height ?? Math.round((o.thumbWidthPx * 9) / 16);
  const width = o.gapPx + indices.length * (cellW + o.gapPx);
  const height = o.gapPx * 3 + cellH * 2;
  const tiles = indices.flatMap((index, column) =>
    (['before', 'after'] as const).map((kind, row) => ({
      input: join(folder, thumbName(kind, index)),
      left: o.gapPx + column * (cellW + o.gapPx),
      top: o.gapPx + row * (cellH + o.gapPx),
    })),
  );
  const tmp = `${outputPath}.tmp.png`;
  await sharp({ create: { width, height, channels: 3, background: { r: 24, g: 24, b: 24 } } }).composite(tiles).png().toFile(tmp);
  await rename(tmp, outputPath);
  return true;
}
