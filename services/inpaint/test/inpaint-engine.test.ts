import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InpaintEngine } from '../src/inpaint-engine';
import { loadInpaintConfig } from '../src/config';
import { scene, tinyFolder } from './fixtures';

const request = { prompt: '', negativePrompt: '', preset: '', steps: 0, strength: 0, guidanceScale: 0, seed: 1, mode: '', roiSizePx: 128, frameInterval: 0, batchSize: 0 };

describe('InpaintEngine', () => {
  it('stays not ready with a broken folder, lists its problems and passes jobs through saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-engine-'));
    cpSync(tinyFolder(), dir, { recursive: true });
    rmSync(join(dir, 'unet/model.onnx'));
    const engine = new InpaintEngine({ modelDir: dir });
    expect(await engine.ready()).toBe(false);
    const status = engine.status();
    expect(status.installed).toBe(true);
    expect(status.problems[0]).toMatch(/^unet model .* is missing$/);
    const result = await engine.openJob('j', true, request).refineBatch(scene(1));
    expect(result.report.refined).toBe(false);
    expect(result.report.reason).toMatch(/^refinement models are not usable: unet model .* is missing$/);
  });

  it('uses the configured default batch size, else the automatic one (1 on the CPU)', async () => {
    const engine = new InpaintEngine({ modelDir: tinyFolder(), defaultBatchSize: 3 });
    expect(await engine.ready()).toBe(true);
    expect((await engine.openJob('a', true, request).refineBatch(scene(1))).report.batchSize).toBe(3);
    const auto = new InpaintEngine({ modelDir: tinyFolder() });
    await auto.ready();
    expect((await auto.openJob('b', true, request).refineBatch(scene(1))).report.batchSize).toBe(1);
  });

  it('runs batches one at a time', async () => {
    const engine = new InpaintEngine({ modelDir: '' });
    const order: string[] = [];
    const slow = engine.exclusive(async () => {
      await new Promise((r) => setTimeout(r, 30));
      order.push('first');
    });
    const fast = engine.exclusive(async () => order.push('second'));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['first', 'second']);
  });

  it('reads its settings from the environment with every problem at once', () => {
    const config = loadInpaintConfig({ VANELIA_INPAINT_PROVIDERS: 'webgpu, cpu', VANELIA_INPAINT_MODEL_DIR: '/models/inpaint' });
    expect(config.VANELIA_INPAINT_PROVIDERS).toEqual(['webgpu', 'cpu']);
    expect(config.VANELIA_INPAINT_VAE_TILE_PX).toBe(512);
    expect(() => loadInpaintConfig({ VANELIA_INPAINT_PROVIDERS: 'metal', VANELIA_INPAINT_VAE_TILE_PX: '500', VANELIA_INPAINT_SCHEDULER: 'euler' })).toThrow(
      /^inpaint: invalid configuration: VANELIA_INPAINT_PROVIDERS: unknown execution provider metal .*; VANELIA_INPAINT_SCHEDULER="euler" is not one of dpmpp_2m_karras, ddim; VANELIA_INPAINT_VAE_TILE_PX="500" is not a multiple of 64\.$/,
    );
  });
});
