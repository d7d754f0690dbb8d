import { VaneliaError, assertFrame, frameBytesExpected, isLazyFrame, readFrameInto } from '@vanelia/runtime';
import { PixelFormat, type Frame, type VideoInfo } from '@vanelia/proto';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { FFMPEG_PIXEL_FORMATS } from './decode';
import { once } from 'node:events';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface EncodeOptions {
  /** x264 constant rate factor: lower is better quality (17 keeps PSNR above 40 dB on camera footage). */
  crf?: number;
  /** x264 preset. */
  preset?: string;
  /** Video whose first audio stream is carried over; '' for none. */
  audioSourcePath?: string;
  ffmpegPath?: string;
  /** Format of the frames written: RGB8 or I420. */
  frameFormat?: PixelFormat;
}

export const ENCODE_DEFAULTS: Required<EncodeOptions> = {
  crf: 17,
  preset: 'medium',
  audioSourcePath: '',
  ffmpegPath: process.env.VANELIA_FFMPEG ?? 'ffmpeg',
  frameFormat: PixelFormat.PIXEL_FORMAT_RGB8,
};

/** Audio codecs an mp4 carries as they are; others are transcoded to AAC. */
/** Frame buffers kept for reuse at most (ffmpeg's pipe holds one or two at a time). */
const SPARE_BUFFERS = 4;

const MP4_AUDIO_CODECS = new Set(['aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus', 'flac']);

export interface EncodeResult {
  outputPath: string;
  frameCount: number;
  sizeBytes: number;
  audioCopied: boolean;
}

/**
 * H.264 mp4 encoder fed frame by frame: source fps kept exactly (rational), yuv420p for players,
 * audio from the source passed through. Frames must arrive in order; `write` waits on ffmpeg's pipe.
 */
export class FrameEncoder {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private frameCount = 0;
  private nextIndex: number | undefined;
  private readonly withAudio: boolean;
  private readonly frameFormat: PixelFormat;
  /** Frame buffers written to ffmpeg and free again. */
  private readonly spare: Buffer[] = [];

  private constructor(
    readonly outputPath: string,
    private readonly video: VideoInfo,
    options: Required<EncodeOptions>,
    audioCodec: string,
  ) {
    this.withAudio = options.audioSourcePath !== '' && audioCodec !== '';
    this.frameFormat = options.frameFormat;
    const args = [
      '-v', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', FFMPEG_PIXEL_FORMATS[options.frameFormat]!, '-s', `${video.widthPx}x${video.heightPx}`,
      '-framerate', `${video.fpsNum}/${video.fpsDen}`, '-i', 'pipe:0',
    ];
    if (this.withAudio) args.push('-i', options.audioSourcePath, '-map', '0:v:0', '-map', '1:a:0');
    args.push('-c:v', 'libx264', '-preset', options.preset, '-crf', String(options.crf), '-pix_fmt', 'yuv420p');
    if (this.withAudio) args.push('-c:a', MP4_AUDIO_CODECS.has(audioCodec) ? 'copy' : 'aac');
    args.push('-movflags', '+faststart', outputPath);
    this.proc = spawn(options.ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
    this.proc.stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += d.toString();
    });
    this.proc.stdin.on('error', () => undefined); // reported through the exit code
    this.exited = new Promise((resolve) => this.proc.once('close', (code) => resolve(code)));
  }

  /** Starts ffmpeg; `audioCodec` is the source's audio codec ('' when it has none). */
  static async open(outputPath: string, video: VideoInfo, audioCodec: string, options: EncodeOptions = {}): Promise<FrameEncoder> {
    const o = { ...ENCODE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined && v !== 0 && v !== '')) };
    if (video.widthPx % 2 !== 0 || video.heightPx % 2 !== 0) {
      throw new VaneliaError('decoder', 'ODD_SIZE', `H.264 yuv420p needs even sides; got ${video.widthPx}x${video.heightPx}.`);
    }
    if (!FFMPEG_PIXEL_FORMATS[o.frameFormat]) {
      throw new VaneliaError('decoder', 'UNSUPPORTED_FORMAT', `frames can be encoded from RGB8 or I420, not ${PixelFormat[o.frameFormat]}.`);
    }
    if (video.fpsNum === 0 || video.fpsDen === 0) {
      throw new VaneliaError('decoder', 'NO_FRAME_RATE', 'the encode config has no frame rate.');
    }
    await mkdir(dirname(outputPath), { recursive: true });
    return new FrameEncoder(outputPath, video, o, audioCodec);
  }

  /** Appends frames (the configured format and size, consecutive indices). */
  async write(frames: Frame[]): Promise<void> {
    const expected = { widthPx: this.video.widthPx, heightPx: this.video.heightPx, format: this.frameFormat };
    for (const frame of frames) {
      if (this.nextIndex !== undefined && frame.index !== this.nextIndex) {
        throw new VaneliaError('decoder', 'FRAME_ORDER', `frame ${frame.index} arrived where frame ${this.nextIndex} was expected.`);
      }
      if (this.proc.exitCode !== null) break;
      // A frame still in the frame memory is read into one of a few reused buffers (no new memory a frame).
      let bytes: Buffer;
      let spare: Buffer | undefined;
      if (isLazyFrame(frame) && frameBytesExpected(frame.widthPx, frame.heightPx, frame.format) > 0) {
        spare = this.spare.pop() ?? Buffer.allocUnsafe(frameBytesExpected(frame.widthPx, frame.heightPx, frame.format));
        bytes = readFrameInto(frame, spare)!;
      } else bytes = frame.data;
      const { index, widthPx, heightPx, format, ptsUs } = frame;
      assertFrame('decoder', { index, widthPx, heightPx, format, ptsUs, data: bytes, memoryRef: undefined }, expected);
      this.nextIndex = frame.index + 1;
      const written = this.proc.stdin.write(bytes, () => {
        if (spare && this.spare.length < SPARE_BUFFERS) this.spare.push(spare);
      });
      if (!written) await Promise.race([once(this.proc.stdin, 'drain'), this.exited]);
      this.frameCount += 1;
    }
    if (this.proc.exitCode !== null && this.proc.exitCode !== 0) await this.finish();
  }

  /** Closes the input and waits for the mp4. */
  async finish(): Promise<EncodeResult> {
    this.proc.stdin.end();
    const code = await this.exited;
    if (code !== 0) {
      throw new VaneliaError('decoder', 'ENCODE_FAILED', `ffmpeg could not encode ${this.outputPath}: ${this.stderr.trim().split('\n')[0] || `exit code ${code}`}.`, {
        code: 'INTERNAL',
      });
    }
    const { size } = await stat(this.outputPath);
    return { outputPath: this.outputPath, frameCount: this.frameCount, sizeBytes: size, audioCopied: this.withAudio };
  }

  /** Stops ffmpeg without finishing the file (cancelled jobs). */
  abort(): void {
    this.proc.kill('SIGKILL');
  }
}
