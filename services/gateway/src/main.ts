import { createLogger, startService } from '@vanelia/runtime';
import { spawnSync } from 'node:child_process';
import { ApiTokens } from './access';
import { loadGatewayConfig } from './config';
import { createJobStore } from './create-job-store';
import { VideoProbeCache, probeVideo } from './decode-stage';
import { JobManager } from './job-manager';
import { checkVideo } from './limits';
import { createMeshReplicas } from './replicas/mesh-replicas';
import { gatewayService } from './server';
import { startTlsListener, type TlsListener } from './tls-listener';

const config = loadGatewayConfig();
const logger = createLogger({ service: 'gateway', level: config.VANELIA_LOG_LEVEL });

const replicas = createMeshReplicas(
  { decoder: config.VANELIA_DECODER_ADDR, pose: config.VANELIA_POSE_ADDR, compositor: config.VANELIA_COMPOSITOR_ADDR, inpaint: config.VANELIA_INPAINT_ADDR },
  { mode: config.VANELIA_DISCOVERY, refreshMs: config.VANELIA_DISCOVERY_REFRESH_MS, namespace: config.VANELIA_NAMESPACE, logger },
);
const store = createJobStore(config.VANELIA_JOB_STORE, config.VANELIA_STORAGE_ROOT);
const limits = {
  maxVideoBytes: config.VANELIA_MAX_VIDEO_BYTES,
  maxProductBytes: config.VANELIA_MAX_PRODUCT_BYTES,
  maxFrames: config.VANELIA_MAX_FRAMES,
  maxSidePx: config.VANELIA_MAX_SIDE_PX,
  maxPromptChars: config.VANELIA_MAX_PROMPT_CHARS,
};
// The probe made at submission serves the job's start too (same file, same answer).
const probeCache = new VideoProbeCache(config.VANELIA_STORAGE_ROOT);
const jobs = new JobManager({
  store,
  replicas,
  probeCache,
  storageRoot: config.VANELIA_STORAGE_ROOT,
  logger,
  maxConcurrentJobs: config.VANELIA_MAX_CONCURRENT_JOBS,
  leaseMs: config.VANELIA_JOB_LEASE_MS,
  pollMs: config.VANELIA_JOB_POLL_MS,
  maxJobAttempts: config.VANELIA_MAX_JOB_ATTEMPTS,
  checkVideo: (video) => checkVideo(video, limits),
  pipeline: {
    batchSize: config.VANELIA_BATCH_SIZE,
    segmentFrames: config.VANELIA_SEGMENT_FRAMES,
    inFlightPerStream: config.VANELIA_BATCHES_IN_FLIGHT,
    streamsPerReplica: config.VANELIA_STREAMS_PER_REPLICA,
    batchTimeoutMs: config.VANELIA_BATCH_TIMEOUT_MS,
    maxBatchAttempts: config.VANELIA_MAX_BATCH_ATTEMPTS,
    stageDeadlineMs: config.VANELIA_STAGE_DEADLINE_MS,
    replicaWaitMs: config.VANELIA_REPLICA_WAIT_MS,
  },
});

const tokens = new ApiTokens(config.VANELIA_API_TOKENS, config.VANELIA_API_TOKENS_FILE, logger);
const mutualTls = config.VANELIA_TLS_CERT_FILE !== '';
if (!tokens.enabled && !mutualTls) logger.warn('the API is open to every caller: set VANELIA_API_TOKENS (or a token file) or mutual TLS');
const service = (policy: { mutualTls: boolean; plainRefused: boolean }) =>
  gatewayService({
    jobs,
    storageRoot: config.VANELIA_STORAGE_ROOT,
    limits,
    access: { tokens, ...policy },
    // Limits that need the frames are checked at submission when a decoder answers quickly.
    probe: (path) => probeCache.probe(path, (p) => probeVideo(replicas.decoder, p, { deadlineMs: 15_000, replicaWaitMs: 3000 })),
    logger,
  });

const ffmpegRuns = spawnSync(process.env.VANELIA_FFMPEG ?? 'ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
if (!ffmpegRuns) logger.error('ffmpeg does not run: jobs cannot be assembled (install ffmpeg or set VANELIA_FFMPEG)');

let tls: TlsListener | undefined;
await startService({
  name: 'gateway',
  config,
  logger,
  services: [service({ mutualTls: false, plainRefused: mutualTls })],
  // Ready once the job store answers and ffmpeg (which joins the segments) runs.
  checkReady: async () => ffmpegRuns && (await store.countQueued().then(() => true, () => false)),
  // Running jobs go on within the grace period; what is left then goes back to the queue (checkpointed).
  beforeDrain: (deadlineMs) => jobs.drain(deadlineMs),
  onStopped: async () => {
    await jobs.stopAll();
    await tls?.stop(5000);
    for (const stage of Object.values(replicas)) stage.close();
    await store.close();
  },
});
if (mutualTls) {
  tls = await startTlsListener({
    host: config.VANELIA_HOST,
    port: config.VANELIA_TLS_PORT,
    certFile: config.VANELIA_TLS_CERT_FILE,
    keyFile: config.VANELIA_TLS_KEY_FILE,
    clientCaFile: config.VANELIA_TLS_CLIENT_CA_FILE,
    services: [service({ mutualTls: true, plainRefused: false })],
    logger,
  });
}
await jobs.start();
