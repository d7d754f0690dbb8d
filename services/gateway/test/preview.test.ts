import { fromRgbFrame, rgbFrame, toRgbFrame } from '@vanelia/runtime';
import { PixelFormat } from '@vanelia/proto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreviewCapture, makeContactSheet, previewFrameIndices, shrinkFrame } from '../src/preview';

const W = 64;
const H = 36;
/** A frame of one colour per index (red rises with the index); the result's frames are inverted. */
const frame = (index: number, inverted = false) => {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) data.set(inverted ? [255 - index * 10, 255, 155] : [index * 10, 0, 100], i * 3);
  return rgbFrame(index, W, H, data);
};

describe('preview contact sheet', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'vanelia-preview-'))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('samples frames evenly', () => {
    expect(previewFrameIndices(100)).toEqual([12, 37, 62, 87]);
    expect(previewFrameIndices(3)).toEqual([0, 1, 2]);
    expect(previewFrameIndices(0)).toEqual([]);
  });

  it('puts the sampled source frames above the same result frames', async () => {
    const folder = join(dir, 'preview');
    const capture = new PreviewCapture(folder, previewFrameIndices(20), { thumbWidthPx: 32 });
    for (let i = 0; i < 20; i += 4) {
      const batch = [0, 1, 2, 3].map((k) => frame(i + k));
      capture.capture('before', batch);
      capture.capture('after', batch.map((f) => frame(f.index, true)));
    }
    await capture.flush();
    expect((await readdir(folder)).sort()).toEqual(['after-0000002.png', 'after-0000007.png', 'after-0000012.png', 'after-0000017.png', 'before-0000002.png', 'before-0000007.png', 'before-0000012.png', 'before-0000017.png']);
    const sheet = join(dir, 'sheet.png');
    expect(await makeContactSheet(folder, sheet, { gapPx: 4 })).toBe(true);
    const { data, info } = await sharp(sheet).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([4 + 4 * (32 + 4), 4 * 3 + 18 * 2]);
    const pixel = (x: number, y: number): number[] => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    // Column 2 is frame 12: red 120 above, its inverted result (135, 255, 155) below.
    expect(pixel(4 + 2 * 36 + 16, 4 + 9)).toEqual([120, 0, 100]);
    expect(pixel(4 + 2 * 36 + 16, 4 + 18 + 4 + 9)).toEqual([135, 255, 155]);
    expect(pixel(1, 1)).toEqual([24, 24, 24]);
  });

  it('has nothing to show before any pair is captured', async () => {
    expect(await makeContactSheet(join(dir, 'none'), join(dir, 'none.png'))).toBe(false);
  });

  it('shrinks a frame by a whole step before its colours are converted, keeping them', () => {
    // 1280x720 I420 of colour bands (one 40-pixel column a colour): a 4x smaller frame, same bands.
    const [w, h] = [1280, 720];
    const rgb = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([(x >> 5) * 8, 255 - (x >> 5) * 8, (y >> 5) * 11], (y * w + x) * 3);
    const big = fromRgbFrame('gateway', rgbFrame(3, w, h, rgb, 99), PixelFormat.PIXEL_FORMAT_I420);
    const small = shrinkFrame(big, 320);
    expect(small).toMatchObject({ index: 3, ptsUs: 99, widthPx: 320, heightPx: 180, format: PixelFormat.PIXEL_FORMAT_I420 });
    const out = toRgbFrame('gateway', small).data;
    let worst = 0;
    for (let y = 2; y < 180; y += 8) {
      for (let x = 2; x < 320; x += 8) {
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(out[(y * 320 + x) * 3 + c] - rgb[(y * 4 * w + x * 4) * 3 + c]));
      }
    }
    expect(worst).toBeLessThan(12);
    // RGB frames shrink too; a frame already small enough keeps its size.
    expect(shrinkFrame(rgbFrame(0, w, h, rgb), 320)).toMatchObject({ widthPx: 320, heightPx: 180 });
    expect(shrinkFrame(frame(1), 320)).toMatchObject({ widthPx: W, heightPx: H });
  });
});
