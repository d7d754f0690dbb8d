import { baseServiceSchema, createLogger, env, loadConfig, startService } from '@vanelia/runtime';
import { openProductSession } from './job-session';
import { createRendererProvider } from './renderer-provider';
import { compositorService } from './server';

const config = loadConfig('compositor', {
  ...baseServiceSchema('compositor'),
  // Dawn backend: auto tries Vulkan (GPU nodes), then OpenGL ES over EGL (llvmpipe on CPU nodes).
  VANELIA_GPU_BACKEND: env.oneOf(['auto', 'vulkan', 'opengles'] as const, 'auto'),
  // Longest texture side kept when loading products (memory and render speed).
  VANELIA_MAX_TEXTURE_PX: env.int(4096, { min: 64, max: 16384 }),
});
const logger = createLogger({ service: 'compositor', level: config.VANELIA_LOG_LEVEL });
// One renderer for the process, shared by every job; initialised before the service reports SERVING.
const renderers = createRendererProvider({ backend: config.VANELIA_GPU_BACKEND }, logger);

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
          options: { load: { maxTextureSizePx: config.VANELIA_MAX_TEXTURE_PX } },
          logger,
        }),
    }),
  ],
  checkReady: () => renderers.ready(),
  onStopped: async () => renderers.dispose(),
});
