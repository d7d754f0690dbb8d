import { describe, expect, it } from 'vitest';
import { VaneliaError } from '@vanelia/runtime';
import { createSession } from '@vanelia/onnx';
import { ModelSet, type SessionFactory } from '../src/models/model-set';
import { NO_MODELS_REASON, RefineJob, type CompositeFrame } from '../src/refine-job';
import { diff, scene, settings, tinyFolder } from './fixtures';

async function run(job: RefineJob, frames: CompositeFrame[]) {
  return job.refineBatch(frames);
}

/** Bytes outside the product box grown by `margin` are untouched. */
function changedOutside(frame: CompositeFrame, out: Uint8Array, margin: number): number {
  let changed = 0;
  const r = frame.region;
  for (let y = 0; y < frame.heightPx; y++) {
    for (let x = 0; x < frame.widthPx; x++) {
      if (x >= r.x - margin && x < r.x + r.w + margin && y >= r.y - margin && y < r.y + r.h + margin) continue;
      for (let k = 0; k < 3; k++) if (out[(y * frame.widthPx + x) * 3 + k] !== frame.composite[(y * frame.widthPx + x) * 3 + k]) changed++;
    }
  }
  return changed;
}

describe('RefineJob on tiny models (CPU provider)', () => {
  it('refines the product area, leaves the rest untouched and reports the schedule actually run', async () => {
    const models = await ModelSet.open(tinyFolder());
    const frames = scene(3);
    const result = await run(new RefineJob('job-a', settings(), true, { models }), frames);
    expect(result.report).toMatchObject({ refined: true, reason: '', stepsRun: 3, startTimestep: 23, batchSize: 2 });
    expect(result.report.startSigma).toBeCloseTo(0.14714, 4);
    expect(result.frames.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(result.frames.every((f) => f.changed)).toBe(true);
    for (const [i, f] of result.frames.entries()) {
      expect(f.data.length).toBe(frames[i].composite.length);
      expect(diff(f.data, frames[i].composite).count).toBeGreaterThan(100);
      expect(changedOutside(frames[i], f.data, 4)).toBe(0);
    }
  });

  it('is deterministic for a seed and changes with the seed and the prompt', async () => {
    const models = await ModelSet.open(tinyFolder());
    const frames = scene(1);
    const a = await run(new RefineJob('a', settings({ seed: 5 }), true, { models }), frames);
    const b = await run(new RefineJob('b', settings({ seed: 5 }), true, { models }), frames);
    const c = await run(new RefineJob('c', settings({ seed: 6 }), true, { models }), frames);
    const d = await run(new RefineJob('d', settings({ seed: 5, prompt: 'a green bottle' }), true, { models }), frames);
    expect(diff(a.frames[0].data, b.frames[0].data).max).toBe(0);
    expect(diff(a.frames[0].data, c.frames[0].data).count).toBeGreaterThan(0);
    expect(diff(a.frames[0].data, d.frames[0].data).count).toBeGreaterThan(0);
  });

  it('gives the same frames at batch 1, 2 and 3 (a partial batch is padded, padding dropped)', async () => {
    const models = await ModelSet.open(tinyFolder());
    const frames = scene(4, { region: (i) => ({ x: 60 + 5 * i, y: 30 + 3 * i, w: 40, h: 36 }) });
    const outs = [];
    for (const batchSize of [1, 2, 3]) outs.push((await run(new RefineJob(`b${batchSize}`, settings({ batchSize }), true, { models }), frames)).frames);
    for (let i = 0; i < frames.length; i++) {
      expect(diff(outs[0][i].data, outs[1][i].data).max).toBeLessThanOrEqual(1);
      expect(diff(outs[0][i].data, outs[2][i].data).max).toBeLessThanOrEqual(1);
    }
  });

  it('halves the batch on out-of-memory and retries without losing or repeating a frame', async () => {
    let unetRuns = 0;
    const factory: SessionFactory = async (role, file, options) => {
      const session = await createSession('inpaint', file, options);
      if (role !== 'unet') return session;
      const batch = options.freeDimensionOverrides?.batch ?? 0;
      return {
        inputs: session.inputs,
        outputs: session.outputs,
        release: () => session.release(),
        run: async (feeds, names) => {
          if (batch > 2) throw new VaneliaError('inpaint', 'OUT_OF_MEMORY', `unet ran out of device memory at batch ${batch}.`, { code: 'RESOURCE_EXHAUSTED', retryable: true });
          unetRuns++;
          return session.run(feeds, names);
        },
      };
    };
    const models = await ModelSet.open(tinyFolder(), { sessionFactory: factory });
    const frames = scene(5, { region: (i) => ({ x: 50 + 6 * i, y: 30, w: 40, h: 40 }) });
    const job = new RefineJob('oom', settings({ batchSize: 4 }), true, { models });
    const result = await run(job, frames);
    expect(result.warnings).toEqual([
      'out of device memory at batch 4; retrying at batch 2',
      'out of device memory at batch 2; retrying at batch 1',
    ]);
    expect(result.report.batchSize).toBe(1);
    expect(unetRuns).toBe(5 * 3); // five frames, three steps each, once
    const reference = await run(new RefineJob('ref', settings({ batchSize: 1 }), true, { models: await ModelSet.open(tinyFolder()) }), frames);
    expect(result.frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4]);
    result.frames.forEach((f, i) => expect(diff(f.data, reference.frames[i].data).max).toBeLessThanOrEqual(1));
    // the next batch starts at the reduced size
    expect((await run(job, scene(1, {}, 5))).warnings).toEqual([]);
  });

  it('fails with RESOURCE_EXHAUSTED when even batch 1 runs out of memory', async () => {
    const factory: SessionFactory = async (role, file, options) => {
      const session = await createSession('inpaint', file, options);
      if (role !== 'unet') return session;
      return { inputs: session.inputs, outputs: session.outputs, release: () => session.release(), run: async () => {
        throw new VaneliaError('inpaint', 'OUT_OF_MEMORY', 'unet ran out of device memory.', { code: 'RESOURCE_EXHAUSTED', retryable: true });
      } };
    };
    const models = await ModelSet.open(tinyFolder(), { sessionFactory: factory });
    await expect(run(new RefineJob('x', settings({ batchSize: 2 }), true, { models }), scene(1))).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
  });

  it('pastes a crop that reaches past the frame edge back into place', async () => {
    const models = await ModelSet.open(tinyFolder());
    const frames = scene(1, { region: () => ({ x: 0, y: 88, w: 30, h: 40 }) });
    const out = (await run(new RefineJob('edge', settings(), true, { models }), frames)).frames[0];
    expect(diff(out.data, frames[0].composite).count).toBeGreaterThan(50);
    expect(changedOutside(frames[0], out.data, 4)).toBe(0);
  });

  it('runs whole-frame mode at the frame size padded to multiples of 64', async () => {
    const models = await ModelSet.open(tinyFolder());
    const frames = scene(1, { widthPx: 150, heightPx: 100 });
    const out = (await run(new RefineJob('whole', settings({ mode: 'whole_frame' }), true, { models }), frames)).frames[0];
    expect(out.widthPx).toBe(150);
    expect(diff(out.data, frames[0].composite).count).toBeGreaterThan(100);
    expect(changedOutside(frames[0], out.data, 4)).toBe(0);
  });

  it('tiles the VAE for crops larger than the tile and stays close to the untiled result', async () => {
    const models = await ModelSet.open(tinyFolder());
    const frames = scene(1, { widthPx: 256, heightPx: 192, region: () => ({ x: 60, y: 40, w: 120, h: 100 }) });
    const untiled = await run(new RefineJob('u', { ...settings({ roiSizePx: 192 }), vaeTilePx: 512 }, true, { models }), frames);
    const tiled = await run(new RefineJob('t', { ...settings({ roiSizePx: 192 }), vaeTilePx: 128 }, true, { models }), frames);
    expect(diff(tiled.frames[0].data, frames[0].composite).count).toBeGreaterThan(100);
    // tiles see less context at their borders, so values differ a little, not wholesale
    const d = diff(tiled.frames[0].data, untiled.frames[0].data);
    expect(d.count).toBeGreaterThan(0);
    let sum = 0;
    for (let i = 0; i < tiled.frames[0].data.length; i++) sum += Math.abs(tiled.frames[0].data[i] - untiled.frames[0].data[i]);
    expect(sum / d.count).toBeLessThan(40);
  });

  it('carries key-frame refinement to the frames between keys (frame_interval)', async () => {
    const models = await ModelSet.open(tinyFolder());
    // static scene: a carried frame must equal its key frame
    const still = scene(3, { moving: false });
    const everyFrame = await run(new RefineJob('k1', settings({ frameInterval: 1 }), true, { models }), still);
    const carried = await run(new RefineJob('k3', settings({ frameInterval: 3 }), true, { models }), still);
    expect(diff(carried.frames[0].data, everyFrame.frames[0].data).max).toBe(0);
    expect(diff(carried.frames[1].data, carried.frames[0].data).max).toBeLessThanOrEqual(1);
    expect(diff(carried.frames[2].data, carried.frames[0].data).max).toBeLessThanOrEqual(1);
    // moving product: the carried change follows the box
    const moving = scene(2, { moving: false, region: (i) => ({ x: 60 + 10 * i, y: 40, w: 48, h: 40 }) });
    const out = await run(new RefineJob('km', settings({ frameInterval: 2 }), true, { models }), moving);
    const W = moving[0].widthPx;
    let worst = 0;
    for (let y = 44; y < 76; y++) {
      for (let x = 64; x < 104; x++) {
        for (let k = 0; k < 3; k++) {
          const key = out.frames[0].data[(y * W + x) * 3 + k] - moving[0].composite[(y * W + x) * 3 + k];
          const later = out.frames[1].data[(y * W + x + 10) * 3 + k] - moving[1].composite[(y * W + x + 10) * 3 + k];
          worst = Math.max(worst, Math.abs(key - later));
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(changedOutside(moving[1], out.frames[1].data, 4)).toBe(0);
  });

  it('keeps the carry across batches and refines again once the interval has passed', async () => {
    const models = await ModelSet.open(tinyFolder());
    const job = new RefineJob('across', settings({ frameInterval: 2 }), true, { models });
    const frames = scene(4, { moving: false });
    const first = await run(job, frames.slice(0, 1));
    const second = await run(job, frames.slice(1));
    expect(first.report.refined).toBe(true);
    expect(second.report.refined).toBe(true);
    expect(diff(second.frames[0].data, first.frames[0].data).max).toBeLessThanOrEqual(1);
  });

  it('runs the fp16 inpainting (9-channel) UNet and the fused ControlNet variants', async () => {
    for (const options of [{ precision: 'fp16' as const, unetInChannels: 9 as const }, { controlnetFused: true, timestepType: 'float32' as const }]) {
      const models = await ModelSet.open(tinyFolder(options));
      const frames = scene(1);
      const out = (await run(new RefineJob('v', settings(), true, { models }), frames)).frames[0];
      expect(diff(out.data, frames[0].composite).count).toBeGreaterThan(100);
      expect(changedOutside(frames[0], out.data, 4)).toBe(0);
    }
  });

  it('passes frames through when no models are installed, when disabled and when the product is out of view', async () => {
    const frames = scene(2);
    const none = await run(new RefineJob('n', settings(), true, {}), frames);
    expect(none.report).toMatchObject({ refined: false, reason: NO_MODELS_REASON });
    none.frames.forEach((f, i) => expect(diff(f.data, frames[i].composite).max).toBe(0));
    expect(none.frames.some((f) => f.changed)).toBe(false);
    const models = await ModelSet.open(tinyFolder());
    const off = await run(new RefineJob('o', settings(), false, { models }), frames);
    expect(off.report).toMatchObject({ refined: false, reason: 'refinement disabled for this job' });
    const away = await run(new RefineJob('a', settings(), true, { models }), scene(1, { region: () => ({ x: 0, y: 0, w: 0, h: 0 }) }));
    expect(away.report).toMatchObject({ refined: false, reason: 'the product is not in view in this batch' });
    expect(away.frames[0].changed).toBe(false);
  });

  it('rejects frames whose bytes do not match their size', async () => {
    const [frame] = scene(1);
    const error = await run(new RefineJob('bad', settings(), true, {}), [{ ...frame, mask: frame.mask.subarray(1) }]).catch((e) => e);
    expect(error).toBeInstanceOf(VaneliaError);
    expect(error.message).toMatch(/^inpaint: frame 0: carries 24575 mask bytes, 192x128 GRAY8 needs 24576\.$/);
  });
});
