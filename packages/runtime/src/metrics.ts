import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry a process: every service's metrics, `vanelia_` names in base units. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'vanelia_process_' });

const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64];
const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export const rpcRequests = new Counter({
  name: 'vanelia_rpc_requests_total',
  help: 'RPCs handled, by service, method and gRPC status code.',
  labelNames: ['service', 'method', 'code'] as const,
  registers: [registry],
});

export const rpcDuration = new Histogram({
  name: 'vanelia_rpc_duration_seconds',
  help: 'RPC handling time, by service and method.',
  labelNames: ['service', 'method'] as const,
  buckets: LATENCY_BUCKETS_S,
  registers: [registry],
});

export const stageFrames = new Counter({
  name: 'vanelia_stage_frames_total',
  help: 'Frames processed by a stage.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

export const stageBatchSize = new Histogram({
  name: 'vanelia_stage_batch_frames',
  help: 'Frames a batch, by stage.',
  labelNames: ['stage'] as const,
  buckets: BATCH_SIZE_BUCKETS,
  registers: [registry],
});

export const stageBatchDuration = new Histogram({
  name: 'vanelia_stage_batch_duration_seconds',
  help: 'Time a stage spends on one batch.',
  labelNames: ['stage'] as const,
  buckets: LATENCY_BUCKETS_S,
  registers: [registry],
});

export const stageQueueDepth = new Gauge({
  name: 'vanelia_stage_queue_depth',
  help: 'Batches waiting for or inside a stage.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

export const stageErrors = new Counter({
  name: 'vanelia_stage_errors_total',
  help: 'Failed stage calls, by stage and gRPC status code.',
  labelNames: ['stage', 'code'] as const,
  registers: [registry],
});

export const serviceReady = new Gauge({
  name: 'vanelia_service_ready',
  help: '1 when the service reports SERVING.',
  labelNames: ['service'] as const,
  registers: [registry],
});

export const frameBytes = new Counter({
  name: 'vanelia_frame_bytes_total',
  help: 'Frame bytes this process sent to another, by transport: memory (a file in the shared frame memory folder) or inline (inside the gRPC message).',
  labelNames: ['transport'] as const,
  registers: [registry],
});

export const frameMemorySwept = new Counter({
  name: 'vanelia_frame_memory_swept_files_total',
  help: 'Frame files the sweeper deleted because nobody read them in time (their receiver went away).',
  registers: [registry],
});

/** Records one processed batch of a stage. */
export function observeBatch(stage: string, frames: number, seconds: number): void {
  stageFrames.inc({ stage }, frames);
  stageBatchSize.observe({ stage }, frames);
  stageBatchDuration.observe({ stage }, seconds);
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` (Prometheus text) and `/healthz` (200 while `isHealthy()`). */
export async function startMetricsServer(
  host: string,
  port: number,
  isHealthy: () => boolean,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        })
        .catch((error: Error) => {
          res.writeHead(500);
          res.end(error.message);
        });
    } else if (req.url === '/healthz') {
      const ok = isHealthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
