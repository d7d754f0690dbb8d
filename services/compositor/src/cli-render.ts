import { VaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import type { CameraPose } from './camera-model';
import { CompositorJob } from './compositor-job';
import type { GpuBackend } from './gpu-renderer';
import { fullFrame, straightRgba, writePng } from './layer-images';
import { LayerRenderer } from './layer-renderer';
import type { ProductAnchor } from './placement';
import { readTransformsJson } from './transforms-json';

/**
 * `vanelia render --model product.glb --cameras transforms.json --output DIR [--frames DIR] [--anchor x,y,z]
 * [--anchor-up x,y,z] [--metres-per-unit m] [--height-m h] [--yaw-deg d] [--shadow-opacity o]
 * [--mask-dilate-px n] [--backend auto|vulkan|opengles]`
 *
 * Writes per camera: rgba/NNNNN.png (the product, straight alpha), product-mask/, shadow-mask/,
 * depth/NNNNN.f32 (float32 little-endian, +z depth in world units, 0 = no product); with --frames also
 * composite/ and inpaint-mask/; and render.json listing everything with each frame's regions.
 */

export interface RenderCommandOptions {
  modelPath: string;
  camerasPath: string;
  outputDir: string;
  /** Folder of the real frames (matched to the track's file_path names, else by sorted order). */
  framesDir?: string;
  anchor?: ProductAnchor;
  productHeightM?: number;
  productYawDeg?: number;
  shadowOpacity?: number;
  maskDilatePx?: number;
  backend?: GpuBackend;
}

export interface RenderCommandResult {
  frames: number;
  composited: number;
  warnings: string[];
  manifestPath: string;
}

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

function vector(text: string, flag: string): THREE.Vector3 {
  const parts = text.split(',').map(Number);
  if (parts.length !== 3 || !parts.every(Number.isFinite)) throw new VaneliaError('cli', 'INVALID_ARGUMENT', `${flag} needs three numbers "x,y,z", got ${JSON.stringify(text)}.`);
  return new THREE.Vector3(parts[0], parts[1], parts[2]);
}

function number(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new VaneliaError('cli', 'INVALID_ARGUMENT', `${flag} needs a number, got ${JSON.stringify(text)}.`);
  return value;
}

/** Parses `vanelia render` arguments (after the sub-command). */
export function parseRenderArgs(argv: string[]): RenderCommandOptions {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new VaneliaError('cli', 'INVALID_ARGUMENT', `unexpected argument ${JSON.stringify(arg)}.`);
    const [name, inline] = arg.slice(2).split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new VaneliaError('cli', 'INVALID_ARGUMENT', `--${name} needs a value.`);
    flags.set(name, value);
  }
  const known = ['model', 'cameras', 'output', 'frames', 'anchor', 'anchor-up', 'metres-per-unit', 'height-m', 'yaw-deg', 'shadow-opacity', 'mask-dilate-px', 'backend'];
  for (const name of flags.keys()) if (!known.includes(name)) throw new VaneliaError('cli', 'INVALID_ARGUMENT', `unknown option --${name}.`);
  for (const required of ['model', 'cameras', 'output']) {
    if (!flags.get(required)) throw new VaneliaError('cli', 'INVALID_ARGUMENT', `render needs --${required}.`);
  }
  const backend = flags.get('backend') as GpuBackend | undefined;
  if (backend && !['auto', 'vulkan', 'opengles'].includes(backend)) throw new VaneliaError('cli', 'INVALID_ARGUMENT', '--backend is one of auto, vulkan, opengles.');
  const anchorText = flags.get('anchor');
  return {
    modelPath: flags.get('model')!,
    camerasPath: flags.get('cameras')!,
    outputDir: flags.get('output')!,
    framesDir: flags.get('frames'),
    anchor: anchorText
      ? {
          pointWorld: vector(anchorText, '--anchor'),
          upWorld: vector(flags.get('anchor-up') ?? '0,1,0', '--anchor-up'),
          metresPerUnit: number(flags.get('metres-per-unit'), '--metres-per-unit') ?? 0,
        }
      : undefined,
    productHeightM: number(flags.get('height-m'), '--height-m'),
    productYawDeg: number(flags.get('yaw-deg'), '--yaw-deg'),
    shadowOpacity: number(flags.get('shadow-opacity'), '--shadow-opacity'),
    maskDilatePx: number(flags.get('mask-dilate-px'), '--mask-dilate-px'),
    backend,
  };
}

