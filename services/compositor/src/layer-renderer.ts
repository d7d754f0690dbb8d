import type { Logger } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { clamp, float, floor, fract, mrt, output, positionView, uniform, vec4 } from 'three/tsl';
import { applyCameraPose, cameraCentre, type CameraPose } from './camera-model';
import { createGpuRenderer, type GpuRenderer, type GpuRendererOptions } from './gpu-renderer';
import { SRGB8_TO_LINEAR, linearToSrgb8 } from './colour';
import type { PixelRect, ProductStage } from './product-stage';
import { Readback, type LayerRead } from './readback';

/**
 * Renders a staged product at one camera and reads the layers back. Every pass writes two layers at once
 * (multiple render targets):
 *  - colour: premultiplied RGBA in linear light, stored sRGB-encoded (rgba8unorm-srgb: the hardware encodes,
 *    and resolves anti-aliased edges in linear light);
 *  - aux: R shadow on the catcher, G product coverage, B/A product depth packed as 16 bits over the product's
 *    depth range for this camera.
 * Only the part of the frame where product or shadow can appear is drawn (the principal point is shifted
 * into it, so the projection stays exact).
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

/** What the GPU passes of one frame read back, before assembly into layers (plain data: it goes to workers). */
export interface RenderedPasses {
  frameIndex: number;
  frameWidthPx: number;
  frameHeightPx: number;
  /** The region every layer covers (product and shadow). */
  region: PixelRect;
  /** The shading pass (RGBA8 colour, RGBA8 aux) and the multisampled coverage pass (RGBA8) over the product's region. */
  product: { region: PixelRect; color: Uint8Array; aux: Uint8Array; coverage?: Uint8Array };
  /** The shadow catcher's aux layer (RGBA8), rendered at `scale` of the region's size. */
  shadow: { widthPx: number; heightPx: number; aux: Uint8Array; scale: number };
  /** The product's depth range for this camera (the aux layer's 16-bit depth spans it). */
  nearM: number;
  farM: number;
}

export interface LayerRendererOptions extends GpuRendererOptions {
  /** Samples of the coverage pass that anti-aliases the product's silhouette (1 disables anti-aliasing). */
  samples?: number;
  /** Only the part of the frame where product or shadow can appear is drawn, padded by this margin. */
  regionMarginPx?: number;
  /** Region sizes are rounded up to multiples of this, so few render targets are needed. */
  regionStepPx?: number;
  /** Resolution of the shadow pass relative to the frame (soft shadows lose nothing at half resolution). */
  shadowScale?: number;
}

type PassKind = 'layers' | 'coverage' | 'shadow';

export const LAYER_RENDERER_DEFAULTS: Required<Omit<LayerRendererOptions, keyof GpuRendererOptions>> = {
  samples: 4,
  regionMarginPx: 16,
  regionStepPx: 128,
  shadowScale: 0.5,
};

export class LayerRenderer {
  private readonly targets = new Map<string, THREE.RenderTarget>();
  private readonly camera = new THREE.PerspectiveCamera();
  private readonly depthNear = uniform(0);
  private readonly depthSpan = uniform(1);
  private readonly readback: Readback | undefined;
  /** Unlit white, both sides: the coverage pass only needs where geometry is. */
  private readonly coverageMaterial = new THREE.MeshBasicNodeMaterial({ color: 0xffffff, side: THREE.DoubleSide });

