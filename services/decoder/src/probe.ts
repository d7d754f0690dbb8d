import { VaneliaError } from '@vanelia/runtime';
import type { VideoInfo } from '@vanelia/proto';
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The part of ffprobe's JSON (-show_streams -show_format) the decoder reads. */
interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number | string }>;
}
interface ProbeData {
  streams: ProbeStream[];
  format: { duration?: string };
}

/** Parses "30000/1001" into a reduced rational; "0/0" and garbage give undefined. */
export function parseRational(text: string | undefined): { num: number; den: number } | undefined {
  if (!text) return undefined;
  const [a, b = '1'] = text.split('/');
  const num = Number(a);
  const den = Number(b);
  if (!Number.isFinite(num) || !Number.isFinite(den) || num <= 0 || den <= 0) return undefined;
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  const g = gcd(Math.round(num), Math.round(den)) || 1;
  return { num: Math.round(num) / g, den: Math.round(den) / g };
}

/** Clockwise display rotation in degrees (0, 90, 180, 270) from a stream's side data or tags. */
function rotationOf(stream: ProbeStream): number {
  const sideData = stream.side_data_list ?? [];
  const fromMatrix = sideData.find((d) => d.rotation !== undefined)?.rotation;
  // The display matrix rotation is counter-clockwise; the old `rotate` tag is clockwise.
  const degrees = fromMatrix !== undefined ? -Number(fromMatrix) : Number(stream.tags?.rotate ?? 0);
  return (((Math.round(degrees / 90) * 90) % 360) + 360) % 360;
}

/** Runs ffprobe on a local file and describes its first video stream (displayed, upright size). */
export async function probeVideo(path: string): Promise<VideoInfo> {
  try {
    await access(path);
  } catch {
    throw new VaneliaError('decoder', 'NOT_FOUND', `video ${path} does not exist or cannot be read.`, { code: 'NOT_FOUND' });
  }
  // ffprobe is spawned directly: fluent-ffmpeg's parser drops side data, where phones keep the rotation.
  const ffprobe = process.env.VANELIA_FFPROBE ?? 'ffprobe';
  const data = await execFileAsync(ffprobe, ['-v', 'error', '-count_packets', '-show_streams', '-show_format', '-of', 'json', path], { maxBuffer: 16 * 1024 * 1024 })
    .then(({ stdout }) => JSON.parse(stdout) as ProbeData)
    .catch((error: Error & { stderr?: string }) => {
      const reason = (error.stderr ?? error.message).split('\n').map((l) => l.trim()).find((l) => l.length > 0);
      throw new VaneliaError('decoder', 'INVALID_VIDEO', `cannot read ${path} as a video${reason ? ` (${reason.replace(/^.*?: /, '')})` : ''}.`, { cause: error });
    });
  const video = data.streams.find((s) => s.codec_type === 'video');
  if (!video || !video.width || !video.height) {
    throw new VaneliaError('decoder', 'NO_VIDEO_STREAM', `${path} has no video stream.`);
  }
  const audio = data.streams.find((s) => s.codec_type === 'audio');
  const fps = parseRational(video.avg_frame_rate) ?? parseRational(video.r_frame_rate);
  if (!fps) throw new VaneliaError('decoder', 'NO_FRAME_RATE', `${path} declares no frame rate.`);
  const rotationDeg = rotationOf(video);
  const swap = rotationDeg === 90 || rotationDeg === 270;
  const counted = Number(video.nb_read_packets ?? NaN);
  const declared = Number(video.nb_frames ?? NaN);
  const durationS = Number(video.duration ?? data.format?.duration ?? 0) || 0;
  const frameCount = Number.isFinite(counted) && counted > 0 ? counted : Number.isFinite(declared) ? declared : Math.round((durationS * fps.num) / fps.den);
  return {
    widthPx: swap ? video.height : video.width,
    heightPx: swap ? video.width : video.height,
    fpsNum: fps.num,
    fpsDen: fps.den,
    frameCount,
    durationS,
    rotationDeg,
    hasAudio: audio !== undefined,
    videoCodec: video.codec_name ?? '',
    audioCodec: audio?.codec_name ?? '',
  };
}
