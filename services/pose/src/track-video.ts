import { probeVideo, decodeFrames } from '@vanelia/decoder';
import type { Frame } from '@vanelia/proto';
import { rgbFrame, VaneliaError } from '@vanelia/runtime';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { PoseJob, type PoseJobOptions, type PoseJobResult } from './backend';
import type { CameraTrackData } from './camera-track';
import { trackToTransformsJson } from './io/transforms-json';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.bmp']);

/** Frames of a folder of images (sorted by name, numbers in natural order) as RGB8, with their paths. */
export async function* readFrameFolder(dir: string, batchSize = 8): AsyncGenerator<{ frames: Frame[]; paths: string[] }> {
  const names = (await readdir(dir)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (names.length === 0) throw new VaneliaError('pose', 'NO_FRAMES', `the folder ${dir} holds no images (png, jpg, webp, tif, bmp).`);
  let size: { w: number; h: number } | null = null;
  for (let start = 0; start < names.length; start += batchSize) {
    const chunk = names.slice(start, start + batchSize);
    const decoded = await Promise.all(
      chunk.map(async (name) => {
        try {
          return await sharp(join(dir, name)).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        } catch (cause) {
          throw new VaneliaError('pose', 'INVALID_IMAGE', `image ${join(dir, name)} cannot be decoded.`, { cause });
        }
      }),
    );
    const frames = decoded.map(({ data, info }, k) => {
      size ??= { w: info.width, h: info.height };
      if (info.width !== size.w || info.height !== size.h) {
        throw new VaneliaError('pose', 'INVALID_FRAME', `image ${chunk[k]} is ${info.width}x${info.height}, the first image was ${size.w}x${size.h}.`);
      }
      return rgbFrame(start + k, info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    yield { frames, paths: chunk.map((n) => join(dir, n)) };
  }
}

/** Frames of a video (decoded by ffmpeg through the decoder module, rotation applied) with frame names. */
export async function* readVideoFrames(path: string, signal?: AbortSignal): AsyncGenerator<{ frames: Frame[]; paths: string[] }> {
  const info = await probeVideo(path);
  for await (const frames of decodeFrames(path, info, { batchSize: 8, signal })) {
    // Named as `ffmpeg -i video frame_%05d.png` would extract them (numbered from 1).
    yield { frames, paths: frames.map((f) => `frame_${String(f.index + 1).padStart(5, '0')}.png`) };
  }
}

/** Runs a pose job over batches of frames and labels each camera with its file path. */
export async function trackFrames(batches: AsyncIterable<{ frames: Frame[]; paths?: string[] }>, options: PoseJobOptions = {}): Promise<PoseJobResult> {
  const job = new PoseJob(options);
  const paths: string[] = [];
  for await (const batch of batches) {
    job.push(batch.frames);
    batch.frames.forEach((f, k) => paths.push(batch.paths?.[k] ?? `frame_${String(f.index + 1).padStart(5, '0')}.png`));
  }
  const result = await job.finish();
  result.track.cameras.forEach((c, i) => (c.filePath = paths[i]));
  return result;
}

export interface TrackVideoOptions extends PoseJobOptions {
  /** Where transforms.json is written. */
  outputPath: string;
}

/**
 * The track command: a video file or a folder of frames in, NeRF-style transforms.json out
 * (OpenGL camera-to-world, fl_x fl_y cx cy w h, one frame per input frame in order; for a folder,
 * file_path is relative to the output file). Returns the track.
 */
export async function trackVideo(input: string, options: TrackVideoOptions): Promise<CameraTrackData> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(input)).isDirectory();
  } catch (cause) {
    throw new VaneliaError('pose', 'NOT_FOUND', `input ${input} does not exist.`, { code: 'NOT_FOUND', cause });
  }
  const source = isFolder ? readFrameFolder(input) : readVideoFrames(input, options.signal);
  const { track } = await trackFrames(source, options);
  const outDir = dirname(resolve(options.outputPath));
  if (isFolder) for (const c of track.cameras) if (c.filePath) c.filePath = relative(outDir, resolve(c.filePath));
  await writeTransformsJson(track, options.outputPath);
  return track;
}

export async function writeTransformsJson(track: CameraTrackData, outputPath: string): Promise<void> {
  await mkdir(dirname(resolve(outputPath)), { recursive: true });
  await writeFile(outputPath, JSON.stringify(trackToTransformsJson(track), null, 2) + '\n');
}
