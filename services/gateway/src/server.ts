import type { ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import {
  GatewayService,
  JobState,
  type CancelJobRequest,
  type FileChunk,
  type GatewayServer,
  type GetJobRequest,
  type GetPreviewRequest,
  type GetResultRequest,
  type Job,
  type JobEvent,
  type ListJobsRequest,
  type ListJobsResponse,
  type SubmitJobRequest,
  type VideoInfo,
  type WatchJobRequest,
} from '@vanelia/proto';
import { VaneliaError, clientStreamHandler, isVaneliaError, resolveStoragePath, streamHandler, unaryHandler, writeMessage, type Logger, type ServiceRegistration } from '@vanelia/runtime';
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { authorize, type AccessPolicy } from './access';
import type { JobManager } from './job-manager';
import { jobFolder, jobPaths } from './job-run';
import { checkSpec, checkVideo, type JobLimits } from './limits';
import { jobOutputPath, jobPreviewFolder, jobPreviewPath } from './pipeline';
import { makeContactSheet } from './preview';
import { UPLOADED_PRODUCT, UPLOADED_VIDEO, receiveSubmission } from './uploads';

export interface GatewayServerOptions {
  jobs: JobManager;
  storageRoot: string;
  limits: Required<JobLimits>;
  access: AccessPolicy;
  /** Probes a storage video at submission (limits checked before the job is queued); absent: checked when it runs. */
  probe?: (path: string) => Promise<VideoInfo>;
  logger: Logger;
}

const CHUNK_BYTES = 1024 * 1024;
const LIMIT_REASONS = new Set(['TOO_MANY_FRAMES', 'RESOLUTION_TOO_HIGH', 'ANCHOR_OUTSIDE']);

function notFinished(job: Job, what: string): VaneliaError {
  return new VaneliaError('gateway', 'NOT_FINISHED', `job ${job.id} has no ${what} (state ${JobState[job.state].replace('JOB_STATE_', '')}).`, { code: 'FAILED_PRECONDITION' });
}

/** Adapts the job manager to the public vanelia.v1.Gateway API (every method behind the access policy). */
export function gatewayService(options: GatewayServerOptions): ServiceRegistration {
  const ctx = { stage: 'gateway' as const, logger: options.logger };
  const { jobs, limits } = options;
  const storagePath = (path: string): string => resolveStoragePath('gateway', options.storageRoot, path);
  const allow = (call: { metadata: import('@grpc/grpc-js').Metadata }): void => authorize(call.metadata, options.access);

  const streamFile = async (call: ServerWritableStream<unknown, FileChunk>, path: string): Promise<void> => {
    for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) await writeMessage(call, { data: chunk });
  };

  /** Limits that need the video's frames, checked before the job is queued when a decoder answers. */
  const checkProbed = async (videoUri: string, spec: Job['spec']): Promise<void> => {
    if (!options.probe) return;
    let video: VideoInfo;
    try {
      video = await options.probe(videoUri);
    } catch (error) {
      // Not readable now (no decoder, not a video): the job reports it when it runs.
      options.logger.debug('probe at submission failed', { error: (error as Error).message });
      return;
    }
    checkVideo(video, limits, spec);
  };

  const submit = async (call: ServerReadableStream<SubmitJobRequest, Job>): Promise<Job> => {
    allow(call);
    const id = randomUUID();
    const folder = jobFolder(id);
    const received = await receiveSubmission(call as AsyncIterable<SubmitJobRequest>, storagePath(folder), limits, async (spec) => {
      checkSpec(spec, limits);
      // A retried submission is answered before its bytes are taken again.
      return spec.idempotencyKey ? jobs.findByIdempotencyKey(spec.idempotencyKey) : undefined;
    });
    if (received.early) return received.early;
    const spec = received.spec;
    try {
      // After receipt every job names its inputs by storage path, whether uploaded or referenced.
      spec.videoUri = received.videoFile ? join(folder, UPLOADED_VIDEO) : spec.videoUri;
      spec.productUri = received.productFile ? join(folder, UPLOADED_PRODUCT) : spec.productUri;
      for (const uri of [spec.videoUri, spec.productUri].filter(Boolean)) {
        if (!existsSync(storagePath(uri))) throw new VaneliaError('gateway', 'INPUT_NOT_FOUND', `${uri} does not exist on the storage.`, { code: 'NOT_FOUND' });
      }
      await checkProbed(spec.videoUri, spec);
      const { job, created } = await jobs.create(spec, id);
      if (!created) await rm(storagePath(folder), { recursive: true, force: true });
      return job;
    } catch (error) {
      await rm(storagePath(folder), { recursive: true, force: true });
      if (isVaneliaError(error) && LIMIT_REASONS.has(error.reason)) options.logger.info('job refused', { reason: error.reason });
      throw error;
    }
  };

  const implementation: GatewayServer = {
    submitJob: clientStreamHandler<SubmitJobRequest, Job>(ctx, 'SubmitJob', submit),

    watchJob: streamHandler(ctx, 'WatchJob', async (call: ServerWritableStream<WatchJobRequest, JobEvent>) => {
      allow(call);
      const ac = new AbortController();
      call.once('cancelled', () => ac.abort());
      for await (const event of jobs.watch(call.request.jobId, ac.signal)) await writeMessage(call, event);
    }),

    getJob: unaryHandler<GetJobRequest, Job>(ctx, 'GetJob', async (request, call) => {
      allow(call);
      return jobs.get(request.jobId);
    }),

    listJobs: unaryHandler<ListJobsRequest, ListJobsResponse>(ctx, 'ListJobs', async (request, call) => {
      allow(call);
      const pageSize = Math.min(request.pageSize || 50, 500);
      const offset = request.pageToken ? Number(request.pageToken) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw new VaneliaError('gateway', 'BAD_PAGE_TOKEN', 'the page token is not one this gateway issued.');
      const { jobs: page, total } = await jobs.list(request.state, offset, pageSize);
      return { jobs: page, nextPageToken: offset + page.length < total ? String(offset + page.length) : '' };
    }),

    cancelJob: unaryHandler<CancelJobRequest, Job>(ctx, 'CancelJob', async (request, call) => {
      allow(call);
      return jobs.cancel(request.jobId);
    }),

    getResult: streamHandler(ctx, 'GetResult', async (call: ServerWritableStream<GetResultRequest, FileChunk>) => {
      allow(call);
      const job = await jobs.get(call.request.jobId);
      if (job.state !== JobState.JOB_STATE_SUCCEEDED) throw notFinished(job, 'result');
      await streamFile(call, storagePath(jobOutputPath(jobPaths(job))));
    }),

    getPreview: streamHandler(ctx, 'GetPreview', async (call: ServerWritableStream<GetPreviewRequest, FileChunk>) => {
      allow(call);
      const job = await jobs.get(call.request.jobId);
      const paths = jobPaths(job);
      const final = storagePath(jobPreviewPath(paths));
      if (job.state === JobState.JOB_STATE_SUCCEEDED && (await access(final).then(() => true, () => false))) {
        await streamFile(call, final);
        return;
      }
      // Still running (or the sheet was never made): a sheet of the frames captured so far.
      const partial = storagePath(join(jobFolder(job.id), `preview.${randomUUID()}.png`));
      try {
        if (!(await makeContactSheet(storagePath(jobPreviewFolder(paths)), partial))) throw notFinished(job, 'preview yet');
        await streamFile(call, partial);
      } finally {
        await rm(partial, { force: true });
      }
    }),
  };
  return { fullName: 'vanelia.v1.Gateway', definition: GatewayService, implementation };
}
