import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { i420ToRgb, isVaneliaError, rgbToI420 } from '@vanelia/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraPose } from '../src/camera-model';
import { CompositorJob, type CompositedFrame, type CompositorJobOptions, type FrameInput } from '../src/compositor-job';
import { FramePool } from '../src/frame-pool';
import { chromaAligned } from '../src/frame-finish';
import { LayerRenderer } from '../src/layer-renderer';
import type { SceneDepth } from '../src/scene-depth';
import { fixtureIo, shapeDocument, tempDir, testCamera } from './fixtures';

// The pooled, pipelined path (frames finished in worker threads, several in flight) must give the same
// bytes as finishing each frame on the job's thread, for RGB8 and I420 frames; a bad frame fails its job
// and a dead worker fails its frame, and in both cases the pool goes on working.

const W = 320;
const H = 180;
const FRAMES = 6;
const dir = tempDir('vanelia-frame-pool-');
let renderer: LayerRenderer;
let pool: FramePool;
let productPath: string;

const cameras: CameraPose[] = Array.from({ length: FRAMES }, (_, i) => testCamera(W, H, [0.5 * Math.sin(i / 2), 0.9, 1.7 - 0.05 * i], [0, 0.2, 0], i));

/** Scene depth for frame 2: a near wall over the left half (hides product and shadow there). */
const depth: SceneDepth[] = [{ frameIndex: 2, widthPx: 40, heightPx: 20, depth: Float32Array.from({ length: 800 }, (_, i) => (i % 40 < 20 ? 0.5 : 0)) }];

function frameData(index: number): Uint8Array {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + index * 31 + ((i / (W * 3)) | 0)) % 251;
  return data;
}

/** Frames 0..FRAMES-1 plus one (index 99) the track has no camera for. */
function frames(format: 'rgb8' | 'i420'): FrameInput[] {
  return [...cameras.map((c) => c.frameIndex), 99].map((frameIndex) => {
    const rgb = frameData(frameIndex);
    return { frameIndex, image: { widthPx: W, heightPx: H, format, data: format === 'i420' ? rgbToI420(rgb, W, H) : rgb } };
  });
}

/** A job lit from every frame (lighting comes from the first batch otherwise, and batches differ below). */
async function openJob(options: CompositorJobOptions): Promise<CompositorJob> {
  const job = await CompositorJob.open(renderer, { jobId: 'pool-test', productPath, cameras, shadowOpacity: 0.8, maskDilatePx: 6, depth }, options);
  await job.prepareLighting(frames('rgb8'));
  return job;
}

/** `base` (I420, W x H) with `patch`'s Y, U and V inside `rect` (even-aligned). */
function spliceI420(base: Uint8Array, patch: Uint8Array, rect: { xPx: number; yPx: number; widthPx: number; heightPx: number }): Uint8Array {
  const out = Uint8Array.from(base);
  const cw = Math.ceil(W / 2);
  const ch = Math.ceil(H / 2);
  const copyRows = (offset: number, stride: number, x0: number, y0: number, w: number, h: number) => {
    for (let y = y0; y < y0 + h; y++) out.set(patch.subarray(offset + y * stride + x0, offset + y * stride + x0 + w), offset + y * stride + x0);
  };
  copyRows(0, W, rect.xPx, rect.yPx, rect.widthPx, rect.heightPx);
  const [cx, cy, cwr, chr] = [rect.xPx / 2, rect.yPx / 2, Math.ceil((rect.xPx + rect.widthPx) / 2) - rect.xPx / 2, Math.ceil((rect.yPx + rect.heightPx) / 2) - rect.yPx / 2];
  copyRows(W * H, cw, cx, cy, cwr, chr);
  copyRows(W * H + cw * ch, cw, cx, cy, cwr, chr);
  return out;
}

/** Every byte a frame result carries: composite, mask, box, and the assembled layers. */
function expectSameFrames(actual: CompositedFrame[], expected: CompositedFrame[]): void {
  expect(actual.map((f) => f.frameIndex)).toEqual(expected.map((f) => f.frameIndex));
  for (const [i, a] of actual.entries()) {
    const e = expected[i];
    expect(Buffer.compare(Buffer.from(a.composite), Buffer.from(e.composite)), `composite of frame ${a.frameIndex}`).toBe(0);
    expect(Buffer.compare(Buffer.from(a.inpaintMask), Buffer.from(e.inpaintMask)), `mask of frame ${a.frameIndex}`).toBe(0);
    expect(a.region).toEqual(e.region);
    expect(a.layers.region).toEqual(e.layers.region);
    for (const key of ['colorPremultiplied', 'productMask', 'shadowMask'] as const) {
      expect(Buffer.compare(Buffer.from(a.layers[key]), Buffer.from(e.layers[key])), `${key} of frame ${a.frameIndex}`).toBe(0);
    }
    expect(Array.from(a.layers.depth)).toEqual(Array.from(e.layers.depth));
  }
}

