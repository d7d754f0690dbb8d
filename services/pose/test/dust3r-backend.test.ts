import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSession } from '@vanelia/onnx';
import { checkDust3rModels } from '../src/dust3r/contract';
import { createDust3rBackend } from '../src/dust3r/dust3r-backend';
import { isDust3rInstalled } from '../src/dust3r/dust3r-models';
import { intrinsicsAtOriginal, modelGeometry } from '../src/dust3r/preprocess';
import { mat4Rotation, mat4Translation, rotationAngleRad } from '../src/geometry';
import { TINY, tinyDecoder, tinyEncoder, tinyFrames, tinyPosition, writeTinyModels } from './dust3r-tiny-models';

const root = mkdtempSync(join(tmpdir(), 'vanelia-dust3r-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('DUSt3R input geometry', () => {
  it('follows DUSt3R: long side 512, centred crop to multiples of 16, squares to 4:3', () => {
    expect(modelGeometry(1920, 1080)).toMatchObject({ widthPx: 512, heightPx: 288, cropLeftPx: 0, cropTopPx: 0 });
    // 1296x720 → 512x284 (rounded) → 512x272 centred: 6 rows off the top.
    expect(modelGeometry(1296, 720)).toMatchObject({ resizedHeightPx: 284, widthPx: 512, heightPx: 272, cropTopPx: 6 });
    expect(modelGeometry(1080, 1920)).toMatchObject({ widthPx: 288, heightPx: 512 });
    expect(modelGeometry(600, 600)).toMatchObject({ widthPx: 512, heightPx: 384, cropTopPx: 64 });
    expect(() => modelGeometry(8, 8)).toThrow(/pose: frames of 8x8 are too small/);
  });

  it('maps a model-size focal and centred principal point back to the original frame', () => {
    const g = modelGeometry(1296, 720);
    const k = intrinsicsAtOriginal(400, g);
    expect(k.fxPx).toBeCloseTo((400 * 1296) / 512, 9);
    expect(k.fyPx).toBeCloseTo((400 * 720) / 284, 9);
    expect(k.cxPx).toBeCloseTo(648, 9);
    expect(k.cyPx).toBeCloseTo(((6 + 136) * 720) / 284, 9);
    expect([k.widthPx, k.heightPx]).toEqual([1296, 720]);
  });
});

describe('DUSt3R model contract', () => {
  it('accepts the tiny pair and reports the dimensions it fixes', async () => {
    const encoder = await createSession('pose', tinyEncoder({ heightPx: 288, widthPx: 512 }));
    const decoder = await createSession('pose', tinyDecoder({ heightPx: 288, widthPx: 512, decoderBatch: 4 }));
    expect(checkDust3rModels(encoder, decoder)).toEqual({
      encoderBatch: undefined,
      decoderBatch: 4,
      heightPx: 288,
      widthPx: 512,
      channels: TINY.CHANNELS,
    });
    await encoder.release();
    await decoder.release();
  });

  it('lists every problem of a model that breaks the contract', async () => {
    const encoder = await createSession('pose', tinyEncoder({ heightPx: 288, widthPx: 512 }));
    const decoder = await createSession('pose', tinyDecoder({ heightPx: 384, widthPx: 512, dropConf2: true }));
    let message = '';
    try {
      checkDust3rModels(encoder, decoder);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^pose: the DUSt3R models do not follow the contract: /);
    expect(message).toContain('dust3r_decoder.onnx has no output "conf2"');
    expect(message).toContain('input "features1" grid 24x32 does not match the encoder\'s 18x32');
    await encoder.release();
    await decoder.release();
  });
});

