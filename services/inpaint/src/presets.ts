/**
 * Refinement presets and the job settings resolved from a request: preset values, then the request's
 * overrides (0 or empty keeps the preset's), then validation with every problem in one error.
 */
import type { RefineConfig } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';
import { validateSchedulerSettings, type SchedulerName, type SchedulerSettings } from './scheduler/scheduler';

export type PresetName = 'subtle' | 'balanced' | 'strong';

export interface Preset {
  steps: number;
  strength: number;
  guidanceScale: number;
}

/** subtle = the seed's defaults (12 steps, strength 0.3: 3 UNet steps from t = 23). */
export const PRESETS: Record<PresetName, Preset> = {
  subtle: { steps: 12, strength: 0.3, guidanceScale: 7.5 },
  balanced: { steps: 20, strength: 0.45, guidanceScale: 7.5 },
  strong: { steps: 25, strength: 0.6, guidanceScale: 7.5 },
};

export type RefineMode = 'roi' | 'whole_frame';

/** A request's settings as the proto carries them (0 / '' = not set). */
export type RefineRequestSettings = Omit<RefineConfig, 'jobId' | 'enabled'>;

/** Service-side settings that a request does not carry. */
export interface RefineServiceSettings {
  /** Sampler (default DPM++ 2M Karras). */
  scheduler?: SchedulerName;
  /** ControlNet conditioning scale (default 1). */
  conditioningScale?: number;
  /** Margin around the mask box in ROI mode, pixels (default 32). */
  roiMarginPx?: number;
  /** Feather radius of the paste-back, pixels (default 8). */
  featherPx?: number;
  /** VAE tile side, pixels (default 512; larger crops are tiled). */
  vaeTilePx?: number;
  /** Prompt used when a request gives none. */
  defaultPrompt?: string;
  /** Negative prompt used when a request gives none. */
  defaultNegativePrompt?: string;
}

export const REFINE_SERVICE_DEFAULTS: Required<RefineServiceSettings> = {
  scheduler: 'dpmpp_2m_karras',
  conditioningScale: 1,
  roiMarginPx: 32,
  featherPx: 8,
  vaeTilePx: 512,
  defaultPrompt: 'a product photographed in place, natural light, soft contact shadow, photorealistic',
  defaultNegativePrompt: 'blurry, distorted, cartoon, watermark, text',
};

/** Everything a job needs, resolved. */
export interface RefineSettings {
  prompt: string;
  negativePrompt: string;
  scheduler: SchedulerSettings;
  guidanceScale: number;
  conditioningScale: number;
  seed: bigint;
  mode: RefineMode;
  roiSizePx: number;
  roiMarginPx: number;
  featherPx: number;
  /** 1 = every frame. */
  frameInterval: number;
  /** 0 = choose from the provider and device memory. */
  batchSize: number;
  vaeTilePx: number;
}

export function resolveRefineSettings(request: RefineRequestSettings, service: RefineServiceSettings = {}): RefineSettings {
  const s = { ...REFINE_SERVICE_DEFAULTS };
  for (const [k, v] of Object.entries(service)) if (v !== undefined) (s as Record<string, unknown>)[k] = v;
  const problems: string[] = [];
  const presetName = (request.preset || 'subtle') as PresetName;
  const preset = PRESETS[presetName];
  if (!preset) problems.push(`preset "${request.preset}" is not one of ${Object.keys(PRESETS).join(', ')}`);
  const base = preset ?? PRESETS.subtle;
  const mode = (request.mode || 'roi') as RefineMode;
  if (mode !== 'roi' && mode !== 'whole_frame') problems.push(`mode "${request.mode}" is not roi or whole_frame`);
  const roiSizePx = request.roiSizePx || 512;
  if (roiSizePx % 64 !== 0 || roiSizePx < 64 || roiSizePx > 2048) problems.push(`roi_size_px ${roiSizePx} is not a multiple of 64 from 64 to 2048`);
  if (request.guidanceScale < 0 || !Number.isFinite(request.guidanceScale)) problems.push(`guidance_scale ${request.guidanceScale} is negative`);
  if (request.batchSize > 64) problems.push(`batch_size ${request.batchSize} is above 64`);
  if (request.frameInterval > 1000) problems.push(`frame_interval ${request.frameInterval} is above 1000`);
  const scheduler: SchedulerSettings = { name: s.scheduler, steps: request.steps || base.steps, strength: request.strength || base.strength };
  problems.push(...validateSchedulerSettings(scheduler));
  if (problems.length > 0) {
    throw new VaneliaError('inpaint', 'INVALID_REFINE_CONFIG', `the refinement settings are invalid: ${problems.join('; ')}.`);
  }
  return {
    prompt: request.prompt || s.defaultPrompt,
    negativePrompt: request.negativePrompt || s.defaultNegativePrompt,
    scheduler,
    guidanceScale: request.guidanceScale || base.guidanceScale,
    conditioningScale: s.conditioningScale,
    seed: BigInt(Math.trunc(request.seed)),
    mode,
    roiSizePx,
    roiMarginPx: s.roiMarginPx,
    featherPx: s.featherPx,
    frameInterval: Math.max(1, request.frameInterval),
    batchSize: request.batchSize,
    vaeTilePx: s.vaeTilePx,
  };
}
