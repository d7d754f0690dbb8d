import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PixelFormat } from '@vanelia/proto';
import { rgbFrame } from '@vanelia/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { PoseJob, resolveBackend, type PoseProgress } from '../src/backend';
import { createDust3rBackend } from '../src/dust3r/dust3r-backend';
import { renderSyntheticFrame, syntheticVideo } from './fixtures/synthetic-scene';
import { tinyFrames, writeTinyModels } from './dust3r-tiny-models';

const root = mkdtempSync(join(tmpdir(), 'vanelia-pose-backend-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('PoseJob', () => {
  it('picks DUSt3R automatically when its model is installed and anchors on its depth', async () => {
    const dir = join(root, 'models');
    writeTinyModels(dir, { heightPx: 288, widthPx: 512 });
    expect(resolveBackend('auto', dir)).toBe('dust3r');
    const dust3r = createDust3rBackend({ modelDir: dir, provider: 'cpu', sceneGraph: 'swin-2-noncyclic', pairBatchSize: 4 });
    const steps: string[] = [];
    const job = new PoseJob({ backend: 'auto', modelDir: dir, dust3r, onProgress: (p: PoseProgress) => steps.push(p.step) });
    expect(job.backend).toBe('dust3r');
    job.push(tinyFrames([-1, -0.5, 0, 0.5, 1], 160, 90));
    const { track, depthMaps } = await job.finish();
    await dust3r.close();
    expect(track.backend).toBe('dust3r');
    expect(track.cameras.map((c) => c.frameIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(depthMaps).toEqual([]);
    expect(track.anchor, track.warnings.join('; ')).toBeDefined();
    expect(track.anchor!.pixelX).toBe(80);
    expect(steps).toContain('pairs');
    expect(steps[steps.length - 1]).toBe('anchor');
  }, 120_000);

  it('runs the tracker on RGBA frames and reports progress', async () => {
    const video = syntheticVideo(16, 320, 180);
    const steps = new Set<string>();
    const job = new PoseJob({ backend: 'tracker', onProgress: (p) => steps.add(p.step) });
    const frames = Array.from({ length: 16 }, (_, i) => {
      const rgb = renderSyntheticFrame(video, i);
      const rgba = new Uint8Array(320 * 180 * 4);
      for (let p = 0; p < 320 * 180; p++) rgba.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);
      return { ...rgbFrame(i, 320, 180, rgba), format: PixelFormat.PIXEL_FORMAT_RGBA8 };
    });
    job.push(frames.slice(0, 8));
    job.push(frames.slice(8));
    const { track } = await job.finish();
    expect(track.cameras).toHaveLength(16);
    expect([...steps]).toEqual(['features', 'alignment', 'anchor']);
    expect(track.anchor).toBeDefined();
  }, 60_000);

  it('stops a tracker job when its signal aborts during reconstruction', async () => {
    const video = syntheticVideo(10, 320, 180);
    const abort = new AbortController();
    const job = new PoseJob({ backend: 'tracker', signal: abort.signal });
    job.push(Array.from({ length: 10 }, (_, i) => rgbFrame(i, 320, 180, renderSyntheticFrame(video, i))));
    const finishing = job.finish();
    abort.abort();
    await expect(finishing).rejects.toThrow(/pose: tracking was cancelled/);
  });

  it('rejects frames out of order, in the wrong format, and a dust3r job without the model', () => {
    const job = new PoseJob({ backend: 'tracker' });
    expect(() => job.push([rgbFrame(1, 8, 8, new Uint8Array(192))])).toThrow(/pose: frames must arrive in order: expected frame 0, got 1/);
    expect(() => job.push([{ ...rgbFrame(0, 8, 8, new Uint8Array(64)), format: PixelFormat.PIXEL_FORMAT_GRAY8 }])).toThrow(/pose: frame 0 must be RGB8 or RGBA8, got PIXEL_FORMAT_GRAY8/);
    expect(() => new PoseJob({ backend: 'dust3r', modelDir: join(root, 'models') })).toThrow(/the dust3r backend is not loaded in this process/);
  });
});
