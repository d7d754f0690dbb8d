import { PixelFormat, type Frame, type FrameBatch } from '@vanelia/proto';
import { VaneliaError, type StageName } from './errors';

/** Bytes a pixel for each frame format. */
export const BYTES_PER_PIXEL: Record<PixelFormat, number> = {
  [PixelFormat.PIXEL_FORMAT_UNSPECIFIED]: 0,
  [PixelFormat.PIXEL_FORMAT_RGB8]: 3,
  [PixelFormat.PIXEL_FORMAT_RGBA8]: 4,
  [PixelFormat.PIXEL_FORMAT_GRAY8]: 1,
  [PixelFormat.PIXEL_FORMAT_DEPTH_F32]: 4,
  [PixelFormat.PIXEL_FORMAT_I420]: 1.5,
  [PixelFormat.UNRECOGNIZED]: 0,
};

/** Size in bytes of one frame of `format` (I420: a full-size Y plane and quarter-size U and V planes). */
export function frameBytesExpected(widthPx: number, heightPx: number, format: PixelFormat): number {
  if (format === PixelFormat.PIXEL_FORMAT_I420) return widthPx * heightPx + 2 * (Math.ceil(widthPx / 2) * Math.ceil(heightPx / 2));
  return widthPx * heightPx * BYTES_PER_PIXEL[format];
}

/** An RGB8 frame over `data` (no copy). */
export function rgbFrame(index: number, widthPx: number, heightPx: number, data: Uint8Array, ptsUs = 0): Frame {
  return {
    index,
    widthPx,
    heightPx,
    format: PixelFormat.PIXEL_FORMAT_RGB8,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ptsUs,
    memoryRef: undefined,
  };
}

/** A GRAY8 frame (masks) over `data` (no copy). */
export function grayFrame(index: number, widthPx: number, heightPx: number, data: Uint8Array): Frame {
  return {
    index,
    widthPx,
    heightPx,
    format: PixelFormat.PIXEL_FORMAT_GRAY8,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ptsUs: 0,
    memoryRef: undefined,
  };
}

/** Deterministic batch id: the same frames of a job always get the same id, so retries are idempotent. */
export function batchId(jobId: string, firstFrame: number, lastFrame: number): string {
  return `${jobId}/${firstFrame}-${lastFrame}`;
}

/** A batch of consecutive frames with its deterministic id. */
export function frameBatch(jobId: string, frames: Frame[]): FrameBatch {
  const first = frames.length > 0 ? frames[0].index : 0;
  const last = frames.length > 0 ? frames[frames.length - 1].index : 0;
  return { jobId, batchId: batchId(jobId, first, last), frames };
}

/** Checks a frame's declared size and format against its bytes; throws a VaneliaError naming the problem. */
export function assertFrame(stage: StageName, frame: Frame, expected?: { widthPx: number; heightPx: number; format?: PixelFormat }): void {
  const bpp = BYTES_PER_PIXEL[frame.format] ?? 0;
  if (bpp === 0) {
    throw new VaneliaError(stage, 'INVALID_FRAME', `frame ${frame.index} has no pixel format.`);
  }
  if (frame.widthPx === 0 || frame.heightPx === 0) {
    throw new VaneliaError(stage, 'INVALID_FRAME', `frame ${frame.index} has zero size.`);
  }
  const bytes = frameBytesExpected(frame.widthPx, frame.heightPx, frame.format);
  if (frame.data.byteLength !== bytes) {
    throw new VaneliaError(
      stage,
      'INVALID_FRAME',
      `frame ${frame.index} carries ${frame.data.byteLength} bytes, ${frame.widthPx}x${frame.heightPx} needs ${bytes}.`,
    );
  }
  if (expected && (frame.widthPx !== expected.widthPx || frame.heightPx !== expected.heightPx)) {
    throw new VaneliaError(
      stage,
      'INVALID_FRAME',
      `frame ${frame.index} is ${frame.widthPx}x${frame.heightPx}, expected ${expected.widthPx}x${expected.heightPx}.`,
    );
  }
  if (expected?.format !== undefined && frame.format !== expected.format) {
    throw new VaneliaError(stage, 'INVALID_FRAME', `frame ${frame.index} has format ${PixelFormat[frame.format]}, expected ${PixelFormat[expected.format]}.`);
  }
}
