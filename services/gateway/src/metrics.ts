import { registry, stageErrors, stageQueueDepth } from '@vanelia/runtime';
import type { Job } from '@vanelia/proto';
import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * The gateway's metrics, on the process registry beside the runtime's. Stage labels use the step names
 * the stage services record under (decode, pose, composite, inpaint, encode), so one query sees both
 * sides: the services count batches inside them, the gateway counts batches waiting for them.
 */

/** Stage label of a pipeline step ("refine" runs on the inpaint service, which records "inpaint"). */
export type MetricStage = 'decode' | 'pose' | 'composite' | 'inpaint' | 'encode' | 'assemble';

export type JobOutcome = 'succeeded' | 'failed' | 'cancelled';

const JOB_DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800];
const ROUNDTRIP_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const jobsTotal = new Counter({
  name: 'vanelia_jobs_total',
  help: 'Jobs that ended on this gateway, by outcome (succeeded, failed, cancelled).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'vanelia_job_duration_seconds',
  help: 'Time from a job first starting to its end, by outcome (restarts included).',
  labelNames: ['outcome'] as const,
  buckets: JOB_DURATION_BUCKETS_S,
  registers: [registry],
});

export const jobsRunning = new Gauge({
  name: 'vanelia_jobs_running',
  help: 'Jobs this gateway is running now.',
  registers: [registry],
});

export const jobsQueued = new Gauge({
  name: 'vanelia_jobs_queued',
  help: 'Jobs waiting in the job store (shared by every gateway on it: take the max, not the sum).',
  registers: [registry],
});

export const jobRestarts = new Counter({
  name: 'vanelia_job_restarts_total',
  help: 'Jobs started again from their checkpoint, by reason (recovered after a gateway stopped, retried after a stage failure).',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const batchRetries = new Counter({
  name: 'vanelia_stage_batch_retries_total',
  help: 'Batches sent again to another stream or replica after a failure or a missed deadline, by stage.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

export const batchRoundtrip = new Histogram({
  name: 'vanelia_stage_batch_roundtrip_seconds',
  help: "Time from the gateway sending a batch to a stage to the stage's answer (transfer and queueing included).",
  labelNames: ['stage'] as const,
  buckets: ROUNDTRIP_BUCKETS_S,
  registers: [registry],
});

export const stageReplicas = new Gauge({
  name: 'vanelia_stage_replicas',
  help: 'Replicas of a stage service the gateway knows of, by service and serving state (true, false).',
  labelNames: ['service', 'serving'] as const,
  registers: [registry],
});

export const stageStreams = new Gauge({
  name: 'vanelia_stage_streams_open',
  help: 'Stage calls (sub-streams) the gateway holds open, by stage.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

// Series exist from the start at 0, so rate() sees the first increase and panels show 0, not "no data".
for (const outcome of ['succeeded', 'failed', 'cancelled'] as const) {
  jobsTotal.inc({ outcome }, 0);
  jobDuration.zero({ outcome });
}
for (const stage of ['composite', 'inpaint'] as const) batchRetries.inc({ stage }, 0);

/** Batches waiting in the gateway for a stage (ready, no stream with room); the services count those inside. */
export const gatewayQueueDepth = {
  inc: (stage: MetricStage, by = 1): void => stageQueueDepth.inc({ stage }, by),
  dec: (stage: MetricStage, by = 1): void => stageQueueDepth.dec({ stage }, by),
};

/** A failed stage call or batch, by gRPC status name. */
export function countStageError(stage: MetricStage, code: string): void {
  stageErrors.inc({ stage, code });
}

/** Counts a job that ended, with its duration from its first start (once, by the gateway that ended it). */
export function countJobEnded(job: Job, outcome: JobOutcome): void {
  jobsTotal.inc({ outcome });
  if (job.startedUnixMs > 0) jobDuration.observe({ outcome }, Math.max(0, (job.finishedUnixMs || Date.now()) - job.startedUnixMs) / 1000);
}
