/** Shared fixtures: tiny model folders (built once per options in a temp folder) and synthetic composites. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import { writeTinyModelFolder, type TinyModelOptions } from '../src/models/tiny-models';
import type { CompositeFrame } from '../src/refine-job';
import { resolveRefineSettings, type RefineRequestSettings, type RefineSettings } from '../src/presets';

const folders = new Map<string, string>();

/** A tiny model folder whose tokenizer entry points at the shared CLIP BPE (read in place). */
export function tinyFolder(options: TinyModelOptions = {}): string {
  const key = JSON.stringify(options);
  let dir = folders.get(key);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'vanelia-tiny-'));
    writeTinyModelFolder(dir, { tokenizerDir: join(sharedDataDir(), 'clip-bpe'), ...options });
    folders.set(key, dir);
  }
  return dir;
}

export interface SceneOptions {
  widthPx?: number;
  heightPx?: number;
  /** Product box of frame i. */
  region?: (i: number) => { x: number; y: number; w: number; h: number };
  /** Background pattern changes with the frame index (default true). */
  moving?: boolean;
}

/** Frames of a textured background with a bright "product" rectangle, its mask and box. */
export function scene(count: number, options: SceneOptions = {}, firstIndex = 0): CompositeFrame[] {
  const W = options.widthPx ?? 192;
  const H = options.heightPx ?? 128;
  const regionOf = options.region ?? (() => ({ x: 70, y: 40, w: 48, h: 40 }));
  return Array.from({ length: count }, (_, n) => {
    const index = firstIndex + n;
    const region = regionOf(index);
    const composite = new Uint8Array(W * H * 3);
    const mask = new Uint8Array(W * H);
    const shift = options.moving === false ? 0 : index;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 3;
        composite[i] = (x * 3 + shift) % 256;
        composite[i + 1] = (y * 5) % 256;
        composite[i + 2] = ((x + y) * 2) % 256;
        if (region.w > 0 && x >= region.x && x < region.x + region.w && y >= region.y && y < region.y + region.h) {
          composite[i] = 220;
          composite[i + 1] = 180 - (x - region.x);
          composite[i + 2] = 60 + (y - region.y);
          mask[y * W + x] = 255;
        }
      }
    }
    return { index, widthPx: W, heightPx: H, ptsUs: index * 33_333, composite, mask, region };
  });
}

export function settings(overrides: Partial<RefineRequestSettings> = {}): RefineSettings {
  return resolveRefineSettings(
    {
      prompt: 'a ceramic vase on a wooden table',
      negativePrompt: '',
      preset: '',
      steps: 0,
      strength: 0,
      guidanceScale: 0,
      seed: 1234,
      mode: 'roi',
      roiSizePx: 128,
      frameInterval: 1,
      batchSize: 2,
      ...overrides,
    },
    { roiMarginPx: 16, featherPx: 4 },
  );
}

/** Largest per-channel difference and count of differing bytes. */
export function diff(a: Uint8Array, b: Uint8Array): { max: number; count: number } {
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) count++;
    if (d > max) max = d;
  }
  return { max, count };
}
