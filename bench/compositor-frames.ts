/**
 * Shared body of the compositor benchmarks (CPU: bench/compositor-cpu.ts, GPU: bench/gpu/compositor.ts):
 * the production path (CompositorJob: render, read back, assemble, composite in linear light, inpaint mask)
 * on a camera orbiting a product at 1080p, in batches as the service gets them (two batches in flight, as
 * the server overlaps them), with frames finished in a worker pool (or on the main thread: --workers 0).
 *
 * Two numbers, not to be mixed up:
 *  - throughput: steady-state wall time per frame = (time between the completions of the first and the
 *    last frame of a window) / (frames in it), windows of `window` consecutive frames, median over windows;
 *    this is what the per-frame goal means (frames a second a compositor replica sustains);
 *  - latency: from a frame's passes being recorded on the GPU to its composite being ready (several frames
 *    overlap, so latency is longer than the throughput time); and per batch, from the call to its answer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, getPriority, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Document, NodeIO } from '@gltf-transform/core';
import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import { lookAtPose, type CameraPose } from '../services/compositor/src/camera-model';
import { i420ToRgb, rgbToI420 } from '@vanelia/runtime';
import { CompositorJob, type CompositedFrame, type FrameInput } from '../services/compositor/src/compositor-job';
import { FramePool, defaultPoolSize } from '../services/compositor/src/frame-pool';
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
  /** Frames a batch, as the decoder sends them. */
  batchSize: number;
  /** Batches given to the job before the oldest is answered (the server keeps 2). */
  batchesInFlight: number;
  /** Frame-pool workers; 0: finish frames on the main thread (the single-thread path); -1: the service default (defaultPoolSize()). */
  workers: number;
  /** Frames as RGB8, or as I420 as the mesh carries them (the service path: conversions included). */
  format: 'rgb8' | 'i420';
  /** Frames in a throughput window. */
  window: number;
}

/** Command-line options both compositor benchmarks take (node:util parseArgs), with their defaults. */
export const FRAME_BENCH_ARGS = {
  frames: { type: 'string', default: '100' },
  warmup: { type: 'string', default: '8' },
  'batch-size': { type: 'string', default: '8' },
  'batches-in-flight': { type: 'string', default: '2' },
  workers: { type: 'string', default: 'auto' },
  format: { type: 'string', default: 'rgb8' },
  window: { type: 'string', default: '10' },
  'screen-fraction': { type: 'string', default: '0.45' },
} as const;

/** The benchmark options from parsed FRAME_BENCH_ARGS values (checked). */
export function frameBenchOptions(values: Record<keyof typeof FRAME_BENCH_ARGS, string | undefined>): Omit<FrameBenchOptions, 'backend' | 'product' | 'widthPx' | 'heightPx'> {
  const format = values.format;
  if (format !== 'rgb8' && format !== 'i420') throw new Error(`--format must be rgb8 or i420, not ${format}`);
  return {
    frames: Number(values.frames),
    warmup: Math.max(1, Number(values.warmup)),
    batchSize: Number(values['batch-size']),
    batchesInFlight: Math.max(1, Number(values['batches-in-flight'])),
    workers: values.workers === 'auto' ? -1 : Number(values.workers),
    format,
    window: Math.max(1, Number(values.window)),
    screenFraction: Number(values['screen-fraction']),
  };
}

