import { describe, expect, it } from 'vitest';
import { boxBlur, clipBox, featherWeights, intersectBoxes, resampleToArea, sampleBox, blendArea } from '../src/pipeline/image-ops';
import { planRoi, planWholeFrame } from '../src/pipeline/roi';
import { runTiled, tileOrigins } from '../src/pipeline/vae-tiling';

const gray = (w: number, h: number, f: (x: number, y: number) => number) => ({
  widthPx: w,
  heightPx: h,
  channels: 1,
  data: Uint8Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))),
});

describe('sampleBox', () => {
  it('copies exactly at scale 1 and averages neighbours at scale 1/2', () => {
    const img = gray(4, 2, (x, y) => x * 10 + y * 100);
    expect(Array.from(sampleBox(img, { x: 0, y: 0, w: 4, h: 2 }, 4, 2))).toEqual(Array.from(img.data));
    // half size: each output pixel centre sits between two input pixels
    expect(Array.from(sampleBox(img, { x: 0, y: 0, w: 4, h: 2 }, 2, 1))).toEqual([55, 75]);
  });

  it('repeats edge pixels for boxes that reach past the frame and keeps channels planar', () => {
    const rgb = { widthPx: 2, heightPx: 1, channels: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    const out = sampleBox(rgb, { x: -2, y: -1, w: 6, h: 3 }, 6, 3);
    expect(Array.from(out.subarray(0, 6))).toEqual([1, 1, 1, 4, 4, 4]);
    expect(Array.from(out.subarray(18, 24))).toEqual([2, 2, 2, 5, 5, 5]);
  });
});

describe('feathering and blending', () => {
  it('box blur keeps constants and spreads a step over 2r+1 pixels', () => {
    expect(Array.from(boxBlur(new Float32Array(9).fill(3), 3, 3, 1))).toEqual(new Array(9).fill(3));
    const step = Float32Array.from({ length: 10 }, (_, i) => (i < 5 ? 0 : 1));
    const blurred = boxBlur(step, 10, 1, 1);
    expect(Array.from(blurred.subarray(3, 7)).map((v) => +v.toFixed(3))).toEqual([0, 0.333, 0.667, 1]);
  });

  it('feather weights are 1 deep inside the mask, 0 far outside, in between at the edge', () => {
    const mask = gray(40, 40, (x, y) => (x >= 10 && x < 30 && y >= 10 && y < 30 ? 255 : 0));
    const area = clipBox({ x: 10, y: 10, w: 20, h: 20 }, 6, 40, 40)!;
    expect(area).toEqual({ x: 4, y: 4, w: 32, h: 32 });
    const w = featherWeights(mask, area, 4);
    const at = (x: number, y: number) => w[(y - area.y) * area.w + (x - area.x)];
    expect(at(20, 20)).toBeCloseTo(1, 6);
    expect(at(4, 4)).toBe(0);
    expect(at(10, 20)).toBeGreaterThan(0.3);
    expect(at(10, 20)).toBeLessThan(0.8);
  });

  it('resamples a crop onto frame pixels and blends it by weight', () => {
    const frame = { widthPx: 4, heightPx: 1, channels: 3, data: new Uint8Array(12).fill(100) };
    const area = { x: 1, y: 0, w: 2, h: 1 };
    // a 4x2 crop of constant 200 covering frame box x 0..4, y -0.5..1.5
    const values = resampleToArea(new Float32Array(3 * 8).fill(200), 4, 2, { x: 0, y: -0.5, w: 4, h: 2 }, area);
    expect(Array.from(values)).toEqual(new Array(6).fill(200));
    blendArea(frame, area, Float32Array.from([0.5, 1]), values);
    expect(Array.from(frame.data)).toEqual([100, 100, 100, 150, 150, 150, 200, 200, 200, 100, 100, 100]);
  });

  it('intersects and clips boxes', () => {
    expect(intersectBoxes({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: -3, w: 10, h: 6 })).toEqual({ x: 5, y: 0, w: 5, h: 3 });
    expect(intersectBoxes({ x: 0, y: 0, w: 2, h: 2 }, { x: 3, y: 3, w: 2, h: 2 })).toBeNull();
    expect(clipBox({ x: 95, y: 0, w: 10, h: 0 }, 0, 100, 100)).toBeNull();
  });
});

describe('regions', () => {
  it('plans a square ROI of at least the model size around the box, inside the frame', () => {
    expect(planRoi({ x: 900, y: 500, w: 100, h: 80 }, 1920, 1080, 512, 32)).toEqual({
      cropBox: { x: 694, y: 284, w: 512, h: 512 },
      modelWidthPx: 512,
      modelHeightPx: 512,
    });
    // near the corner: shifted inside
    expect(planRoi({ x: 10, y: 10, w: 50, h: 50 }, 1920, 1080, 512, 32).cropBox).toMatchObject({ x: 0, y: 0, w: 512 });
    // a large product: a larger crop, resampled to the model size
    expect(planRoi({ x: 200, y: 100, w: 700, h: 300 }, 1920, 1080, 512, 32).cropBox).toMatchObject({ w: 764, h: 764 });
    // a frame smaller than the crop: centred, edges repeat
    expect(planRoi({ x: 10, y: 10, w: 20, h: 20 }, 192, 128, 256, 16).cropBox).toEqual({ x: -32, y: -64, w: 256, h: 256 });
  });

  it('plans whole frames padded to multiples of 64', () => {
    expect(planWholeFrame(1920, 1080)).toEqual({ cropBox: { x: 0, y: 0, w: 1920, h: 1088 }, modelWidthPx: 1920, modelHeightPx: 1088 });
  });
});

describe('runTiled', () => {
  it('places equal tiles covering the axis, the last flush with the end', () => {
    expect(tileOrigins(100, 100, 8)).toEqual([0]);
    expect(tileOrigins(136, 64, 8)).toEqual([0, 56, 72]);
  });

  it('reassembles an elementwise model exactly and upsamples with the scale', async () => {
    const h = 20;
    const w = 30;
    const input = Float32Array.from({ length: 2 * h * w }, (_, i) => Math.sin(i));
    const calls: [number, number][] = [];
    const doubled = await runTiled(input, 2, h, w, 2, { tile: 8, overlap: 2, scale: 1 }, async (tile, th, tw) => {
      calls.push([th, tw]);
      return tile.map((v) => 2 * v);
    });
    expect(calls.every(([th, tw]) => th === 8 && tw === 8)).toBe(true);
    doubled.forEach((v, i) => expect(v).toBeCloseTo(2 * input[i], 5));
    // nearest x2 upsampling model: tiles agree wherever they overlap, so the result is exact
    const up = await runTiled(input, 2, h, w, 2, { tile: 8, overlap: 2, scale: 2 }, async (tile, th, tw) => {
      const out = new Float32Array(2 * 4 * th * tw);
      for (let c = 0; c < 2; c++) for (let y = 0; y < 2 * th; y++) for (let x = 0; x < 2 * tw; x++) out[c * 4 * th * tw + y * 2 * tw + x] = tile[c * th * tw + (y >> 1) * tw + (x >> 1)];
      return out;
    });
    for (let y = 0; y < 2 * h; y++) for (let x = 0; x < 2 * w; x++) expect(up[y * 2 * w + x]).toBeCloseTo(input[(y >> 1) * w + (x >> 1)], 5);
  });
});
