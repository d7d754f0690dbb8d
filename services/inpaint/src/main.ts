import { createLogger, startService } from '@vanelia/runtime';
import { loadInpaintConfig } from './config';
import { InpaintEngine } from './inpaint-engine';
import { inpaintService } from './server';

const config = loadInpaintConfig();
const logger = createLogger({ service: 'inpaint', level: config.VANELIA_LOG_LEVEL });
const engine = new InpaintEngine({
  modelDir: config.VANELIA_INPAINT_MODEL_DIR,
  providers: config.VANELIA_INPAINT_PROVIDERS,
  deviceMemoryGiB: config.VANELIA_INPAINT_DEVICE_MEMORY_GIB,
  defaultBatchSize: config.VANELIA_INPAINT_BATCH_SIZE,
  cpuThreads: config.VANELIA_INPAINT_CPU_THREADS,
  refine: {
    scheduler: config.VANELIA_INPAINT_SCHEDULER,
    roiMarginPx: config.VANELIA_INPAINT_ROI_MARGIN_PX,
    featherPx: config.VANELIA_INPAINT_FEATHER_PX,
    vaeTilePx: config.VANELIA_INPAINT_VAE_TILE_PX,
  },
  logger,
});

await startService({
  name: 'inpaint',
  config,
  logger,
  services: [inpaintService({ logger, engine })],
  checkReady: () => engine.ready(),
  readyPollMs: 5000,
  onStopped: () => engine.close(),
});
