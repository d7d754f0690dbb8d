/**
 * Shared body of the compositor benchmarks (CPU: bench/compositor-cpu.ts, GPU: bench/gpu/compositor.ts):
 * the production path (CompositorJob: render, read back, composite in linear light, inpaint mask) on a
 * camera orbiting a product at 1080p, one frame per call as the service does, timed per frame.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, getPriority, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Document, NodeIO } from '@gltf-transform/core';
import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import { lookAtPose, type CameraPose } from '../services/compositor/src/camera-model';
import { CompositorJob, type FrameInput } from '../services/compositor/src/compositor-job';
import type { GpuBackend } from '../services/compositor/src/gpu-renderer';
import { LayerRenderer } from '../services/compositor/src/layer-renderer';

export interface FrameBenchOptions {
  backend: GpuBackend;
  /** A .glb/.gltf path, or "generated" for the procedural product (no shared data needed). */
  product: string;
  frames: number;
  warmup: number;
  widthPx: number;
  heightPx: number;
  /** Product height as a fraction of the frame height (how big it appears). */
  screenFraction: number;
  /** Frames a batch, as the decoder sends them (the next frame renders while one is composited). */
  batchSize: number;
}

export interface FrameBenchResult {
  product: string;
  backend: string;
  adapter: string;
  frames: number;
  widthPx: number;
  heightPx: number;
  msPerFrame: { median: number; p10: number; p90: number; mean: number };
  /** Process CPU time per frame (all threads: JS and the software rasterizer's), robust to other load on the machine. */
  cpuMsPerFrame: number;
  batchSize: number;
  /** Medians of the parts: waiting for render + read-back (what compositing did not hide), composite + mask (JS), and the first frame (shader compiles, shadow maps, IBL). */
  parts: { renderWaitMs: number; compositeMs: number; firstFrameMs: number };
  /** Median share of the frame the renderer drew (only the product's region is drawn). */
  drawnShareOfFrame: number;
  machine: { cpu: string; cores: number; loadAverageStart: number[]; loadAverageEnd: number[]; niceness: number };
}

/** A product with the weight of a real one: ~100k triangles, 2048px base colour, metal-roughness and normal maps. */
export async function writeGeneratedProduct(path: string): Promise<void> {
  const geometry = new THREE.TorusKnotGeometry(0.5, 0.16, 800, 64);
  const document = new Document();
  const buffer = document.createBuffer();
  const accessor = (array: ArrayLike<number>, type: 'VEC3' | 'VEC2' | 'SCALAR', Ctor: Float32ArrayConstructor | Uint32ArrayConstructor) =>
    document.createAccessor().setType(type).setArray(Ctor.from(array)).setBuffer(buffer);
  const size = 2048;
  const texture = async (pixel: (x: number, y: number) => [number, number, number]) => {
    const rgb = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) rgb.set(pixel(x, y), (y * size + x) * 3);
    return document.createTexture().setMimeType('image/jpeg').setImage(new Uint8Array(await sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 85 }).toBuffer()));
  };
  const stripes = (x: number, y: number) => Math.sin(x / 23) * Math.cos(y / 17);
  const material = document
    .createMaterial('generated')
    .setBaseColorTexture(await texture((x, y) => (stripes(x, y) > 0 ? [200, 60, 40] : [220, 200, 170])))
    .setMetallicRoughnessTexture(await texture((x, y) => [0, stripes(x, y) > 0 ? 80 : 200, stripes(x, y) > 0 ? 255 : 0]))
    .setNormalTexture(await texture((x, y) => [128 + 60 * Math.sin(x / 9), 128 + 60 * Math.sin(y / 9), 230]));
  const primitive = document
    .createPrimitive()
    .setAttribute('POSITION', accessor(geometry.getAttribute('position').array, 'VEC3', Float32Array))
    .setAttribute('NORMAL', accessor(geometry.getAttribute('normal').array, 'VEC3', Float32Array))
    .setAttribute('TEXCOORD_0', accessor(geometry.getAttribute('uv').array, 'VEC2', Float32Array))
    .setIndices(accessor(geometry.getIndex()!.array, 'SCALAR', Uint32Array))
    .setMaterial(material);
  document.createScene().addChild(document.createNode('knot').setMesh(document.createMesh('knot').addPrimitive(primitive)));
  writeFileSync(path, await new NodeIO().writeBinary(document));
}

