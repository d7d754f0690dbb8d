import { CompositorClient, DecoderClient, InpaintClient, PoseClient } from '@vanelia/proto';
import { baseServiceSchema, createLogger, createMeshClient, env, loadConfig, startService, DEFAULT_PORTS } from '@vanelia/runtime';
import { join } from 'node:path';
import { JobManager } from './job-manager';
import { FileJobStore } from './job-store';
import { gatewayService, jobFolder } from './server';

const config = loadConfig('gateway', {
  ...baseServiceSchema('gateway'),
  VANELIA_DECODER_ADDR: env.string(`localhost:${DEFAULT_PORTS.decoder}`),
  VANELIA_POSE_ADDR: env.string(`localhost:${DEFAULT_PORTS.pose}`),
  VANELIA_COMPOSITOR_ADDR: env.string(`localhost:${DEFAULT_PORTS.compositor}`),
  VANELIA_INPAINT_ADDR: env.string(`localhost:${DEFAULT_PORTS.inpaint}`),
  VANELIA_MAX_CONCURRENT_JOBS: env.int(2, { min: 1, max: 64 }),
  VANELIA_BATCH_SIZE: env.int(8, { min: 1, max: 64 }),
  VANELIA_MAX_VIDEO_BYTES: env.int(4 * 1024 ** 3, { min: 1 }),
  VANELIA_MAX_PRODUCT_BYTES: env.int(512 * 1024 ** 2, { min: 1 }),
});
const logger = createLogger({ service: 'gateway', level: config.VANELIA_LOG_LEVEL });

const clients = {
  decoder: createMeshClient(DecoderClient, config.VANELIA_DECODER_ADDR),
  pose: createMeshClient(PoseClient, config.VANELIA_POSE_ADDR),
  compositor: createMeshClient(CompositorClient, config.VANELIA_COMPOSITOR_ADDR),
  inpaint: createMeshClient(InpaintClient, config.VANELIA_INPAINT_ADDR),
};
const store = new FileJobStore(join(config.VANELIA_STORAGE_ROOT, 'jobs'));
const jobs = new JobManager({
  store,
  clients,
  logger,
  maxConcurrentJobs: config.VANELIA_MAX_CONCURRENT_JOBS,
  pipeline: { batchSize: config.VANELIA_BATCH_SIZE },
  pathsOf: (job) => ({ video: job.spec!.videoUri, product: job.spec!.productUri, output: join(jobFolder(job.id), 'output.mp4') }),
});

await startService({
  name: 'gateway',
  config,
  logger,
  services: [gatewayService({ jobs, storageRoot: config.VANELIA_STORAGE_ROOT, limits: { maxVideoBytes: config.VANELIA_MAX_VIDEO_BYTES, maxProductBytes: config.VANELIA_MAX_PRODUCT_BYTES }, logger })],
  checkReady: async () => true,
  // Running jobs finish within the grace period; queued ones stay queued in the store for the next start.
  beforeDrain: (deadlineMs) => jobs.drain(deadlineMs),
  onStopped: async () => {
    await jobs.stopAll();
    await store.close();
  },
});
const resumed = await jobs.recover();
if (resumed > 0) logger.info('resumed jobs', { count: resumed });
