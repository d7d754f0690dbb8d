import { baseServiceSchema, createLogger, env, loadConfig, startService } from '@vanelia/runtime';
import { FramePool, defaultPoolSize } from './frame-pool';
import { openProductSession } from './job-session';
import { createRendererProvider } from './renderer-provider';
import { compositorService } from './server';

const config = loadConfig('compositor', {
  ...baseServiceSchema('compositor'),
  // Dawn backend: auto tries Vulkan (GPU nodes), then OpenGL ES over EGL (llvmpipe on CPU nodes).
  VANELIA_GPU_BACKEND: env.oneOf(['auto', 'vulkan', 'opengles'] as const, 'auto'),
  // Longest texture side kept when loading products (memory and render speed).
  VANELIA_MAX_TEXTURE_PX: env.int(4096, { min: 64, max: 16384 }),
  // Worker threads that composite frames while the main thread feeds the GPU (default: half the cores but one,
  // at most 32, and none on two cores or fewer; 0: no pool, the main thread composites).
  VANELIA_COMPOSITOR_WORKERS: env.int(defaultPoolSize(), { min: 0, max: 64 }),
});
const logger = createLogger({ service: 'compositor', level: config.VANELIA_LOG_LEVEL });
// One renderer for the process, shared by every job; initialised before the service reports SERVING.
const renderers = createRendererProvider({ backend: config.VANELIA_GPU_BACKEND }, logger);
// One frame pool for the process too; without it (workers cannot start) frames are composited on the main thread.
const pool =
  config.VANELIA_COMPOSITOR_WORKERS === 0
    ? undefined
    : await FramePool.create({ size: config.VANELIA_COMPOSITOR_WORKERS }, logger).catch((error: Error) => {
        logger.warn('frame pool unavailable; compositing on the main thread', { error: error.message });
        return undefined;
      });

await startService({
  name: 'compositor',
  config,
  logger,
  services: [
    compositorService({
      logger,
      openJob: (jobConfig) =>
        openProductSession(jobConfig, {
          renderers,
          storageRoot: config.VANELIA_STORAGE_ROOT,
          pool,
          options: { load: { maxTextureSizePx: config.VANELIA_MAX_TEXTURE_PX } },
          logger,
        }),
    }),
  ],
  checkReady: () => renderers.ready(),
  onStopped: async () => {
    renderers.dispose();
    await pool?.close();
  },
});