beforeAll(async () => {
  const { document } = shapeDocument('box', { scale: 0.4 });
  productPath = join(dir.path, 'box.glb');
  writeFileSync(productPath, await (await fixtureIo()).writeBinary(document));
  renderer = await LayerRenderer.create({ backend: (process.env.VANELIA_GPU_BACKEND as 'auto') ?? 'auto' });
  pool = await FramePool.create({ size: 2 });
}, 120_000);

afterAll(async () => {
  await pool?.close();
  renderer?.dispose();
  dir.remove();
});

describe('frame pool', () => {
  it('pooled, pipelined compositing gives the same bytes as the single-thread path (RGB8)', async () => {
    const single = await openJob({ framesInFlight: 1 });
    const pooled = await openJob({ pool });
    try {
      const expected = await single.compositeFrames(frames('rgb8'));
      // Two batches given at once, as the server does: they overlap and still come back in order.
      const [first, second] = await Promise.all([pooled.compositeFrames(frames('rgb8').slice(0, 4)), pooled.compositeFrames(frames('rgb8').slice(4))]);
      const actual = [...first, ...second];
      expectSameFrames(actual, expected);
      // The product was drawn (and occluded on frame 2), so equality says something.
      expect(expected.filter((f) => f.region.widthPx > 0).length).toBe(FRAMES);
      expect(Buffer.compare(Buffer.from(expected[FRAMES].composite), Buffer.from(frameData(99)))).toBe(0);
    } finally {
      single.close();
      pooled.close();
    }
  }, 120_000);

  it('I420 frames composited in workers match the RGB path where drawn and keep the input bytes elsewhere', async () => {
    const single = await openJob({});
    const pooled = await openJob({ pool });
    try {
      const viaRgb = await single.compositeFrames(
        frames('i420').map((f) => ({ frameIndex: f.frameIndex, image: { widthPx: W, heightPx: H, data: i420ToRgb(f.image.data, W, H) } })),
      );
      const inputs = frames('i420');
      const actual = await pooled.compositeFrames(inputs);
      // Converting around the RGB path (the service path before) inside the drawn region, grown to whole
      // chroma blocks; the input's own bytes outside it (no colour round trip where nothing was drawn).
      const expected = viaRgb.map((f, i) => ({ ...f, composite: spliceI420(inputs[i].image.data, rgbToI420(f.composite, W, H), chromaAligned(f.layers.region, W, H)) }));
      expect(expected.some((f) => f.layers.region.widthPx > 0), 'some frame draws the product').toBe(true);
      expect(expected.some((f, i) => Buffer.compare(Buffer.from(f.composite), Buffer.from(rgbToI420(viaRgb[i].composite, W, H))) !== 0), 'outside the region differs from a round trip').toBe(true);
      expectSameFrames(actual, expected);
    } finally {
      single.close();
      pooled.close();
    }
  }, 120_000);

  it('a bad frame fails its job with a clear error; the pool goes on working', async () => {
    const job = await openJob({ pool });
    try {
      const batch = frames('rgb8').slice(0, 3);
      batch[1] = { frameIndex: 1, image: { ...batch[1].image, data: batch[1].image.data.subarray(0, 100) } };
      const error = await job.compositeFrames(batch).catch((e: unknown) => e);
      expect(isVaneliaError(error)).toBe(true);
      expect((error as Error).message).toBe(`compositor: frame 1 carries 100 bytes, ${W}x${H} RGB needs ${W * H * 3}.`);
      const again = await job.compositeFrames(frames('rgb8').slice(0, 3));
      expect(again.map((f) => f.frameIndex)).toEqual([0, 1, 2]);
    } finally {
      job.close();
    }
  }, 120_000);

  it('a worker that dies fails the frame it held, is replaced, and the pool recovers', async () => {
    // A 4K I420 frame (a 12 MB message, copied and checked) keeps a worker busy long enough to be killed mid-task.
    const [w, h] = [3840, 2160];
    const big = { frameIndex: 7, frame: { widthPx: w, heightPx: h, format: 'i420' as const, data: new Uint8Array(w * h * 1.5).fill(90) }, composite: {}, mask: {} };
    const held = pool.run(big);
    await pool.killWorker(0);
    const error = await held.catch((e: unknown) => e);
    expect(isVaneliaError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^compositor: the worker compositing frame 7 stopped \(exit code \d+\); the job fails and the worker is replaced\.$/);
    // More tasks than workers at once: every one finishes, on the replacement too.
    const small = Array.from({ length: 5 }, (_, i) => pool.run({ frameIndex: i, frame: { widthPx: W, heightPx: H, data: frameData(i) }, composite: {}, mask: {} }));
    const done = await Promise.all(small);
    for (const [i, result] of done.entries()) expect(Buffer.compare(Buffer.from(result.composite), Buffer.from(frameData(i)))).toBe(0);
  }, 120_000);
});