export interface FrameBenchResult {
  product: string;
  backend: string;
  adapter: string;
  frames: number;
  widthPx: number;
  heightPx: number;
  /** Throughput: steady-state wall ms per frame over windows of `window` frames (median, p10, p90 over windows; mean over the whole run). */
  msPerFrame: { median: number; p10: number; p90: number; mean: number; window: number };
  /** Latency of one frame: passes recorded -> composite ready (median, p90); several frames overlap. */
  frameLatencyMs: { median: number; p90: number };
  /** Latency of one batch: compositeFrames called -> answered (median, p90). */
  batchLatencyMs: { median: number; p90: number };
  /** Process CPU time per frame (all threads: JS, workers and the software rasterizer's), robust to other load on the machine. */
  cpuMsPerFrame: number;
  /** Main thread busy time per frame (event-loop utilisation: recording passes, read-backs, messages): the floor of throughput once workers keep up. */
  mainThreadMsPerFrame: number;
  batchSize: number;
  batchesInFlight: number;
  /** Worker threads finishing frames (0: the main thread does). */
  workers: number;
  format: 'rgb8' | 'i420';
  /** Medians of the parts of a frame's latency: recorded -> read back (GPU, transfer, queueing), read back -> finished (assemble, composite, mask, conversions, waiting for a worker); and the first frame (shader compiles, shadow maps, IBL). */
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
  if (options.warmup < 1) throw new Error('runFrameBench: at least one warm-up frame (throughput windows start after it)');
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
    const workers = options.workers < 0 ? defaultPoolSize() : options.workers;
    const pool = workers === 0 ? undefined : await FramePool.create({ size: workers });
    const total = options.warmup + options.frames + 1;
    const f = 0.9 * W;
    // Orbit: the product (1 m tall) fills `screenFraction` of the frame height at distance d.
    const distance = (f / (options.screenFraction * H)) * 1.0;
    const cameras: CameraPose[] = Array.from({ length: total }, (_, i) => {
      const angle = (i / total) * Math.PI * 0.6 - Math.PI * 0.3;
      const eye = new THREE.Vector3(Math.sin(angle) * distance, 0.5 + distance * 0.35, Math.cos(angle) * distance);
      return lookAtPose(i, { fxPx: f, fyPx: f, cxPx: W / 2, cyPx: H / 2, widthPx: W, heightPx: H }, eye, new THREE.Vector3(0, 0.5, 0));
    });
    const job = await CompositorJob.open(renderer, { jobId: 'bench', productPath, cameras, productHeightM: 1, shadowOpacity: 0.8, maskDilatePx: 12 }, { pool });
    // I420 as the mesh carries it; converted once here, so the RGB8 and I420 runs composite the same picture.
    const i420 = rgbToI420(background, W, H);
    const image = options.format === 'i420' ? { widthPx: W, heightPx: H, data: i420, format: 'i420' as const } : { widthPx: W, heightPx: H, data: background };
    const frame = (i: number): FrameInput => ({ frameIndex: i, image });
    await job.prepareLighting([{ frameIndex: 0, image: { widthPx: W, heightPx: H, data: options.format === 'i420' ? i420ToRgb(i420, W, H) : background } }]);
    const started = performance.now();
    await job.compositeFrames([frame(0)]);
    const firstFrameMs = performance.now() - started;

