import type { Logger } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { clamp, float, floor, fract, mrt, output, positionView, uniform, vec4 } from 'three/tsl';
import { applyCameraPose, cameraCentre, type CameraPose } from './camera-model';
import { createGpuRenderer, type GpuRenderer, type GpuRendererOptions } from './gpu-renderer';
import type { PixelRect, ProductStage } from './product-stage';

/**
 * Renders a staged product at one camera into two 4x multisampled layers in a single pass (multiple render
 * targets) and reads them back:
 *  - colour: premultiplied RGBA in linear light, stored sRGB-encoded (rgba8unorm-srgb: the hardware encodes,
 *    and resolves anti-aliased edges in linear light);
 *  - aux: R shadow on the catcher, G product coverage, B/A product depth packed as 16 bits over the product's
 *    depth range for this camera.
 */

export interface RenderedLayers {
  frameIndex: number;
  frameWidthPx: number;
  frameHeightPx: number;
  /** Where the layers below sit in the frame (they are this rectangle's size); outside it all is empty. */
  region: PixelRect;
  /** RGBA8: colour premultiplied by alpha in linear light, then sRGB-encoded; alpha linear. */
  colorPremultiplied: Uint8Array;
  /** Product coverage 0..255 (anti-aliased). */
  productMask: Uint8Array;
  /** Fraction of light the product blocks on the supporting plane, 0..255 (before the job's shadow opacity). */
  shadowMask: Uint8Array;
  /** Product depth along the camera's +z in world units; 0 where there is no product. */
  depth: Float32Array;
}

export interface LayerRendererOptions extends GpuRendererOptions {
  /** MSAA samples (1 disables anti-aliasing). */
  samples?: number;
  /** Only the part of the frame where product or shadow can appear is drawn, padded by this margin. */
  regionMarginPx?: number;
  /** Region sizes are rounded up to multiples of this, so few render targets are needed. */
  regionStepPx?: number;
}

export const LAYER_RENDERER_DEFAULTS: Required<Omit<LayerRendererOptions, keyof GpuRendererOptions>> = {
  samples: 4,
  regionMarginPx: 16,
  regionStepPx: 128,
};

