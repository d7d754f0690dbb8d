import { PixelFormat } from '@vanelia/proto';
import { rgbFrame } from '@vanelia/runtime';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAllRgb, makeTestVideo, probeStreams, psnr } from '../../../test/helpers/video';
import { FrameEncoder, decodeFrames, parseRational, probeVideo } from '../src/index';

describe('decoder domain', () => {
  let dir: string;
  let rotated: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-decoder-'));
    rotated = join(dir, 'rotated.mp4');
    await makeTestVideo(rotated, { widthPx: 160, heightPx: 96, fps: '24000/1001', frames: 20, audio: true, rotationDeg: 90 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('parses rational frame rates', () => {
    expect(parseRational('30000/1001')).toEqual({ num: 30000, den: 1001 });
    expect(parseRational('50/2')).toEqual({ num: 25, den: 1 });
    expect(parseRational('0/0')).toBeUndefined();
  });

  it('probes the displayed size, rotation, fps, frames and audio', async () => {
    const info = await probeVideo(rotated);
    expect(info).toMatchObject({ widthPx: 96, heightPx: 160, rotationDeg: 90, fpsNum: 24000, fpsDen: 1001, frameCount: 20, hasAudio: true, audioCodec: 'aac' });
  });

  it('decodes upright frames in batches, and a frame range', async () => {
    const info = await probeVideo(rotated);
    const batches: number[][] = [];
    for await (const batch of decodeFrames(rotated, info, { batchSize: 8 })) {
      batches.push(batch.map((f) => f.index));
      for (const f of batch) expect(f.data.byteLength).toBe(96 * 160 * 3);
    }
    expect(batches.map((b) => b.length)).toEqual([8, 8, 4]);
    const reference = await decodeAllRgb(rotated);
    const range: number[] = [];
    for await (const batch of decodeFrames(rotated, info, { batchSize: 3, startFrame: 5, endFrame: 11 })) {
      for (const f of batch) {
        range.push(f.index);
        expect(psnr(f.data, reference.frames[f.index])).toBe(Infinity);
      }
    }
    expect(range).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it('encodes at the source fps with the audio carried over', async () => {
    const info = await probeVideo(rotated);
    const out = join(dir, 'out.mp4');
    const encoder = await FrameEncoder.open(out, info, info.audioCodec, { audioSourcePath: rotated });
    for await (const batch of decodeFrames(rotated, info)) await encoder.write(batch);
    const result = await encoder.finish();
    expect(result).toMatchObject({ frameCount: 20, audioCopied: true });
    expect(await probeStreams(out)).toMatchObject({ frames: 20, fps: '24000/1001', widthPx: 96, heightPx: 160, audioCodec: 'aac' });
  });

  it('names the problem with bad input', async () => {
    const notVideo = join(dir, 'notes.mp4');
    await writeFile(notVideo, 'these are not frames');
    await expect(probeVideo(notVideo)).rejects.toThrow(/^decoder: cannot read .*notes\.mp4 as a video/);
    await expect(probeVideo(join(dir, 'missing.mp4'))).rejects.toThrow(/does not exist/);
    const info = await probeVideo(rotated);
    await expect(FrameEncoder.open(join(dir, 'odd.mp4'), { ...info, widthPx: 95 }, '')).rejects.toThrow(/even sides/);
    const encoder = await FrameEncoder.open(join(dir, 'bad.mp4'), info, '');
    await expect(encoder.write([rgbFrame(0, 96, 160, new Uint8Array(10))])).rejects.toThrow('decoder: frame 0 carries 10 bytes, 96x160 needs 46080.');
    await expect(encoder.write([{ ...rgbFrame(1, 96, 160, new Uint8Array(96 * 160 * 3)), format: PixelFormat.PIXEL_FORMAT_RGBA8 }])).rejects.toThrow(/frame 1 carries/);
    encoder.abort();
  });
});
