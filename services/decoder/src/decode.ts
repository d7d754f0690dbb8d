import { VaneliaError, frameBytesExpected } from '@vanelia/runtime';
import { PixelFormat, type Frame, type VideoInfo } from '@vanelia/proto';
import { spawn } from 'node:child_process';

export interface DecodeOptions {
  /** Frames a batch. */
  batchSize?: number;
  /** First frame to emit (0-based). */
  startFrame?: number;
  /** Stop before this frame; 0 = to the end. */
  endFrame?: number;
  /** ffmpeg binary. */
  ffmpegPath?: string;
  /** RGB8 (default) or I420 (the codec's own layout: no colour conversion, half the bytes). */
  format?: PixelFormat;
  /** Aborts decoding (kills ffmpeg). */
  signal?: AbortSignal;
}

export const DECODE_DEFAULTS: Required<Omit<DecodeOptions, 'signal'>> = {
  batchSize: 8,
  startFrame: 0,
  endFrame: 0,
  ffmpegPath: process.env.VANELIA_FFMPEG ?? 'ffmpeg',
  format: PixelFormat.PIXEL_FORMAT_RGB8,
};

/** ffmpeg's name for each frame format the decoder and encoder speak. */
export const FFMPEG_PIXEL_FORMATS: Partial<Record<PixelFormat, string>> = {
  [PixelFormat.PIXEL_FORMAT_RGB8]: 'rgb24',
  [PixelFormat.PIXEL_FORMAT_I420]: 'yuv420p',
};

/**
 * Decodes a video into upright RGB8 frames, in batches. ffmpeg applies the container's rotation, and
 * every decoded frame is passed through (no frame-rate conversion), so indices match the source's frames.
 * Reading is pulled by the consumer: a slow consumer pauses ffmpeg through the pipe.
 */
export async function* decodeFrames(path: string, info: VideoInfo, options: DecodeOptions = {}): AsyncGenerator<Frame[]> {
  const o = { ...DECODE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  const pixFmt = FFMPEG_PIXEL_FORMATS[o.format];
  if (!pixFmt) throw new VaneliaError('decoder', 'UNSUPPORTED_FORMAT', `frames can be decoded as RGB8 or I420, not ${PixelFormat[o.format]}.`);
  const frameBytes = frameBytesExpected(info.widthPx, info.heightPx, o.format);
  const args = ['-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1'];
  const proc = spawn(o.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const onAbort = (): void => {
    proc.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const frameUs = (1e6 * info.fpsDen) / info.fpsNum;
  let index = 0;
  let current = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  let batch: Frame[] = [];
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        chunk.copy(current, filled, offset, offset + take);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          if (index >= o.startFrame && (o.endFrame === 0 || index < o.endFrame)) {
            batch.push({ index, widthPx: info.widthPx, heightPx: info.heightPx, format: o.format, data: current, ptsUs: Math.round(index * frameUs), memoryRef: undefined });
            if (batch.length === o.batchSize) {
              yield batch;
              batch = [];
            }
          }
          index += 1;
          current = Buffer.allocUnsafe(frameBytes);
          filled = 0;
          if (o.endFrame !== 0 && index >= o.endFrame) {
            proc.kill('SIGKILL');
            break;
          }
        }
      }
      if (o.endFrame !== 0 && index >= o.endFrame) break;
    }
    if (batch.length > 0) yield batch;
    const code = await exited;
    if (options.signal?.aborted) {
      throw new VaneliaError('decoder', 'CANCELLED', 'decoding was cancelled.', { code: 'CANCELLED' });
    }
    const stoppedEarly = o.endFrame !== 0 && index >= o.endFrame;
    if (code !== 0 && !stoppedEarly) {
      throw new VaneliaError('decoder', 'DECODE_FAILED', `ffmpeg could not decode ${path}: ${stderr.trim().split('\n')[0] || `exit code ${code}`}.`);
    }
    if (filled !== 0) {
      throw new VaneliaError('decoder', 'DECODE_FAILED', `ffmpeg ended mid-frame after frame ${index} of ${path}.`);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}
