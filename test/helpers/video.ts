import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestVideoOptions {
  widthPx: number;
  heightPx: number;
  /** Frame rate as ffmpeg reads it ("30000/1001", "24"). */
  fps: string;
  frames: number;
  /** Add a sine-wave AAC track. */
  audio?: boolean;
  /** Container display rotation, degrees clockwise. */
  rotationDeg?: number;
}

/**
 * Writes an H.264 mp4 of ffmpeg's moving test pattern, softened like a camera's optics (the raw pattern's
 * one-pixel saturated edges are not what cameras film and lose most to 4:2:0 chroma), made here for tests.
 */
export async function makeTestVideo(path: string, o: TestVideoOptions): Promise<void> {
  const seconds = (o.frames * evalRate(o.fps) ** -1).toFixed(4);
  const args = ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${o.widthPx}x${o.heightPx}:rate=${o.fps},gblur=sigma=1.2`];
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=523:sample_rate=48000:duration=${seconds}`);
  args.push('-frames:v', String(o.frames), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p');
  if (o.audio) args.push('-c:a', 'aac', '-b:a', '96k');
  args.push(path);
  await run('ffmpeg', args);
  if (o.rotationDeg) await setMp4Rotation(path, o.rotationDeg);
}

/**
 * Writes a display rotation into the video track's tkhd matrix, as phones do (ffmpeg 5.1 cannot set it:
 * the `rotate` tag is gone and `-display_rotation` came in 6.0). `clockwiseDeg` is 90, 180 or 270.
 */
export async function setMp4Rotation(path: string, clockwiseDeg: number): Promise<void> {
  const file = await readFile(path);
  const one = 0x10000;
  const [a, b, c, d] = ({ 90: [0, one, -one, 0], 180: [-one, 0, 0, -one], 270: [0, -one, one, 0] } as Record<number, number[]>)[clockwiseDeg];
  let patched = 0;
  for (let at = file.indexOf('tkhd'); at >= 0; at = file.indexOf('tkhd', at + 4)) {
    const box = at - 4;
    const version = file[at + 4];
    const matrix = box + (version === 1 ? 60 : 48);
    const widthFixed = file.readUInt32BE(matrix + 36);
    if (widthFixed === 0) continue; // audio track
    const values = [a, b, 0, c, d, 0, 0, 0, 0x40000000];
    values.forEach((v, i) => file.writeInt32BE(v, matrix + 4 * i));
    patched += 1;
  }
  if (patched !== 1) throw new Error(`setMp4Rotation: found ${patched} video tkhd boxes in ${path}`);
  await writeFile(path, file);
}

function evalRate(fps: string): number {
  const [a, b = '1'] = fps.split('/');
  return Number(a) / Number(b);
}

/** Every frame of a video as upright RGB24 (ffmpeg applies the container's rotation). */
export async function decodeAllRgb(path: string): Promise<{ widthPx: number; heightPx: number; frames: Buffer[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:stream_side_data=rotation', '-of', 'json', path]);
  const stream = JSON.parse(stdout).streams[0];
  const rotation = Math.abs(Number(stream.side_data_list?.[0]?.rotation ?? 0)) % 180;
  const widthPx = rotation === 90 ? stream.height : stream.width;
  const heightPx = rotation === 90 ? stream.width : stream.height;
  const raw = await run('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 4 * 1024 ** 3,
  });
  const bytes = widthPx * heightPx * 3;
  const data = raw.stdout as Buffer;
  const frames: Buffer[] = [];
  for (let offset = 0; offset + bytes <= data.length; offset += bytes) frames.push(data.subarray(offset, offset + bytes));
  return { widthPx, heightPx, frames };
}

/** PSNR in dB of 8-bit images (Infinity when identical). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: sizes differ (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** What ffprobe says of a file's streams (counted frames, rational fps, size, audio codec). */
export async function probeStreams(path: string): Promise<{ frames: number; fps: string; widthPx: number; heightPx: number; audioCodec: string; rotationDeg: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,width,height,r_frame_rate,nb_read_packets:stream_side_data=rotation', '-of', 'json', path]);
  const streams = JSON.parse(stdout).streams as Array<Record<string, any>>;
  const video = streams.find((s) => s.codec_type === 'video')!;
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    frames: Number(video.nb_read_packets),
    fps: video.r_frame_rate,
    widthPx: video.width,
    heightPx: video.height,
    audioCodec: audio?.codec_name ?? '',
    rotationDeg: Number(video.side_data_list?.[0]?.rotation ?? 0),
  };
}
