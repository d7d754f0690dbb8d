/**
 * One refinement job: composited batches in, refined batches out, in order. Steps, readable in `refineBatch`:
 * classify frames (not in view / key / carried), prepare key crops, diffuse them in chunks (batch size halved on
 * out-of-memory), paste each back with a feathered mask, carry key residuals to the frames between keys.
 * Without models (or when disabled) frames pass through and the report says why.
 */
import { createRandom } from '@vanelia/onnx';
import type { RefineReport } from '@vanelia/proto';
import { VaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import type { ModelSet } from './models/model-set';
import { chooseBatchSize, runInChunks } from './pipeline/batching';
import { applyCarry, keyResidual, type KeyResidual } from './pipeline/carry-over';
import { diffuseBatch, encodePrompt, type PreparedFrame, type PromptEmbeddings } from './pipeline/diffusion';
import { blendArea, clipBox, featherWeights, intersectBoxes, resampleToArea, sampleBox, type Box, type Raster } from './pipeline/image-ops';
import { planRoi, planWholeFrame, type RegionPlan } from './pipeline/roi';
import type { RefineSettings } from './presets';
import { createScheduler } from './scheduler/create-scheduler';

export const NO_MODELS_REASON = 'no refinement models installed';
export const DISABLED_REASON = 'refinement disabled for this job';
export const NOT_IN_VIEW_REASON = 'the product is not in view in this batch';

/** A composited frame from the compositor. */
export interface CompositeFrame {
  index: number;
  widthPx: number;
  heightPx: number;
  ptsUs: number;
  /** RGB8. */
  composite: Uint8Array;
  /** GRAY8, 255 where refinement may change pixels. */
  mask: Uint8Array;
  /** Mask bounding box; width 0 when the product is not in view. */
  region: Box;
}

export interface RefinedFrame {
  index: number;
  widthPx: number;
  heightPx: number;
  ptsUs: number;
  /** RGB8. */
  data: Uint8Array;
  /** False when the frame is its composite unchanged (pass-through, product not in view). */
  changed: boolean;
}

/** The report of a batch, as the proto's RefineReport. */
export type RefineReportData = RefineReport;

export interface RefineJobDeps {
  /** Opened models; undefined when none are installed (frames pass through). */
  models?: ModelSet;
  /** Why frames pass through when `models` is undefined (default NO_MODELS_REASON). */
  unavailableReason?: string;
  /** Device memory in GiB for the automatic batch size; 0 = unknown. */
  deviceMemoryGiB?: number;
  logger?: Logger;
}

export interface RefineBatchResult {
  frames: RefinedFrame[];
  report: RefineReportData;
  warnings: string[];
}

type Role = 'skip' | 'key' | 'carry';

function checkFrame(f: CompositeFrame): void {
  const bad = (sentence: string) => new VaneliaError('inpaint', 'INVALID_FRAME', `frame ${f.index}: ${sentence}.`);
  if (f.widthPx <= 0 || f.heightPx <= 0) throw bad('has zero size');
  if (f.composite.length !== f.widthPx * f.heightPx * 3) throw bad(`carries ${f.composite.length} composite bytes, ${f.widthPx}x${f.heightPx} RGB8 needs ${f.widthPx * f.heightPx * 3}`);
  if (f.mask.length !== f.widthPx * f.heightPx) throw bad(`carries ${f.mask.length} mask bytes, ${f.widthPx}x${f.heightPx} GRAY8 needs ${f.widthPx * f.heightPx}`);
  const r = f.region;
  if (r.w > 0 && (r.x + r.w > f.widthPx || r.y + r.h > f.heightPx)) throw bad(`has a region box past the frame edge`);
}

export class RefineJob {
  private readonly logger: Logger;
  private readonly batch: { batchSize: number };
  private prompt: Promise<PromptEmbeddings> | undefined;
  private readonly noise = new Map<string, Float32Array>();
  private lastKey: KeyResidual | undefined;
  private lastKeyIndex: number | undefined;
  private readonly schedule: { stepsRun: number; startSigma: number; startTimestep: number };

  constructor(
    readonly jobId: string,
    readonly settings: RefineSettings,
    readonly enabled: boolean,
    private readonly deps: RefineJobDeps,
  ) {
    this.logger = (deps.logger ?? silentLogger).child({ jobId });
    this.batch = { batchSize: settings.batchSize };
    const s = createScheduler(settings.scheduler);
    this.schedule = { stepsRun: s.timesteps.length, startSigma: s.startSigma, startTimestep: s.timesteps[0] };
  }

  /** Whether frames are refined at all. */
  get active(): boolean {
    return this.enabled && this.deps.models !== undefined;
  }

  private report(refinedAny: boolean): RefineReportData {
    const reason = !this.deps.models
      ? (this.deps.unavailableReason ?? NO_MODELS_REASON)
      : !this.enabled
        ? DISABLED_REASON
        : refinedAny
          ? ''
          : NOT_IN_VIEW_REASON;
    return { refined: this.active && refinedAny, reason, ...this.schedule, batchSize: this.batch.batchSize };
  }

  private classify(frames: readonly CompositeFrame[]): Role[] {
    return frames.map((f) => {
      if (f.region.w <= 0 || f.region.h <= 0) return 'skip';
      if (this.lastKeyIndex === undefined || f.index - this.lastKeyIndex >= this.settings.frameInterval) {
        this.lastKeyIndex = f.index;
        return 'key';
      }
      return 'carry';
    });
  }

  private plan(f: CompositeFrame): RegionPlan {
    const s = this.settings;
    return s.mode === 'whole_frame' ? planWholeFrame(f.widthPx, f.heightPx) : planRoi(f.region, f.widthPx, f.heightPx, s.roiSizePx, s.roiMarginPx);
  }

  private prepare(f: CompositeFrame, plan: RegionPlan): PreparedFrame {
    const { cropBox, modelWidthPx: w, modelHeightPx: h } = plan;
    const image = sampleBox({ widthPx: f.widthPx, heightPx: f.heightPx, channels: 3, data: f.composite }, cropBox, w, h);
    const mask = sampleBox({ widthPx: f.widthPx, heightPx: f.heightPx, channels: 1, data: f.mask }, cropBox, w, h);
    const n = w * h;
    for (let p = 0; p < n; p++) mask[p] = mask[p] >= 127.5 ? 1 : 0;
    const control = new Float32Array(3 * n);
    for (let k = 0; k < 3; k++) {
      for (let p = 0; p < n; p++) {
        const v = image[k * n + p];
        control[k * n + p] = mask[p] === 1 ? -1 : v / 255;
        image[k * n + p] = v / 127.5 - 1;
      }
    }
    return { image, mask, control };
  }

  private noiseFor(models: ModelSet, plan: RegionPlan): Float32Array {
    const m = models.manifest;
    const key = `${plan.modelWidthPx}x${plan.modelHeightPx}`;
    let noise = this.noise.get(key);
    if (!noise) {
      const count = m.latentChannels * (plan.modelHeightPx / m.vaeScaleFactor) * (plan.modelWidthPx / m.vaeScaleFactor);
      noise = createRandom(this.settings.seed).normals(count);
      this.noise.set(key, noise);
    }
    return noise;
  }

  /** Refines the key frames of one size; returns refined crops as planar [3, h, w] floats in [-1, 1]. */
  private async diffuse(models: ModelSet, items: readonly { frame: CompositeFrame; plan: RegionPlan }[], warnings: string[]): Promise<Float32Array[]> {
    const prompt = await (this.prompt ??= encodePrompt(models, this.settings.prompt, this.settings.negativePrompt));
    if (this.batch.batchSize <= 0) {
      this.batch.batchSize = chooseBatchSize({ provider: models.provider, deviceMemoryGiB: this.deps.deviceMemoryGiB ?? 0 });
    }
    const { modelWidthPx: w, modelHeightPx: h } = items[0].plan;
    const noise = this.noiseFor(models, items[0].plan);
    return runInChunks(
      items,
      this.batch,
      async (chunk, size) => {
        return diffuseBatch(models, size, {
          frames: chunk.map((it) => this.prepare(it.frame, it.plan)),
          heightPx: h,
          widthPx: w,
          noise,
          prompt,
          settings: {
            scheduler: this.settings.scheduler,
            guidanceScale: this.settings.guidanceScale,
            conditioningScale: this.settings.conditioningScale,
            vaeTilePx: this.settings.vaeTilePx,
          },
        });
      },
      warnings,
      this.logger,
    );
  }

  /** Refines one batch of composited frames (in order); frames come back in the same order. */
  async refineBatch(frames: readonly CompositeFrame[]): Promise<RefineBatchResult> {
    frames.forEach(checkFrame);
    const out: RefinedFrame[] = frames.map((f) => ({ index: f.index, widthPx: f.widthPx, heightPx: f.heightPx, ptsUs: f.ptsUs, data: f.composite.slice(), changed: false }));
    const warnings: string[] = [];
    const models = this.deps.models;
    if (!this.active || !models) return { frames: out, report: this.report(false), warnings };

    const roles = this.classify(frames);
    const keys = frames.map((frame, i) => ({ frame, i, plan: this.plan(frame) })).filter((_, i) => roles[i] === 'key');
    const residuals = new Map<number, KeyResidual>();
    const bySize = new Map<string, typeof keys>();
    for (const k of keys) {
      const size = `${k.plan.modelWidthPx}x${k.plan.modelHeightPx}`;
      bySize.set(size, [...(bySize.get(size) ?? []), k]);
    }
    for (const group of bySize.values()) {
      const refined = await this.diffuse(models, group, warnings);
      group.forEach((k, j) => {
        residuals.set(k.frame.index, this.pasteBack(k.frame, k.plan, refined[j], out[k.i]));
        out[k.i].changed = true;
      });
    }
    let carried = 0;
    frames.forEach((f, i) => {
      if (roles[i] !== 'carry') return;
      const key = [...residuals.values()].filter((r) => r.index < f.index).pop() ?? this.lastKey;
      if (!key) return;
      const raster: Raster = { widthPx: f.widthPx, heightPx: f.heightPx, channels: 3, data: out[i].data };
      if (applyCarry(raster, { widthPx: f.widthPx, heightPx: f.heightPx, channels: 1, data: f.mask }, f.region, this.settings.featherPx, key)) {
        out[i].changed = true;
        carried++;
      }
    });
    this.lastKey = [...residuals.values()].pop() ?? this.lastKey;
    this.logger.debug('batch refined', { frames: frames.length, keys: keys.length, carried, batchSize: this.batch.batchSize });
    return { frames: out, report: this.report(keys.length + carried > 0), warnings };
  }

  private pasteBack(f: CompositeFrame, plan: RegionPlan, refined: Float32Array, target: RefinedFrame): KeyResidual {
    const s = this.settings;
    const crop = plan.cropBox;
    // the mask box grown by the feather radius, inside the frame and inside the refined crop
    const area = intersectBoxes(clipBox(f.region, s.featherPx, f.widthPx, f.heightPx)!, crop)!;
    const mask: Raster = { widthPx: f.widthPx, heightPx: f.heightPx, channels: 1, data: f.mask };
    const values = resampleToArea(refined, plan.modelWidthPx, plan.modelHeightPx, crop, area);
    for (let i = 0; i < values.length; i++) values[i] = Math.min(255, Math.max(0, (values[i] + 1) * 127.5));
    blendArea({ widthPx: f.widthPx, heightPx: f.heightPx, channels: 3, data: target.data }, area, featherWeights(mask, area, s.featherPx), values);
    return keyResidual(f.index, f.region, area, { widthPx: f.widthPx, heightPx: f.heightPx, channels: 3, data: f.composite }, values);
  }
}