    // Batches as the server takes them: up to `batchesInFlight` given before the oldest is answered.
    const batchLatencies: number[] = [];
    const done: CompositedFrame[] = [];
    const inFlight: Promise<void>[] = [];
    let cpuBefore: NodeJS.CpuUsage | undefined;
    let eluBefore: ReturnType<typeof performance.eventLoopUtilization> | undefined;
    let measuredFrom = total;
    for (let first = 1; first < total; first += options.batchSize) {
      const batch = Array.from({ length: Math.min(options.batchSize, total - first) }, (_, i) => frame(first + i));
      // CPU time counts from the first batch holding a measured frame (frames after the warm-up).
      if (!cpuBefore && first + batch.length > options.warmup + 1) {
        cpuBefore = process.cpuUsage();
        eluBefore = performance.eventLoopUtilization();
        measuredFrom = first;
      }
      const calledAt = performance.now();
      const answered = job.compositeFrames(batch).then((results) => {
        if (batch[0].frameIndex > options.warmup) batchLatencies.push(performance.now() - calledAt);
        done.push(...results);
      });
      inFlight.push(answered);
      if (inFlight.length >= options.batchesInFlight) await inFlight.shift();
    }
    await Promise.all(inFlight);
    const cpu = process.cpuUsage(cpuBefore);
    const elu = performance.eventLoopUtilization(eluBefore);
    done.sort((a, b) => a.frameIndex - b.frameIndex);
    const measured = done.filter((d) => d.frameIndex > options.warmup);
    // CPU time spans the batches holding measured frames, scaled to the measured share of them.
    const cpuFrames = done.filter((d) => d.frameIndex >= measuredFrom).length;
    const cpuMs = ((cpu.user + cpu.system) / 1000) * (measured.length / cpuFrames);
    const mainThreadMs = elu.active * (measured.length / cpuFrames);
    const completions = done.map((d) => d.timing.doneAtMs).sort((a, b) => a - b);
    const firstMeasured = completions.length - measured.length;
    const times: number[] = [];
    for (let end = firstMeasured + options.window; end <= completions.length; end += options.window) {
      times.push((completions[end - 1] - completions[end - 1 - options.window]) / options.window);
    }
    if (times.length === 0) times.push((completions[completions.length - 1] - completions[firstMeasured - 1]) / measured.length);
    const overallMs = (completions[completions.length - 1] - completions[firstMeasured - 1]) / measured.length;
    const latencies = measured.map((d) => d.timing.doneAtMs - d.timing.issuedAtMs);
    const renderTimes = measured.map((d) => d.timing.renderWaitMs);
    const compositeTimes = measured.map((d) => d.timing.compositeMs);
    const shares = measured.map((d) => (d.layers.region.widthPx * d.layers.region.heightPx) / (W * H));
    job.close();
    await pool?.close();
    const adapter = renderer.gpu.adapter;
    const backend = renderer.gpu.backend;
    renderer.dispose();
    const sorted = [...times].sort((a, b) => a - b);
    const median = (values: number[]) => quantile([...values].sort((a, b) => a - b), 0.5);
    return {
      product: options.product === 'generated' ? 'generated (torus knot, 102k triangles, 3 x 2048px textures)' : options.product,
      backend,
      adapter,
      frames: measured.length,
      widthPx: W,
      heightPx: H,
      msPerFrame: { median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9), mean: overallMs, window: options.window },
      frameLatencyMs: { median: median(latencies), p90: quantile([...latencies].sort((a, b) => a - b), 0.9) },
      batchLatencyMs: { median: median(batchLatencies), p90: quantile([...batchLatencies].sort((a, b) => a - b), 0.9) },
      cpuMsPerFrame: cpuMs / measured.length,
      mainThreadMsPerFrame: mainThreadMs / measured.length,
      batchSize: options.batchSize,
      batchesInFlight: options.batchesInFlight,
      workers: pool?.size ?? 0,
      format: options.format,
      parts: { renderWaitMs: median(renderTimes), compositeMs: median(compositeTimes), firstFrameMs },
      drawnShareOfFrame: median(shares),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadAverageStart: loadStart, loadAverageEnd: loadavg(), niceness: getPriority() },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The results as a table on stdout (throughput first, then latencies and parts). */
export function printFrameBenchTable(results: FrameBenchResult[]): void {
  console.log('product | backend | adapter | format | workers | frames | ms/frame (throughput) p50 | p10 | p90 | frame latency p50 | batch latency p50 | cpu ms/frame | main thread ms/frame | render wait | finish | drawn share | first frame');
  for (const r of results) {
    console.log(
      [
        r.product.split('/').pop(),
        r.backend,
        r.adapter,
        r.format,
        r.workers,
        r.frames,
        r.msPerFrame.median.toFixed(2),
        r.msPerFrame.p10.toFixed(2),
        r.msPerFrame.p90.toFixed(2),
        r.frameLatencyMs.median.toFixed(1),
        r.batchLatencyMs.median.toFixed(1),
        r.cpuMsPerFrame.toFixed(1),
        r.mainThreadMsPerFrame.toFixed(1),
        r.parts.renderWaitMs.toFixed(1),
        r.parts.compositeMs.toFixed(1),
        r.drawnShareOfFrame.toFixed(2),
        r.parts.firstFrameMs.toFixed(0),
      ].join(' | '),
    );
  }
}
