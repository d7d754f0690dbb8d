import { describe, expect, it } from 'vitest';
import { silentLogger, VaneliaError } from '@vanelia/runtime';
import { PRESETS, resolveRefineSettings, type RefineRequestSettings } from '../src/presets';
import { chooseBatchSize, runInChunks } from '../src/pipeline/batching';

const empty: RefineRequestSettings = {
  prompt: '', negativePrompt: '', preset: '', steps: 0, strength: 0, guidanceScale: 0, seed: 0, mode: '', roiSizePx: 0, frameInterval: 0, batchSize: 0,
};

describe('resolveRefineSettings', () => {
  it('defaults to the seed settings (subtle: 12 steps, strength 0.3, guidance 7.5, ROI 512)', () => {
    const s = resolveRefineSettings(empty);
    expect(s.scheduler).toEqual({ name: 'dpmpp_2m_karras', steps: 12, strength: 0.3 });
    expect(s).toMatchObject({ guidanceScale: 7.5, mode: 'roi', roiSizePx: 512, frameInterval: 1, batchSize: 0, seed: 0n });
    expect(s.prompt.length).toBeGreaterThan(0);
  });

  it('applies a preset, then the request overrides', () => {
    const s = resolveRefineSettings({ ...empty, preset: 'strong', steps: 30, seed: 2 ** 53, mode: 'whole_frame', roiSizePx: 768 });
    expect(s.scheduler).toEqual({ name: 'dpmpp_2m_karras', steps: 30, strength: PRESETS.strong.strength });
    expect(s.seed).toBe(2n ** 53n);
    expect(s.mode).toBe('whole_frame');
    expect(s.roiSizePx).toBe(768);
    expect(resolveRefineSettings(empty, { scheduler: 'ddim' }).scheduler.name).toBe('ddim');
  });

  it('reports every invalid field at once', () => {
    const error = (() => {
      try {
        resolveRefineSettings({ ...empty, preset: 'wild', mode: 'crop', roiSizePx: 500, strength: 2 });
      } catch (e) {
        return e as VaneliaError;
      }
    })();
    expect(error).toBeInstanceOf(VaneliaError);
    expect(error!.code).toBe('INVALID_ARGUMENT');
    expect(error!.message).toBe(
      'inpaint: the refinement settings are invalid: preset "wild" is not one of subtle, balanced, strong; mode "crop" is not roi or whole_frame; roi_size_px 500 is not a multiple of 64 from 64 to 2048; strength 2 is not in (0, 1].',
    );
  });
});

describe('batching', () => {
  it('chooses 1 on the CPU, 8 on 80 GB cards, 4 otherwise', () => {
    expect(chooseBatchSize({ provider: 'cpu', deviceMemoryGiB: 0 })).toBe(1);
    expect(chooseBatchSize({ provider: 'webgpu', deviceMemoryGiB: 80 })).toBe(8);
    expect(chooseBatchSize({ provider: 'cuda', deviceMemoryGiB: 24 })).toBe(4);
    expect(chooseBatchSize({ provider: 'webgpu', deviceMemoryGiB: 0 })).toBe(4);
  });

  it('rethrows errors that are not out-of-memory without retrying', async () => {
    let calls = 0;
    const work = async () => {
      calls++;
      throw new VaneliaError('inpaint', 'INFERENCE_FAILED', 'boom.', { code: 'INTERNAL' });
    };
    await expect(runInChunks([1, 2], { batchSize: 2 }, work, [], silentLogger)).rejects.toMatchObject({ reason: 'INFERENCE_FAILED' });
    expect(calls).toBe(1);
  });
});
