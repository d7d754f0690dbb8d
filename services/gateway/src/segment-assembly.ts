import { VaneliaError } from '@vanelia/runtime';
import { spawn } from 'node:child_process';
import { rename, rm, stat, writeFile } from 'node:fs/promises';

/** One encoded segment: an absolute path and how many frames it holds. */
export interface AssembledSegment {
  path: string;
  frameCount: number;
}

export interface AssembleOptions {
  /** The segments, in order. */
  segments: AssembledSegment[];
  /** Frame rate of the segments (fps = num / den). */
  fpsNum: number;
  fpsDen: number;
  /** Absolute path of the mp4 to write (replaced atomically). */
  outputPath: string;
  /** Video whose first audio stream goes into the output ('' for none). */
  audioSourcePath?: string;
  /** The source's audio codec (copied when mp4 carries it, else AAC). */
  audioCodec?: string;
  ffmpegPath?: string;
  signal?: AbortSignal;
}

/** Audio codecs an mp4 carries as they are (the decoder's encoder decides the same way). */
const MP4_AUDIO_CODECS = new Set(['aac', 'mp3', 'alac', 'ac3', 'eac3', 'opus', 'flac']);

/**
 * The concat demuxer's list: each segment with its exact duration (frames / fps). Without it ffmpeg
 * takes the mp4's millisecond duration, and NTSC rates drift at every join (10 ticks of 1/30000 a segment).
 */
export function concatList(segments: AssembledSegment[], fpsNum: number, fpsDen: number): string {
  const lines = segments.map((s) => `file '${s.path.replace(/'/g, "'\\''")}'\nduration ${((s.frameCount * fpsDen) / fpsNum).toFixed(9)}`);
  return `ffconcat version 1.0\n${lines.join('\n')}\n`;
}

/**
 * Joins the encoded segments into the final mp4 without re-encoding (ffmpeg's concat demuxer, stream
 * copy) and adds the source's audio, with the index at the front for streaming players. Returns its size.
 */
export async function assembleSegments(o: AssembleOptions): Promise<number> {
  if (o.segments.length === 0) throw new VaneliaError('gateway', 'NO_FRAMES', 'the job produced no frames to assemble.', { code: 'FAILED_PRECONDITION' });
  const list = `${o.outputPath}.segments.txt`;
  const partial = `${o.outputPath}.partial.mp4`;
  await writeFile(list, concatList(o.segments, o.fpsNum, o.fpsDen));
  const audio = Boolean(o.audioSourcePath && o.audioCodec);
  const args = ['-v', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', list];
  if (audio) args.push('-i', o.audioSourcePath!, '-map', '0:v:0', '-map', '1:a:0', '-c:a', MP4_AUDIO_CODECS.has(o.audioCodec!) ? 'copy' : 'aac');
  else args.push('-map', '0:v:0');
  args.push('-c:v', 'copy', '-movflags', '+faststart', partial);
  try {
    await runFfmpeg(o.ffmpegPath ?? process.env.VANELIA_FFMPEG ?? 'ffmpeg', args, o.signal);
    await rename(partial, o.outputPath);
    return (await stat(o.outputPath)).size;
  } finally {
    await rm(list, { force: true });
    await rm(partial, { force: true });
  }
}

function runFfmpeg(ffmpeg: string, args: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    const onAbort = (): void => void proc.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    proc.once('error', (error) =>
      reject(new VaneliaError('gateway', 'FFMPEG_MISSING', `cannot run ${ffmpeg} to assemble the result: ${error.message}.`, { code: 'FAILED_PRECONDITION', cause: error })),
    );
    proc.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new VaneliaError('gateway', 'CANCELLED', 'the job was cancelled.', { code: 'CANCELLED' }));
      else if (code === 0) resolve();
      else reject(new VaneliaError('gateway', 'ASSEMBLY_FAILED', `ffmpeg could not join the segments: ${stderr.trim().split('\n')[0] || `exit code ${code}`}.`, { code: 'INTERNAL' }));
    });
  });
}