  private constructor(
    readonly gpu: GpuRenderer,
    private readonly opts: Required<Omit<LayerRendererOptions, keyof GpuRendererOptions>>,
  ) {
    const renderer = gpu.renderer;
    const backend = (renderer as unknown as { backend: unknown }).backend;
    this.readback = Readback.supported(backend) ? new Readback(backend as ConstructorParameters<typeof Readback>[0]) : undefined;
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

  /**
   * A render target from a small least-recently-used cache: two RGBA8 layers (colour, aux) for the shading
   * pass, one multisampled linear layer for the coverage pass, the aux layer alone for the shadow pass.
   */
  private target(widthPx: number, heightPx: number, kind: PassKind): THREE.RenderTarget {
    const key = `${widthPx}x${heightPx}:${kind}`;
    let target = this.targets.get(key);
    if (target) {
      this.targets.delete(key);
    } else {
      target = new THREE.RenderTarget(widthPx, heightPx, {
        count: kind === 'layers' ? 2 : 1,
        samples: kind === 'coverage' && this.opts.samples > 1 ? this.opts.samples : 0,
        type: THREE.UnsignedByteType,
        depthBuffer: true,
      });
      // The shadow pass has only the aux layer (the catcher writes its shadow there).
      target.textures[0].name = kind === 'shadow' ? 'aux' : 'output';
      target.textures[0].colorSpace = kind === 'layers' ? THREE.SRGBColorSpace : THREE.NoColorSpace;
      if (kind === 'layers') {
        target.textures[1].name = 'aux';
        target.textures[1].colorSpace = THREE.NoColorSpace;
      }
      if (this.targets.size >= 8) {
        const [oldestKey, oldest] = this.targets.entries().next().value!;
        oldest.dispose();
        this.targets.delete(oldestKey);
      }
    }
    this.targets.set(key, target);
    return target;
  }

  /** A screen region grown to the size step (few render-target sizes), kept inside the frame. */
  private stepped(region: PixelRect, pose: CameraPose): PixelRect {
    const { widthPx: fw, heightPx: fh } = pose.intrinsics;
    if (region.widthPx === 0) return region;
    const step = this.opts.regionStepPx;
    const widthPx = Math.min(fw, Math.ceil(region.widthPx / step) * step);
    const heightPx = Math.min(fh, Math.ceil(region.heightPx / step) * step);
    const xPx = Math.max(0, Math.min(fw - widthPx, region.xPx - ((widthPx - region.widthPx) >> 1)));
    const yPx = Math.max(0, Math.min(fh - heightPx, region.yPx - ((heightPx - region.heightPx) >> 1)));
    return { xPx, yPx, widthPx, heightPx };
  }

  /**
   * Renders the stage at one camera and reads back colour, masks and depth, assembled into layers (on this
   * thread; the compositor job assembles in its worker pool through renderPasses instead).
   */
  async render(stage: ProductStage, pose: CameraPose): Promise<RenderedLayers> {
    const passes = await this.renderPasses(stage, pose);
    return passes ? assembleLayers(passes) : emptyLayers(pose.frameIndex, pose.intrinsics.widthPx, pose.intrinsics.heightPx);
  }

  /**
   * Records the frame's passes and their read-backs on the GPU queue before returning (synchronously, so
   * jobs sharing the renderer never interleave), then resolves when the read-backs arrive; undefined when
   * the product is out of view. Several frames may be in flight: render targets are reused, but each
   * frame's copies are queued before the next frame draws into them, and the queue runs in order.
   */
  renderPasses(stage: ProductStage, pose: CameraPose): Promise<RenderedPasses | undefined> {
    try {
      return this.recordPasses(stage, pose);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Draws one pass over `region` of the frame (the camera's principal point shifted into it); returns the layers to read back. */
  private drawPass(stage: ProductStage, pose: CameraPose, region: PixelRect, kind: PassKind, layers: number[], scale = 1): LayerRead[] {
    const k = pose.intrinsics;
    // Continuous pixel coordinates scale exactly: u' = (u - x0) * scale.
    const widthPx = Math.ceil(region.widthPx * scale);
    const heightPx = Math.ceil(region.heightPx * scale);
    const sub: CameraPose = {
      frameIndex: pose.frameIndex,
      cameraToWorldOpenCv: pose.cameraToWorldOpenCv,
      intrinsics: { fxPx: k.fxPx * scale, fyPx: k.fyPx * scale, cxPx: (k.cxPx - region.xPx) * scale, cyPx: (k.cyPx - region.yPx) * scale, widthPx, heightPx },
    };
    applyCameraPose(this.camera, sub, this.camera.near, this.camera.far, this.gpu.renderer.coordinateSystem);
    const target = this.target(widthPx, heightPx, kind);
    const renderer = this.gpu.renderer;
    const mrtNode = renderer.getMRT();
    if (kind === 'coverage') {
      renderer.setMRT(null);
      stage.scene.overrideMaterial = this.coverageMaterial;
    }
    try {
      renderer.setRenderTarget(target);
      this.gpu.tick();
      renderer.render(stage.scene, this.camera);
      return layers.map((layer) => ({ target, layer, widthPx, heightPx }));
    } finally {
      stage.scene.overrideMaterial = null;
      renderer.setMRT(mrtNode);
      renderer.setRenderTarget(null);
    }
  }

  /**
   * Three passes. The product is shaded once a pixel over its own (small) region; a multisampled pass with
   * an unlit material gives its exact silhouette coverage (multisampling the full shading costs several times
   * more on a CPU rasterizer, and only the silhouette needs it against footage); the shadow catcher is drawn
   * alone, not multisampled (soft shadows need none), over the region product and shadows can cover.
   */
  private recordPasses(stage: ProductStage, pose: CameraPose): Promise<RenderedPasses | undefined> {
    const region = this.stepped(stage.screenRegion(pose, this.opts.regionMarginPx, 'all'), pose);
    if (region.widthPx === 0 || region.heightPx === 0) return Promise.resolve(undefined);
    const productRegion = this.stepped(stage.screenRegion(pose, this.opts.regionMarginPx, 'product'), pose);
    const eye = cameraCentre(pose);
    const m = pose.cameraToWorldOpenCv;
    const forward = new THREE.Vector3(m[2], m[6], m[10]).normalize();
    const range = stage.productDepthRange(eye, forward);
    const reach = stage.placement.sphereWorld.radius * 5;
    const centreZ = stage.placement.sphereWorld.center.clone().sub(eye).dot(forward);
    this.camera.near = Math.max(range.nearM * 0.5, centreZ - reach, 1e-4 * reach);
    this.camera.far = Math.max(centreZ + reach, this.camera.near * 2);
    this.depthNear.value = range.nearM;
    this.depthSpan.value = range.farM - range.nearM;
    try {
      // Product passes first: static shadow maps are drawn on the first render, and need the product.
      stage.showOnly('product');
      const reads: LayerRead[] = [];
      if (productRegion.widthPx > 0) {
        reads.push(...this.drawPass(stage, pose, productRegion, 'layers', [0, 1]));
        if (this.opts.samples > 1) reads.push(...this.drawPass(stage, pose, productRegion, 'coverage', [0]));
      }
      stage.showOnly('shadow');
      const scale = this.opts.shadowScale;
      reads.push(...this.drawPass(stage, pose, region, 'shadow', [0], scale));
      const { frameIndex, intrinsics } = pose;
      return this.read(reads).then((bytes) => {
        const shadowAux = bytes.pop()!;
        const [color = new Uint8Array(0), aux = new Uint8Array(0), coverage] = bytes;
        return {
          frameIndex,
          frameWidthPx: intrinsics.widthPx,
          frameHeightPx: intrinsics.heightPx,
          region,
          product: { region: productRegion, color, aux, coverage },
          shadow: { widthPx: Math.ceil(region.widthPx * scale), heightPx: Math.ceil(region.heightPx * scale), aux: shadowAux, scale },
          nearM: range.nearM,
          farM: range.farM,
        };
      });
    } finally {
      stage.showOnly('product');
    }
  }

  /**
   * Queues the copies of these layers now (before any later frame draws into the same targets) and
   * resolves with their bytes: through reused staging buffers, or three.js's own read-back when the
   * backend does not expose its device.
   */
  private read(layers: LayerRead[]): Promise<Uint8Array[]> {
    if (this.readback) return this.readback.read(layers);
    const renderer = this.gpu.renderer;
    // three.js submits each copy before it awaits the mapping: the copies are queued right here.
    return Promise.all(layers.map((l) => renderer.readRenderTargetPixelsAsync(l.target, 0, 0, l.widthPx, l.heightPx, l.layer) as Promise<Uint8Array>));
  }

  private releaseTargets(): void {
    for (const target of this.targets.values()) target.dispose();
    this.targets.clear();
  }

  dispose(): void {
    this.readback?.dispose();
    this.releaseTargets();
    this.coverageMaterial.dispose();
    this.gpu.dispose();
  }
}

/**
 * Puts the passes into region-sized layers: the shadow from the catcher pass; the product's colour, alpha
 * and 16-bit depth from its shading pass, with alpha scaled by the multisampled coverage at the silhouette
 * (where the pixel centre missed the product, colour and depth come from the covered neighbours).
 */
export function assembleLayers(passes: RenderedPasses): RenderedLayers {
  const { region, product, shadow, nearM, farM } = passes;
  const pixels = region.widthPx * region.heightPx;
  const colorPremultiplied = new Uint8Array(pixels * 4);
  const productMask = new Uint8Array(pixels);
  const depth = new Float32Array(pixels);
  const shadowMask = upsampleRed(shadow.aux, shadow.widthPx, shadow.heightPx, region.widthPx, region.heightPx, shadow.scale);
  const span = farM - nearM;
  const { color, aux, coverage } = product;
  const pr = product.region;
  const depthAt = (q: number): number => nearM + Math.min(1, (aux[q * 4 + 2] + aux[q * 4 + 3] / 255) / Math.max(aux[q * 4 + 1], 1)) * span;
  const mix = [0, 0, 0, 0];
  for (let y = Math.max(pr.yPx, region.yPx); y < Math.min(pr.yPx + pr.heightPx, region.yPx + region.heightPx); y++) {
    for (let x = Math.max(pr.xPx, region.xPx); x < Math.min(pr.xPx + pr.widthPx, region.xPx + region.widthPx); x++) {
      const lx = x - pr.xPx;
      const ly = y - pr.yPx;
      const q = ly * pr.widthPx + lx;
      const dst = (y - region.yPx) * region.widthPx + (x - region.xPx);
      const covered = coverage ? coverage[q * 4 + 3] : color[q * 4 + 3] > 0 ? 255 : 0;
      if (covered === 0) continue;
      const alpha = color[q * 4 + 3];
      if (covered === 255 && alpha > 0) {
        // Interior: the shading pass as it is.
        colorPremultiplied.set(color.subarray(q * 4, q * 4 + 4), dst * 4);
        productMask[dst] = aux[q * 4 + 1];
        depth[dst] = depthAt(q);
        continue;
      }
      // Silhouette: straight colour and alpha of this pixel, or of its shaded neighbours when the centre missed.
      mix.fill(0);
      let weight = 0;
      let nearest = Infinity;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((alpha > 0 && (dx !== 0 || dy !== 0)) || lx + dx < 0 || ly + dy < 0 || lx + dx >= pr.widthPx || ly + dy >= pr.heightPx) continue;
          const n = q + dy * pr.widthPx + dx;
          const a = color[n * 4 + 3];
          if (a === 0) continue;
          for (let c = 0; c < 3; c++) mix[c] += SRGB8_TO_LINEAR[color[n * 4 + c]] / (a / 255);
          mix[3] += a / 255;
          weight++;
          nearest = Math.min(nearest, depthAt(n));
        }
      }
      if (weight === 0) continue;
      const a = (mix[3] / weight) * (covered / 255);
      for (let c = 0; c < 3; c++) colorPremultiplied[dst * 4 + c] = linearToSrgb8((mix[c] / weight) * a);
      colorPremultiplied[dst * 4 + 3] = Math.round(a * 255);
      productMask[dst] = covered;
      depth[dst] = nearest;
    }
  }
  const { frameIndex, frameWidthPx, frameHeightPx } = passes;
  return { frameIndex, frameWidthPx, frameHeightPx, region, colorPremultiplied, productMask, shadowMask, depth };
}

/** Bilinear upsampling of the red channel of an RGBA8 image rendered at `scale` of the output size. */
function upsampleRed(rgba: Uint8Array, sw: number, sh: number, widthPx: number, heightPx: number, scale: number): Uint8Array {
  const out = new Uint8Array(widthPx * heightPx);
  if (scale === 1) {
    for (let p = 0; p < out.length; p++) out[p] = rgba[p * 4];
    return out;
  }
  const xs = new Int32Array(widthPx);
  const fx = new Float32Array(widthPx);
  for (let x = 0; x < widthPx; x++) {
    const u = Math.min(sw - 1, Math.max(0, (x + 0.5) * scale - 0.5));
    xs[x] = Math.min(sw - 2, Math.floor(u));
    fx[x] = u - xs[x];
  }
  for (let y = 0; y < heightPx; y++) {
    const v = Math.min(sh - 1, Math.max(0, (y + 0.5) * scale - 0.5));
    const y0 = Math.max(0, Math.min(sh - 2, Math.floor(v)));
    const fy = v - y0;
    const r0 = y0 * sw;
    const r1 = Math.min(sh - 1, y0 + 1) * sw;
    for (let x = 0; x < widthPx; x++) {
      const x0 = Math.max(0, xs[x]);
      const x1 = Math.min(sw - 1, x0 + 1);
      const top = rgba[(r0 + x0) * 4] + (rgba[(r0 + x1) * 4] - rgba[(r0 + x0) * 4]) * fx[x];
      const bottom = rgba[(r1 + x0) * 4] + (rgba[(r1 + x1) * 4] - rgba[(r1 + x0) * 4]) * fx[x];
      out[y * widthPx + x] = top + (bottom - top) * fy + 0.5;
    }
  }
  return out;
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
