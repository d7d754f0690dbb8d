import { FrameEncoder, decodeFrames, probeVideo } from '@vanelia/decoder';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleSegments, concatList } from '../src/segment-assembly';
import { decodeAllRgb, makeTestVideo, probeStreams, psnr } from '../../../test/helpers/video';

const run = promisify(execFile);

describe('segment assembly', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), "vanelia-assemble-it's-"))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('lists segments for the concat demuxer with quoted paths and exact durations', () => {
    expect(concatList([{ path: "/a/it's.mp4", frameCount: 10 }, { path: '/b.mp4', frameCount: 3 }], 30000, 1001)).toBe(
      "ffconcat version 1.0\nfile '/a/it'\\''s.mp4'\nduration 0.333666667\nfile '/b.mp4'\nduration 0.100100000\n",
    );
  });

  it('joins video-only segments without re-encoding and adds the source audio, fps kept', async () => {
    const source = join(dir, 'source.mp4');
    await makeTestVideo(source, { widthPx: 160, heightPx: 96, fps: '30000/1001', frames: 30, audio: true });
    // Three segments of 10 frames, encoded on their own by the decoder's encoder (as its Encode calls do).
    const info = await probeVideo(source);
    const segments: string[] = [];
    let encoder: FrameEncoder | undefined;
    for await (const batch of decodeFrames(source, info, { batchSize: 10 })) {
      const segment = join(dir, `${segments.length}.mp4`);
      encoder = await FrameEncoder.open(segment, info, '', {});
      await encoder.write(batch);
      await encoder.finish();
      segments.push(segment);
    }
    expect(segments).toHaveLength(3);
    const output = join(dir, 'out.mp4');
    const parts = segments.map((path) => ({ path, frameCount: 10 }));
    const bytes = await assembleSegments({ segments: parts, fpsNum: 30000, fpsDen: 1001, outputPath: output, audioSourcePath: source, audioCodec: 'aac' });
    const probed = await probeStreams(output);
    expect(probed).toMatchObject({ frames: 30, fps: '30000/1001', widthPx: 160, heightPx: 96, audioCodec: 'aac' });
    expect(bytes).toBeGreaterThan(1000);
    // Every frame exactly 1001 ticks of 1/30000 after the one before, across the joins too.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', output]);
    const pts = stdout.trim().split('\n').map(Number).sort((x, y) => x - y);
    expect(new Set(pts.slice(1).map((p, i) => p - pts[i]))).toEqual(new Set([1001]));
    const [a, b] = [await decodeAllRgb(source), await decodeAllRgb(output)];
    expect(psnr(Buffer.concat(a.frames), Buffer.concat(b.frames))).toBeGreaterThan(35);
  });

  it('fails with a sentence when a segment is not readable, leaving no partial output', async () => {
    const output = join(dir, 'bad.mp4');
    const fps = { fpsNum: 25, fpsDen: 1 };
    await expect(assembleSegments({ segments: [{ path: join(dir, 'missing.mp4'), frameCount: 5 }], ...fps, outputPath: output })).rejects.toThrow(/^gateway: ffmpeg could not join the segments: /);
    await expect(assembleSegments({ segments: [], ...fps, outputPath: output })).rejects.toThrow('gateway: the job produced no frames to assemble.');
    expect(existsSync(output) || existsSync(`${output}.partial.mp4`)).toBe(false);
  });
});
