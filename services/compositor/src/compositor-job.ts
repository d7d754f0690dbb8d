import { VaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import type { CameraPose } from './camera-model';
import type { CompositeOptions } from './composite';
import { finishFrame, frameRgb, type FinishedFrame, type FinishTask, type FrameImage } from './frame-finish';
import type { FramePool } from './frame-pool';
import type { InpaintMaskOptions } from './inpaint-mask';
import type { LayerRenderer, RenderedLayers, RenderedPasses } from './layer-renderer';
import { estimateLighting, type LightEstimateOptions } from './light-estimate';
import { placeProduct, type PlacementOptions, type ProductAnchor } from './placement';
import { loadProductModel, type ProductLoadOptions } from './product-model';
import { ProductStage, type PixelRect, type StageOptions } from './product-stage';
import type { SceneDepth } from './scene-depth';

/**
 * One compositing job: the product loaded and placed once, lighting estimated from the first frames it
 * sees, then every frame rendered at its camera and composited. Frames come in batches; the renderer is
 * shared with other jobs and only borrowed while a frame's passes are recorded. Several frames are in
 * flight: while one frame's passes are read back, the next ones are recorded and earlier ones are
 * finished (assembled, composited, masked) in the frame pool's workers, or on this thread without a pool.
 * Results keep the frames' order; batches may overlap (a second call starts before the first resolves).
 */

export interface CompositorJobConfig extends PlacementOptions {
  jobId: string;
  /** The product file (.glb or .gltf). */
  productPath: string;
  /** Cameras by frame index. */
  cameras: CameraPose[];
  /** Where the product stands; undefined: bottom centre at the world origin, +Y up. */
  anchor?: ProductAnchor;
  /** Shadow strength 0..1 (0 disables the shadow). */
  shadowOpacity?: number;
  /** Dilation of the inpaint mask, pixels. */
  maskDilatePx?: number;
  /** Dense scene depth for occlusion, by frame index. */
  depth?: SceneDepth[];
}

export interface CompositorJobOptions {
  load?: ProductLoadOptions;
  stage?: StageOptions;
  light?: LightEstimateOptions;
  composite?: Omit<CompositeOptions, 'shadowOpacity'>;
  mask?: Omit<InpaintMaskOptions, 'dilatePx'>;
  logger?: Logger;
  /** Worker threads that finish frames (shared by jobs); without one, frames are finished on this thread. */
  pool?: FramePool;
  /** Frames of this job in flight at once (recorded, read back or being finished); 0: pool size + 2, or 2 without a pool. */
  framesInFlight?: number;
}

export interface FrameInput {
  frameIndex: number;
  /** RGB8 or I420; the composite comes back in the same format. */
  image: FrameImage;
}

/** Per-frame timings (performance.now() milliseconds); with frames in flight, frames overlap. */
export interface FrameTiming {
  frameIndex: number;
  /** When the frame's passes were recorded (after waiting for a free in-flight slot). */
  issuedAtMs: number;
  /** Recording to read-back arrival: GPU work and transfer, plus queueing behind earlier frames. */
  renderWaitMs: number;
  /** Read-back arrival to finished: assembly, composite, inpaint mask (and waiting for a worker). */
  compositeMs: number;
  /** When the frame was finished. */
  doneAtMs: number;
}

export interface CompositedFrame {
  frameIndex: number;
  /** Full frame in the input's format: RGB8 sRGB, or I420. */
  composite: Uint8Array;
  /** GRAY8 full frame (product and shadow, dilated). */
  inpaintMask: Uint8Array;
  /** Bounding box of the inpaint mask; width 0 when the product is out of view. */
  region: PixelRect;
  /** The rendered layers (colour, masks, depth) for callers that keep them (the CLI writes them out). */
  layers: RenderedLayers;
  /** When the frame was recorded, read back and finished (benchmarks, metrics). */
  timing: FrameTiming;
}

export class CompositorJob {
  private lighting: Promise<void> | undefined;
  private readonly cameras = new Map<number, CameraPose>();
  private readonly depth = new Map<number, SceneDepth>();
  /** Warnings not yet returned to the caller. */
  private pendingWarnings: string[];
  private timings: FrameTiming[] = [];
  private readonly slots: InFlightSlots;
  /** Calls issue their frames one after another, so frames are recorded in the order they were given. */
  private issuing: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly config: CompositorJobConfig,
    private readonly stage: ProductStage,
    private readonly renderer: LayerRenderer,
    private readonly options: CompositorJobOptions,
    warnings: string[],
  ) {
    for (const camera of config.cameras) this.cameras.set(camera.frameIndex, camera);
    for (const map of config.depth ?? []) this.depth.set(map.frameIndex, map);
    this.pendingWarnings = warnings;
    const inFlight = options.framesInFlight && options.framesInFlight > 0 ? options.framesInFlight : options.pool ? options.pool.size + 2 : 2;
    this.slots = new InFlightSlots(Math.floor(inFlight));
  }

  /** Loads and places the product; throws a VaneliaError for a bad file, track or anchor. */
  static async open(renderer: LayerRenderer, config: CompositorJobConfig, options: CompositorJobOptions = {}): Promise<CompositorJob> {
    if (config.cameras.length === 0) throw new VaneliaError('compositor', 'NO_CAMERAS', `job ${config.jobId} has no cameras to render the product at.`);
    const model = await loadProductModel(config.productPath, options.load);
    try {
      const anchorFrame = config.anchor?.frameIndex;
      const facing = config.anchor ? (config.cameras.find((c) => c.frameIndex === anchorFrame) ?? config.cameras[0]) : undefined;
      const placement = placeProduct(model.bounds, config.anchor, config, facing);
      const stage = new ProductStage(model, placement, options.stage);
      (options.logger ?? silentLogger).info('product placed', { jobId: config.jobId, warnings: model.warnings.length + placement.warnings.length });
      return new CompositorJob(config, stage, renderer, options, [...model.warnings, ...placement.warnings]);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  /** Warnings gathered since the last call (each reported once). */
  takeWarnings(): string[] {
    const out = this.pendingWarnings;
    this.pendingWarnings = [];
    return out;
  }

  /**
   * Estimates the lighting from these frames (those with cameras), once per job; later calls wait for that
   * estimate and do nothing more. compositeFrames calls it with its first batch when nobody did before.
   */
  async prepareLighting(frames: FrameInput[]): Promise<void> {
    // No await before `this.lighting` is set: concurrent calls share one estimate.
    if (this.lighting) return this.lighting;
    const seen = frames
      .filter((f) => this.cameras.has(f.frameIndex))
      .map((f) => ({ image: { widthPx: f.image.widthPx, heightPx: f.image.heightPx, data: frameRgb(f.image, f.frameIndex) }, pose: this.cameras.get(f.frameIndex)! }));
    if (seen.length === 0) return;
    const lighting = estimateLighting(seen, this.stage.placement.upWorld, this.options.light).then((light) => this.stage.setLighting(light));
    this.lighting = lighting;
    lighting.catch(() => {
      if (this.lighting === lighting) this.lighting = undefined; // a later batch tries again
    });
    return lighting;
  }

  /** Renders and composites frames; results in the frames' order. */
  async compositeFrames(frames: FrameInput[]): Promise<CompositedFrame[]> {
    await this.prepareLighting(frames);
    const timings: FrameTiming[] = [];
    const issued = this.issuing.then(() => this.issue(frames, timings));
    this.issuing = issued.catch(() => undefined);
    const results = await Promise.all(await issued);
    this.timings = timings;
    return results;
  }

  /**
   * Records every frame's passes as an in-flight slot frees up and chains its finishing; returns the
   * frames' results (each already guarded against going unhandled if an earlier one fails the call).
   */
  private async issue(frames: FrameInput[], timings: FrameTiming[]): Promise<Promise<CompositedFrame>[]> {
    const out: Promise<CompositedFrame>[] = [];
    for (const [i, frame] of frames.entries()) {
      await this.slots.acquire();
      let passes: Promise<RenderedPasses | undefined>;
      let pose: CameraPose | undefined;
      const issuedAtMs = performance.now();
      try {
        pose = this.poseFor(frame);
        passes = pose ? this.renderer.renderPasses(this.stage, pose) : Promise.resolve(undefined);
      } catch (error) {
        this.slots.release();
        throw error;
      }
      let renderedAtMs = issuedAtMs;
      const done = passes
        .then((p) => {
          renderedAtMs = performance.now();
          return this.finish(frame, pose, p);
        })
        .then((result) => {
          const doneAtMs = performance.now();
          const timing = { frameIndex: frame.frameIndex, issuedAtMs, renderWaitMs: renderedAtMs - issuedAtMs, compositeMs: doneAtMs - renderedAtMs, doneAtMs };
          timings[i] = timing;
          return { ...result, timing };
        })
        .finally(() => this.slots.release());
      done.catch(() => undefined);
      out.push(done);
    }
    return out;
  }

  /** Assembles, composites and masks one frame, in the pool when there is one. */
  private async finish(frame: FrameInput, pose: CameraPose | undefined, passes: RenderedPasses | undefined): Promise<FinishedFrame> {
    const sceneDepth = this.depth.get(frame.frameIndex);
    const task: FinishTask = {
      frame: frame.image,
      frameIndex: frame.frameIndex,
      passes,
      pose: sceneDepth ? pose : undefined,
      plane: sceneDepth ? { pointWorld: this.stage.placement.groundWorld, upWorld: this.stage.placement.upWorld } : undefined,
      sceneDepth,
      composite: { ...this.options.composite, shadowOpacity: this.config.shadowOpacity },
      mask: { ...this.options.mask, dilatePx: this.config.maskDilatePx },
    };
    const pool = this.options.pool;
    return pool ? pool.run(task) : finishFrame(task);
  }

  /** Per-frame timings of the last compositeFrames call (benchmarks, metrics). */
  get lastTimings(): readonly FrameTiming[] {
    return this.timings;
  }

  /** The frame's camera after checking its size; undefined (with a warning) when it has none. */
  private poseFor(frame: FrameInput): CameraPose | undefined {
    const pose = this.cameras.get(frame.frameIndex);
    const { widthPx, heightPx } = frame.image;
    if (!pose) {
      this.pendingWarnings.push(`compositor: frame ${frame.frameIndex} has no camera; it passes through without the product.`);
      return undefined;
    }
    if (pose.intrinsics.widthPx !== widthPx || pose.intrinsics.heightPx !== heightPx) {
      throw new VaneliaError(
        'compositor',
        'FRAME_SIZE_MISMATCH',
        `frame ${frame.frameIndex} is ${widthPx}x${heightPx} but its camera is ${pose.intrinsics.widthPx}x${pose.intrinsics.heightPx}.`,
      );
    }
    return pose;
  }

  close(): void {
    this.stage.dispose();
  }
}

/** A counting semaphore: at most `limit` frames of a job in flight. */
class InFlightSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.free = Math.max(1, limit);
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
