import { baseServiceSchema, createLogger, env, loadConfig, startService } from '@vanelia/runtime';
import { spawnSync } from 'node:child_process';
import { decoderService } from './server';

const config = loadConfig('decoder', {
  ...baseServiceSchema('decoder'),
  VANELIA_DECODER_BATCH_SIZE: env.int(8, { min: 1, max: 64 }),
});
const logger = createLogger({ service: 'decoder', level: config.VANELIA_LOG_LEVEL });

await startService({
  name: 'decoder',
  config,
  logger,
  services: [decoderService({ storageRoot: config.VANELIA_STORAGE_ROOT, defaultBatchSize: config.VANELIA_DECODER_BATCH_SIZE, logger })],
  // Ready once ffmpeg runs: without it nothing here works.
  checkReady: async () => spawnSync(process.env.VANELIA_FFMPEG ?? 'ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0,
});