describe('DUSt3R backend on the CPU provider', () => {
  it('is installed only when both files are there', () => {
    expect(isDust3rInstalled(join(root, 'none'))).toBe(false);
    expect(createDust3rBackend({ modelDir: join(root, 'none') }).isInstalled()).toBe(false);
  });

  it('tracks frames through the real session, pair batching and alignment (tiny exact model)', async () => {
    const dir = join(root, 'dynamic');
    writeTinyModels(dir, { heightPx: 288, widthPx: 512 });
    const positions = [-1.2, -0.8, -0.5, -0.1, 0.3, 0.6, 1.0];
    const frames = tinyFrames(positions, 160, 90);
    const backend = createDust3rBackend({ modelDir: dir, provider: 'cpu', sceneGraph: 'swin-2-noncyclic', pairBatchSize: 4 });
    expect(backend.isInstalled()).toBe(true);
    await backend.load();
    const steps = new Set<string>();
    const result = await backend.track(frames, { wantDepth: true, onProgress: (e) => steps.add(e.step) });
    await backend.close();
    expect([...steps]).toEqual(['features', 'pairs', 'alignment']);
    expect(result.pairCount).toBe(2 * (2 * 7 - 3));
    expect(result.cameras.map((c) => c.frameIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const camera of result.cameras) {
      // FOCAL at 512 wide is FOCAL · 160/512 at the original 160x90, principal point at the centre.
      expect(camera.intrinsics!.fxPx).toBeCloseTo((TINY.FOCAL * 160) / 512, 1);
      expect(camera.intrinsics!.fyPx).toBeCloseTo((TINY.FOCAL * 90) / 288, 1);
      expect([camera.intrinsics!.cxPx, camera.intrinsics!.cyPx]).toEqual([80, 45]);
      expect(camera.confidence).toBeGreaterThan(0.5);
      expect(camera.confidence).toBeLessThanOrEqual(1);
      expect(rotationAngleRad(mat4Rotation(Float64Array.from(camera.cameraToWorldOpencv)))).toBeLessThan(1e-4);
    }
    // Camera centres lie on the x axis at the encoded positions, up to the reconstruction's scale and origin.
    const x = result.cameras.map((c) => mat4Translation(Float64Array.from(c.cameraToWorldOpencv)));
    const truth = positions.map(tinyPosition);
    const scale = (x[6][0] - x[0][0]) / (truth[6] - truth[0]);
    expect(Array.from(x[0])).toEqual([0, 0, 0]);
    for (let n = 0; n < positions.length; n++) {
      expect(x[n][0] - x[0][0]).toBeCloseTo(scale * (truth[n] - truth[0]), 4);
      expect(Math.abs(x[n][1]) + Math.abs(x[n][2])).toBeLessThan(1e-4);
    }
    // Dense depth: the plane's depth profile t = (Z0 + SLOPE·x)/(1 − SLOPE·p) at the same scale.
    expect(result.depthMaps).toHaveLength(7);
    const depth = result.depthMaps[3];
    expect([depth.widthPx, depth.heightPx]).toEqual([512, 288]);
    const values = new Float32Array(depth.depthF32.buffer, depth.depthF32.byteOffset, depth.widthPx * depth.heightPx);
    for (const px of [0, 100, 256, 511]) {
      const p = (px + 0.5 - 256) / TINY.FOCAL;
      const expected = (scale * (TINY.Z0 + TINY.SLOPE * truth[3])) / (1 - TINY.SLOPE * p);
      expect(values[150 * 512 + px] / expected).toBeCloseTo(1, 4);
    }
  });

  it('takes a stream of frames, pads the last batch of a fixed-batch decoder and says it used that batch', async () => {
    const dir = join(root, 'static');
    writeTinyModels(dir, { heightPx: 288, widthPx: 512, encoderBatch: 1, decoderBatch: 3 });
    const backend = createDust3rBackend({ modelDir: dir, sceneGraph: 'complete' });
    async function* stream() {
      for (const frame of tinyFrames([-1, 0, 0.5, 1], 160, 90)) yield { ...frame, index: frame.index + 10 };
    }
    const result = await backend.track(stream());
    expect(result.cameras.map((c) => c.frameIndex)).toEqual([10, 11, 12, 13]);
    await backend.close();
    expect(result.pairCount).toBe(12);
    expect(result.warnings).toEqual(['the DUSt3R decoder was exported with a fixed batch of 3 pairs; used it instead of 8']);
    expect(result.depthMaps).toEqual([]);
    const centres = result.cameras.map((c) => c.cameraToWorldOpencv[3]);
    expect(centres[1] - centres[0]).toBeGreaterThan(0);
    expect((centres[3] - centres[2]) / (centres[2] - centres[1])).toBeCloseTo((tinyPosition(1) - tinyPosition(0.5)) / (tinyPosition(0.5) - tinyPosition(0)), 3);
  });

  it('fails clearly on frames the fixed-size export cannot take, and on a missing model', async () => {
    const backend = createDust3rBackend({ modelDir: join(root, 'static') });
    await expect(backend.track(tinyFrames([0, 1], 120, 90))).rejects.toThrow(
      /pose: the DUSt3R encoder was exported for 512x288 inputs, but 120x90 frames need 512x384/,
    );
    await backend.close();
    await expect(createDust3rBackend({ modelDir: join(root, 'none') }).track(tinyFrames([0, 1], 160, 90))).rejects.toThrow(/pose: no DUSt3R model in/);
    await expect(createDust3rBackend({ modelDir: join(root, 'none') }).load()).rejects.toThrow(/pose: no DUSt3R model in/);
    const one = createDust3rBackend({ modelDir: join(root, 'static') });
    await expect(one.track(tinyFrames([0], 160, 90))).rejects.toThrow(/pose: DUSt3R needs at least 2 frames, got 1/);
    await expect(one.track(tinyFrames([0, 1], 160, 90), { sceneGraph: 'ring-2' })).rejects.toThrow(/pose: scene graph "ring-2" is not recognised/);
    await one.close();
  });
});
