import { VaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import type { CameraPose } from './camera-model';
import type { RgbImage } from './colour';
import { compositeFrame, type CompositeOptions } from './composite';
import { buildInpaintMask, type InpaintMaskOptions } from './inpaint-mask';
import { emptyLayers, type LayerRenderer, type RenderedLayers } from './layer-renderer';
import { estimateLighting, type LightEstimateOptions } from './light-estimate';
import { placeProduct, type PlacementOptions, type ProductAnchor } from './placement';
import { loadProductModel, type ProductLoadOptions } from './product-model';
import { ProductStage, type PixelRect, type StageOptions } from './product-stage';
import type { SceneDepth } from './scene-depth';

/**
 * One compositing job: the product loaded and placed once, lighting estimated from the first frames it
 * sees, then every frame rendered at its camera and composited. Frames come in batches; the renderer is
 * shared with other jobs and only borrowed for each frame.
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
}

export interface FrameInput {
  frameIndex: number;
  image: RgbImage;
}

export interface FrameTiming {
  frameIndex: number;
  /** Time spent waiting for the frame's layers (rendering and read-back not hidden behind compositing). */
  renderWaitMs: number;
  /** Composite and inpaint mask (JS, on this thread). */
  compositeMs: number;
  /** performance.now() when the frame was done. */
  doneAtMs: number;
}

export interface CompositedFrame {
  frameIndex: number;
  /** RGB8 sRGB, full frame. */
  composite: Uint8Array;
  /** GRAY8 full frame (product and shadow, dilated). */
  inpaintMask: Uint8Array;
  /** Bounding box of the inpaint mask; width 0 when the product is out of view. */
  region: PixelRect;
  /** The rendered layers (colour, masks, depth) for callers that keep them (the CLI writes them out). */
  layers: RenderedLayers;
}

export class CompositorJob {
  private lit = false;
  private readonly cameras = new Map<number, CameraPose>();
  private readonly depth = new Map<number, SceneDepth>();
  /** Warnings not yet returned to the caller. */
  private pendingWarnings: string[];
  private timings: FrameTiming[] = [];

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
   * Estimates the lighting from these frames (those with cameras), once per job; later calls do nothing.
   * compositeFrames calls it with its first batch when nobody did before.
   */
  async prepareLighting(frames: FrameInput[]): Promise<void> {
    if (this.lit) return;
    const seen = frames.filter((f) => this.cameras.has(f.frameIndex)).map((f) => ({ image: f.image, pose: this.cameras.get(f.frameIndex)! }));
    if (seen.length === 0) return;
    this.stage.setLighting(await estimateLighting(seen, this.stage.placement.upWorld, this.options.light));
    this.lit = true;
  }

  /** Renders and composites frames in order; the next frame renders while this one is composited. */
  async compositeFrames(frames: FrameInput[]): Promise<CompositedFrame[]> {
    await this.prepareLighting(frames);
    this.timings = [];
    const render = (frame: FrameInput | undefined): Promise<RenderedLayers> | undefined => {
      const pose = frame && this.poseFor(frame);
      if (!pose) return undefined;
      const pending = this.renderer.render(this.stage, pose);
      pending.catch(() => undefined); // awaited below; never left unhandled if compositing throws first
      return pending;
    };
    const out: CompositedFrame[] = [];
    let next = render(frames[0]);
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      const waitStarted = performance.now();
      const layers = await next;
      const rendered = performance.now();
      next = render(frames[i + 1]);
      out.push(layers ? this.compositeLayers(frame, layers) : passThrough(frame));
      const done = performance.now();
      this.timings.push({ frameIndex: frame.frameIndex, renderWaitMs: rendered - waitStarted, compositeMs: done - rendered, doneAtMs: done });
    }
    return out;
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

  private compositeLayers(frame: FrameInput, layers: RenderedLayers): CompositedFrame {
    const { widthPx, heightPx } = frame.image;
    const pose = this.cameras.get(frame.frameIndex)!;
    const { rgb, productAlpha, shadowStrength } = compositeFrame(
      {
        frame: frame.image,
        layers,
        pose,
        plane: { pointWorld: this.stage.placement.groundWorld, upWorld: this.stage.placement.upWorld },
        sceneDepth: this.depth.get(frame.frameIndex),
      },
      { ...this.options.composite, shadowOpacity: this.config.shadowOpacity },
    );
    const mask = buildInpaintMask(widthPx, heightPx, layers.region, productAlpha, shadowStrength, { ...this.options.mask, dilatePx: this.config.maskDilatePx });
    return { frameIndex: frame.frameIndex, composite: rgb, inpaintMask: mask.mask, region: mask.box, layers };
  }

  close(): void {
    this.stage.dispose();
  }
}

function passThrough(frame: FrameInput): CompositedFrame {
  const { widthPx, heightPx } = frame.image;
  return {
    frameIndex: frame.frameIndex,
    composite: frame.image.data,
    inpaintMask: new Uint8Array(widthPx * heightPx),
    region: { xPx: 0, yPx: 0, widthPx: 0, heightPx: 0 },
    layers: emptyLayers(frame.frameIndex, widthPx, heightPx),
  };
}
