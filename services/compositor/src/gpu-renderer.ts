import { VaneliaError, type Logger } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { create, globals } from 'webgpu';

/**
 * three.js WebGPURenderer on Dawn (the `webgpu` package) inside Node. One code path for every machine:
 * Vulkan where a GPU (or a capable software Vulkan) is present, else Dawn's OpenGL ES backend over EGL
 * (Mesa llvmpipe, `EGL_PLATFORM=surfaceless`). Node has no canvas or animation frames, so this module
 * installs the few globals three.js looks for and hands it a stand-in canvas; drawing goes to render targets.
 */

export type GpuBackend = 'auto' | 'vulkan' | 'opengles';

export interface GpuRendererOptions {
  /** Which Dawn backend to use; auto tries Vulkan, then OpenGL ES. */
  backend?: GpuBackend;
  /** Extra Dawn toggles (`enable-dawn-features=…`). */
  dawnFlags?: string[];
}

export const GPU_RENDERER_DEFAULTS: Required<GpuRendererOptions> = {
  backend: 'auto',
  dawnFlags: [],
};

export interface GpuRenderer {
  renderer: THREE.WebGPURenderer;
  /** The backend that answered, e.g. "vulkan" or "opengles". */
  backend: Exclude<GpuBackend, 'auto'>;
  /** Adapter description, for logs and benchmark reports. */
  adapter: string;
  /** Resolves when the device is lost (driver reset, out of memory); the renderer is unusable after. */
  lost: Promise<string>;
  /** Runs the frame callback three.js queued (time-based node updates), as a browser's next frame would. */
  tick(): void;
  dispose(): void;
}

let globalsInstalled = false;

function installGlobals(): void {
  if (globalsInstalled) return;
  Object.assign(globalThis, globals);
  globalsInstalled = true;
}

/** A canvas that three.js can size but never draws to (everything renders into render targets). */
function standInCanvas(): object {
  return {
    width: 1,
    height: 1,
    style: {},
    addEventListener() {},
    removeEventListener() {},
    getContext: () => null,
  };
}

async function requestAdapter(backend: Exclude<GpuBackend, 'auto'>, flags: string[]): Promise<{ gpu: GPU; adapter: GPUAdapter } | undefined> {
  if (backend === 'opengles') process.env.EGL_PLATFORM ??= 'surfaceless';
  const gpu = create([`backend=${backend}`, ...flags]) as GPU;
  const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter({ featureLevel: 'compatibility' }));
  return adapter ? { gpu, adapter } : undefined;
}

/** Creates and initialises the renderer; throws a VaneliaError (UNAVAILABLE) when no backend answers. */
export async function createGpuRenderer(options: GpuRendererOptions = {}, logger?: Logger): Promise<GpuRenderer> {
  const backend = options.backend ?? GPU_RENDERER_DEFAULTS.backend;
  const flags = options.dawnFlags ?? GPU_RENDERER_DEFAULTS.dawnFlags;
  installGlobals();
  const order: Exclude<GpuBackend, 'auto'>[] = backend === 'auto' ? ['vulkan', 'opengles'] : [backend];
  const failures: string[] = [];
  for (const candidate of order) {
    let found: Awaited<ReturnType<typeof requestAdapter>>;
    try {
      found = await requestAdapter(candidate, flags);
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message}`);
      continue;
    }
    if (!found) {
      failures.push(`${candidate}: no adapter`);
      continue;
    }
    const { gpu, adapter } = found;
    const device = await adapter.requestDevice({ requiredFeatures: [...adapter.features] as GPUFeatureName[] });
    // three.js looks for navigator.gpu even when handed a device.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
    const renderer = new THREE.WebGPURenderer({ canvas: standInCanvas() as HTMLCanvasElement, device, antialias: false, alpha: true });
    await renderer.init();
    let pendingFrame: ((time?: number) => void) | null = null;
    // Node has no requestAnimationFrame: keep three's per-frame callback and run it from tick().
    (renderer as unknown as { _animation: { _context: object } })._animation._context = {
      requestAnimationFrame(callback: (time?: number) => void) {
        pendingFrame = callback;
        return 1;
      },
      cancelAnimationFrame() {
        pendingFrame = null;
      },
    };
    const lost = device.lost.then((info) => `${info.reason ?? 'unknown'}: ${info.message}`);
    const description = [adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' ');
    logger?.info('renderer ready', { backend: candidate, adapter: description, compatibilityMode: !device.features.has('core-features-and-limits') });
    return {
      renderer,
      backend: candidate,
      adapter: description || candidate,
      lost,
      tick() {
        const frame = pendingFrame;
        pendingFrame = null;
        frame?.(performance.now());
      },
      dispose() {
        renderer.dispose();
        device.destroy();
      },
    };
  }
  throw new VaneliaError('compositor', 'NO_GPU', `no WebGPU backend answered (${failures.join('; ')}).`, { code: 'UNAVAILABLE', retryable: true });
}