/** The frame image for a track entry: its file name in `dir` (any image extension), else the i-th image. */
function frameFile(dir: string, filePath: string, index: number, listing: string[]): string | undefined {
  const name = basename(filePath);
  const stem = extname(name) ? name.slice(0, -extname(name).length) : name;
  for (const candidate of [name, ...IMAGE_EXTENSIONS.map((ext) => stem + ext)]) {
    if (candidate && existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  return listing[index] ? join(dir, listing[index]) : undefined;
}

/** Runs the render command: one RGBA layer set per camera, and composites when frames are given. */
export async function renderCommand(options: RenderCommandOptions, logger: Logger = silentLogger): Promise<RenderCommandResult> {
  const track = await readTransformsJson(options.camerasPath);
  const warnings = [...track.warnings];
  const listing = options.framesDir
    ? (await readdir(options.framesDir)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort()
    : [];
  if (options.framesDir && listing.length === 0) throw new VaneliaError('cli', 'NO_FRAMES', `no images in ${options.framesDir}.`);

  // Load frames first: a frame whose size differs from its track entry rescales that camera's intrinsics.
  const cameras: CameraPose[] = [];
  const images = new Map<number, { widthPx: number; heightPx: number; data: Uint8Array }>();
  for (const { pose, filePath } of track.frames) {
    let camera = pose;
    if (options.framesDir) {
      const file = frameFile(options.framesDir, filePath, pose.frameIndex, listing);
      if (!file) throw new VaneliaError('cli', 'NO_FRAMES', `no image for track frame ${pose.frameIndex} (${filePath}) in ${options.framesDir}.`);
      const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      images.set(pose.frameIndex, { widthPx: info.width, heightPx: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
      const k = pose.intrinsics;
      if (info.width !== k.widthPx || info.height !== k.heightPx) {
        const sx = info.width / k.widthPx;
        const sy = info.height / k.heightPx;
        camera = { ...pose, intrinsics: { fxPx: k.fxPx * sx, fyPx: k.fyPx * sy, cxPx: k.cxPx * sx, cyPx: k.cyPx * sy, widthPx: info.width, heightPx: info.height } };
        warnings.push(`compositor: frame ${pose.frameIndex} is ${info.width}x${info.height}, the track says ${k.widthPx}x${k.heightPx}; intrinsics were scaled.`);
      }
    }
    cameras.push(camera);
  }

  const folders = ['rgba', 'product-mask', 'shadow-mask', 'depth', ...(options.framesDir ? ['composite', 'inpaint-mask'] : [])];
  for (const folder of folders) await mkdir(join(options.outputDir, folder), { recursive: true });
  const renderer = await LayerRenderer.create({ backend: options.backend }, logger);
  const manifest: Record<string, unknown>[] = [];
  let composited = 0;
  try {
    const job = await CompositorJob.open(renderer, {
      jobId: 'cli-render',
      productPath: options.modelPath,
      cameras,
      anchor: options.anchor,
      productHeightM: options.productHeightM,
      productYawDeg: options.productYawDeg,
      shadowOpacity: options.shadowOpacity ?? 0.8,
      maskDilatePx: options.maskDilatePx ?? 8,
    });
    try {
      const grey = (w: number, h: number) => ({ widthPx: w, heightPx: h, data: new Uint8Array(w * h * 3).fill(128) });
      const every = Math.ceil(cameras.length / 8);
      await job.prepareLighting(cameras.filter((_, i) => i % every === 0).map((c) => ({ frameIndex: c.frameIndex, image: images.get(c.frameIndex) ?? grey(c.intrinsics.widthPx, c.intrinsics.heightPx) })));
      for (const camera of cameras) {
        const { frameIndex, intrinsics } = camera;
        const { widthPx: w, heightPx: h } = intrinsics;
        // Without frames, a neutral grey frame stands in (it drives the lighting estimate and the composite).
        const image = images.get(frameIndex) ?? grey(w, h);
        const [result] = await job.compositeFrames([{ frameIndex, image }]);
        const name = String(frameIndex).padStart(5, '0');
        const layers = result.layers;
        await writePng(join(options.outputDir, 'rgba', `${name}.png`), straightRgba(layers), w, h, 4);
        await writePng(join(options.outputDir, 'product-mask', `${name}.png`), fullFrame(layers, layers.productMask, (n) => new Uint8Array(n)), w, h, 1);
        await writePng(join(options.outputDir, 'shadow-mask', `${name}.png`), fullFrame(layers, layers.shadowMask, (n) => new Uint8Array(n)), w, h, 1);
        const depth = fullFrame(layers, layers.depth, (n) => new Float32Array(n));
        await writeFile(join(options.outputDir, 'depth', `${name}.f32`), Buffer.from(depth.buffer, depth.byteOffset, depth.byteLength));
        const entry: Record<string, unknown> = { frameIndex, widthPx: w, heightPx: h, rgba: `rgba/${name}.png`, depth: `depth/${name}.f32`, renderedRegion: layers.region };
        if (images.has(frameIndex)) {
          await writePng(join(options.outputDir, 'composite', `${name}.png`), result.composite, w, h, 3);
          await writePng(join(options.outputDir, 'inpaint-mask', `${name}.png`), result.inpaintMask, w, h, 1);
          Object.assign(entry, { composite: `composite/${name}.png`, inpaintMask: `inpaint-mask/${name}.png`, inpaintRegion: result.region });
          composited++;
        }
        manifest.push(entry);
        logger.debug('frame rendered', { frameIndex });
      }
      warnings.push(...job.takeWarnings());
    } finally {
      job.close();
    }
  } finally {
    renderer.dispose();
  }
  const manifestPath = join(options.outputDir, 'render.json');
  await writeFile(manifestPath, JSON.stringify({ model: options.modelPath, cameras: options.camerasPath, depthFormat: 'float32 little-endian, +z depth in world units, 0 = no product', frames: manifest, warnings }, null, 2));
  return { frames: cameras.length, composited, warnings, manifestPath };
}