/** A textured background frame (a real one when ffmpeg and the shared apple video exist, else synthetic). */
async function backgroundFrame(widthPx: number, heightPx: number, work: string): Promise<Uint8Array> {
  const video = join(process.env.VANELIA_SHARED_DATA ?? join(process.cwd(), '..', 'shared', 'data'), 'video-apple-orbit-cotracker', 'apple.mp4');
  try {
    if (!existsSync(video)) throw new Error('no video');
    const png = join(work, 'frame.png');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', video, '-frames:v', '1', png]);
    return new Uint8Array(await sharp(png).removeAlpha().resize(widthPx, heightPx, { fit: 'fill' }).raw().toBuffer());
  } catch {
    const data = new Uint8Array(widthPx * heightPx * 3);
    for (let p = 0; p < widthPx * heightPx; p++) {
      const x = p % widthPx;
      const y = Math.floor(p / widthPx);
      const v = 150 + 40 * Math.sin(x / 37) * Math.cos(y / 29) - (60 * y) / heightPx;
      data.set([v + 20, v + 10, v], p * 3);
    }
    return data;
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))];
}

export async function runFrameBench(options: FrameBenchOptions): Promise<FrameBenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'vanelia-bench-'));
  const loadStart = loadavg();
  try {
    let productPath = options.product;
    if (productPath === 'generated') {
      productPath = join(work, 'generated.glb');
      await writeGeneratedProduct(productPath);
    }
    const { widthPx: W, heightPx: H } = options;
    const background = await backgroundFrame(W, H, work);
    const renderer = await LayerRenderer.create({ backend: options.backend });
    const total = options.warmup + options.frames + 1;
    const f = 0.9 * W;
    // Orbit: the product (1 m tall) fills `screenFraction` of the frame height at distance d.
    const distance = (f / (options.screenFraction * H)) * 1.0;
    const cameras: CameraPose[] = Array.from({ length: total }, (_, i) => {
      const angle = (i / total) * Math.PI * 0.6 - Math.PI * 0.3;
      const eye = new THREE.Vector3(Math.sin(angle) * distance, 0.5 + distance * 0.35, Math.cos(angle) * distance);
      return lookAtPose(i, { fxPx: f, fyPx: f, cxPx: W / 2, cyPx: H / 2, widthPx: W, heightPx: H }, eye, new THREE.Vector3(0, 0.5, 0));
    });
    const job = await CompositorJob.open(renderer, { jobId: 'bench', productPath, cameras, productHeightM: 1, shadowOpacity: 0.8, maskDilatePx: 12 });
    const frame = (i: number): FrameInput => ({ frameIndex: i, image: { widthPx: W, heightPx: H, data: background } });
    await job.prepareLighting([frame(0)]);
    const times: number[] = [];
    const renderTimes: number[] = [];
    const compositeTimes: number[] = [];
    const shares: number[] = [];
    const started = performance.now();
    await job.compositeFrames([frame(0)]);
    const firstFrameMs = performance.now() - started;
    let cpuMs = 0;
    for (let first = 1; first < total; first += options.batchSize) {
      const batch = Array.from({ length: Math.min(options.batchSize, total - first) }, (_, i) => frame(first + i));
      let previous = performance.now();
      const cpuBefore = process.cpuUsage();
      const results = await job.compositeFrames(batch);
      const cpu = process.cpuUsage(cpuBefore);
      // CPU time of measured frames only (a batch with warm-up frames counts its measured share).
      const measured = batch.filter((f) => f.frameIndex > options.warmup).length;
      cpuMs += ((cpu.user + cpu.system) / 1000) * (measured / batch.length);
      job.lastTimings.forEach((timing, i) => {
        // Per-frame time: from the previous frame's end (or the batch start) to this frame's end.
        const ms = timing.doneAtMs - previous;
        previous = timing.doneAtMs;
        if (timing.frameIndex <= options.warmup) return;
        times.push(ms);
        renderTimes.push(timing.renderWaitMs);
        compositeTimes.push(timing.compositeMs);
        shares.push((results[i].layers.region.widthPx * results[i].layers.region.heightPx) / (W * H));
      });
    }
    job.close();
    const adapter = renderer.gpu.adapter;
    const backend = renderer.gpu.backend;
    renderer.dispose();
    const sorted = [...times].sort((a, b) => a - b);
    const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5);
    return {
      product: options.product === 'generated' ? 'generated (torus knot, 102k triangles, 3 x 2048px textures)' : options.product,
      backend,
      adapter,
      frames: times.length,
      widthPx: W,
      heightPx: H,
      msPerFrame: { median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9), mean: times.reduce((a, b) => a + b, 0) / times.length },
      cpuMsPerFrame: cpuMs / times.length,
      batchSize: options.batchSize,
      parts: { renderWaitMs: median(renderTimes), compositeMs: median(compositeTimes), firstFrameMs },
      drawnShareOfFrame: median(shares),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadAverageStart: loadStart, loadAverageEnd: loadavg(), niceness: getPriority() },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