export class LayerRenderer {
  private readonly targets = new Map<string, THREE.RenderTarget>();
  private readonly camera = new THREE.PerspectiveCamera();
  private readonly depthNear = uniform(0);
  private readonly depthSpan = uniform(1);
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly gpu: GpuRenderer,
    private readonly opts: Required<Omit<LayerRendererOptions, keyof GpuRendererOptions>>,
  ) {
    const renderer = gpu.renderer;
    renderer.setClearColor(0x000000, 0);
    renderer.shadowMap.enabled = true;
    renderer.shadowMap.type = THREE.VSMShadowMap;
    renderer.toneMapping = THREE.NoToneMapping;
    const depth = positionView.z.negate();
    const t = clamp(depth.sub(this.depthNear).div(this.depthSpan), 0, 1).mul(255);
    const hi = floor(t).div(255);
    const lo = fract(t);
    renderer.setMRT(mrt({ output, aux: vec4(float(0), output.a, hi, lo) }));
  }

  static async create(options: LayerRendererOptions = {}, logger?: Logger): Promise<LayerRenderer> {
    const gpu = await createGpuRenderer(options, logger);
    const opts = { ...LAYER_RENDERER_DEFAULTS };
    for (const key of Object.keys(opts) as (keyof typeof opts)[]) if (options[key] !== undefined) opts[key] = options[key]!;
    return new LayerRenderer(gpu, opts);
  }

  /** A render target of this size, from a small least-recently-used cache. */
  private target(widthPx: number, heightPx: number): THREE.RenderTarget {
    const key = `${widthPx}x${heightPx}`;
    let target = this.targets.get(key);
    if (target) {
      this.targets.delete(key);
    } else {
      target = new THREE.RenderTarget(widthPx, heightPx, {
        count: 2,
        samples: this.opts.samples > 1 ? this.opts.samples : 0,
        type: THREE.UnsignedByteType,
        depthBuffer: true,
      });
      target.textures[0].name = 'output';
      target.textures[0].colorSpace = THREE.SRGBColorSpace;
      target.textures[1].name = 'aux';
      target.textures[1].colorSpace = THREE.NoColorSpace;
      if (this.targets.size >= 4) {
        const [oldestKey, oldest] = this.targets.entries().next().value!;
        oldest.dispose();
        this.targets.delete(oldestKey);
      }
    }
    this.targets.set(key, target);
    return target;
  }

  /** The drawn rectangle: the stage's screen region grown to the size step, kept inside the frame. */
  private drawRegion(stage: ProductStage, pose: CameraPose): PixelRect {
    const { widthPx: fw, heightPx: fh } = pose.intrinsics;
    const region = stage.screenRegion(pose, this.opts.regionMarginPx);
    if (region.widthPx === 0) return region;
    const step = this.opts.regionStepPx;
    const widthPx = Math.min(fw, Math.ceil(region.widthPx / step) * step);
    const heightPx = Math.min(fh, Math.ceil(region.heightPx / step) * step);
    const xPx = Math.max(0, Math.min(fw - widthPx, region.xPx - ((widthPx - region.widthPx) >> 1)));
    const yPx = Math.max(0, Math.min(fh - heightPx, region.yPx - ((heightPx - region.heightPx) >> 1)));
    return { xPx, yPx, widthPx, heightPx };
  }

  /**
   * Renders the stage at one camera and reads back colour, masks and depth over the drawn region. Calls are
   * serialised: jobs share one renderer and its render-target state.
   */
  render(stage: ProductStage, pose: CameraPose): Promise<RenderedLayers> {
    const result = this.queue.then(() => this.renderNow(stage, pose));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async renderNow(stage: ProductStage, pose: CameraPose): Promise<RenderedLayers> {
    const region = this.drawRegion(stage, pose);
    const { widthPx, heightPx } = region;
    if (widthPx === 0 || heightPx === 0) return emptyLayers(pose.frameIndex, pose.intrinsics.widthPx, pose.intrinsics.heightPx);
    const k = pose.intrinsics;
    const sub: CameraPose = {
      frameIndex: pose.frameIndex,
      cameraToWorldOpenCv: pose.cameraToWorldOpenCv,
      intrinsics: { fxPx: k.fxPx, fyPx: k.fyPx, cxPx: k.cxPx - region.xPx, cyPx: k.cyPx - region.yPx, widthPx, heightPx },
    };
    const eye = cameraCentre(pose);
    const m = pose.cameraToWorldOpenCv;
    const forward = new THREE.Vector3(m[2], m[6], m[10]).normalize();
    const range = stage.productDepthRange(eye, forward);
    const reach = stage.placement.sphereWorld.radius * 5;
    const centreZ = stage.placement.sphereWorld.center.clone().sub(eye).dot(forward);
    const nearM = Math.max(range.nearM * 0.5, centreZ - reach, 1e-4 * reach);
    const farM = Math.max(centreZ + reach, nearM * 2);
    applyCameraPose(this.camera, sub, nearM, farM, this.gpu.renderer.coordinateSystem);
    this.depthNear.value = range.nearM;
    this.depthSpan.value = range.farM - range.nearM;

    const target = this.target(widthPx, heightPx);
    const renderer = this.gpu.renderer;
    renderer.setRenderTarget(target);
    this.gpu.tick();
    renderer.render(stage.scene, this.camera);
    const color = (await renderer.readRenderTargetPixelsAsync(target, 0, 0, widthPx, heightPx, 0)) as Uint8Array;
    const aux = (await renderer.readRenderTargetPixelsAsync(target, 0, 0, widthPx, heightPx, 1)) as Uint8Array;
    renderer.setRenderTarget(null);
    return unpackLayers(pose, region, color, aux, range.nearM, range.farM);
  }

  private releaseTargets(): void {
    for (const target of this.targets.values()) target.dispose();
    this.targets.clear();
  }

  dispose(): void {
    this.releaseTargets();
    this.gpu.dispose();
  }
}

/** Splits the aux layer into masks and metric depth (coverage-weighted, so anti-aliased edges stay right). */
export function unpackLayers(pose: CameraPose, region: PixelRect, color: Uint8Array, aux: Uint8Array, nearM: number, farM: number): RenderedLayers {
  const pixels = region.widthPx * region.heightPx;
  const productMask = new Uint8Array(pixels);
  const shadowMask = new Uint8Array(pixels);
  const depth = new Float32Array(pixels);
  const span = farM - nearM;
  for (let p = 0, q = 0; p < pixels; p++, q += 4) {
    shadowMask[p] = aux[q];
    const coverage = aux[q + 1];
    productMask[p] = coverage;
    if (coverage > 0) {
      const t = ((aux[q + 2] + aux[q + 3] / 255) / coverage);
      depth[p] = nearM + Math.min(1, t) * span;
    }
  }
  const { frameIndex, intrinsics } = pose;
  return { frameIndex, frameWidthPx: intrinsics.widthPx, frameHeightPx: intrinsics.heightPx, region, colorPremultiplied: color, productMask, shadowMask, depth };
}

/** Layers of a frame where the product is out of view. */
export function emptyLayers(frameIndex: number, frameWidthPx: number, frameHeightPx: number): RenderedLayers {
  return {
    frameIndex,
    frameWidthPx,
    frameHeightPx,
    region: { xPx: 0, yPx: 0, widthPx: 0, heightPx: 0 },
    colorPremultiplied: new Uint8Array(0),
    productMask: new Uint8Array(0),
    shadowMask: new Uint8Array(0),
    depth: new Float32Array(0),
  };
}
