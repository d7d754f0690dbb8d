import { baseServiceSchema, env, loadConfig, DEFAULT_PORTS, type ConfigOf } from '@vanelia/runtime';
import { JOB_LIMITS_DEFAULTS } from './limits';
import { JOB_MANAGER_DEFAULTS } from './job-manager';
import { PIPELINE_DEFAULTS } from './pipeline';

/** The gateway's settings, from the environment (every problem reported at once). */
export function gatewaySchema() {
  return {
    ...baseServiceSchema('gateway'),
    // Stage addresses: host:port, a comma-separated list of them, or dns:///name:port (a headless Service).
    VANELIA_DECODER_ADDR: env.string(`localhost:${DEFAULT_PORTS.decoder}`),
    VANELIA_POSE_ADDR: env.string(`localhost:${DEFAULT_PORTS.pose}`),
    VANELIA_COMPOSITOR_ADDR: env.string(`localhost:${DEFAULT_PORTS.compositor}`),
    VANELIA_INPAINT_ADDR: env.string(`localhost:${DEFAULT_PORTS.inpaint}`),
    // How every replica of a stage is found: dns (resolve dns:/// names again and again) or endpointslices
    // (watch the Service's EndpointSlices; the Service is the first label of the dns:/// name).
    VANELIA_DISCOVERY: env.oneOf(['dns', 'endpointslices'] as const, 'dns'),
    VANELIA_DISCOVERY_REFRESH_MS: env.int(5000, { min: 100 }),
    VANELIA_NAMESPACE: env.string(''),
    // '' = SQLite under the storage root; sqlite:///path; redis://host:port (several gateway replicas).
    VANELIA_JOB_STORE: env.string(''),
    VANELIA_JOB_LEASE_MS: env.int(JOB_MANAGER_DEFAULTS.leaseMs, { min: 500 }),
    VANELIA_JOB_POLL_MS: env.int(JOB_MANAGER_DEFAULTS.pollMs, { min: 50 }),
    VANELIA_MAX_JOB_ATTEMPTS: env.int(JOB_MANAGER_DEFAULTS.maxJobAttempts, { min: 1, max: 20 }),
    VANELIA_MAX_CONCURRENT_JOBS: env.int(JOB_MANAGER_DEFAULTS.maxConcurrentJobs, { min: 1, max: 64 }),
    VANELIA_BATCH_SIZE: env.int(PIPELINE_DEFAULTS.batchSize, { min: 1, max: 64 }),
    VANELIA_SEGMENT_FRAMES: env.int(PIPELINE_DEFAULTS.segmentFrames, { min: 1 }),
    VANELIA_BATCHES_IN_FLIGHT: env.int(PIPELINE_DEFAULTS.inFlightPerStream, { min: 1, max: 16 }),
    VANELIA_STREAMS_PER_REPLICA: env.int(PIPELINE_DEFAULTS.streamsPerReplica, { min: 1, max: 16 }),
    VANELIA_BATCH_TIMEOUT_MS: env.int(PIPELINE_DEFAULTS.batchTimeoutMs, { min: 100 }),
    VANELIA_MAX_BATCH_ATTEMPTS: env.int(PIPELINE_DEFAULTS.maxBatchAttempts, { min: 1, max: 20 }),
    VANELIA_STAGE_DEADLINE_MS: env.int(PIPELINE_DEFAULTS.stageDeadlineMs, { min: 1000 }),
    VANELIA_REPLICA_WAIT_MS: env.int(PIPELINE_DEFAULTS.replicaWaitMs, { min: 100 }),
    // Access: bearer tokens (comma-separated, and/or a file of one a line), and/or mutual TLS on its own port.
    VANELIA_API_TOKENS: env.list(),
    VANELIA_API_TOKENS_FILE: env.string(''),
    VANELIA_TLS_PORT: env.int(DEFAULT_PORTS.gateway + 393, { min: 0, max: 65535 }),
    VANELIA_TLS_CERT_FILE: env.string(''),
    VANELIA_TLS_KEY_FILE: env.string(''),
    VANELIA_TLS_CLIENT_CA_FILE: env.string(''),
    // Limits of one job.
    VANELIA_MAX_VIDEO_BYTES: env.int(JOB_LIMITS_DEFAULTS.maxVideoBytes, { min: 1 }),
    VANELIA_MAX_PRODUCT_BYTES: env.int(JOB_LIMITS_DEFAULTS.maxProductBytes, { min: 1 }),
    VANELIA_MAX_FRAMES: env.int(JOB_LIMITS_DEFAULTS.maxFrames, { min: 1 }),
    VANELIA_MAX_SIDE_PX: env.int(JOB_LIMITS_DEFAULTS.maxSidePx, { min: 16 }),
    VANELIA_MAX_PROMPT_CHARS: env.int(JOB_LIMITS_DEFAULTS.maxPromptChars, { min: 1 }),
  };
}

export type GatewayConfig = ConfigOf<ReturnType<typeof gatewaySchema>>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig('gateway', gatewaySchema(), source);
}
