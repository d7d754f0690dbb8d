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
  type WatchJobRequest,
} from '@vanelia/proto';
import { VaneliaError, clientStreamHandler, resolveStoragePath, streamHandler, unaryHandler, writeMessage, type Logger, type ServiceRegistration } from '@vanelia/runtime';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobManager } from './job-manager';
import { receiveSubmission, type UploadLimits } from './uploads';

export interface GatewayServerOptions {
  jobs: JobManager;
  storageRoot: string;
  limits: UploadLimits;
  logger: Logger;
}

/** Storage-relative folder of a job's files. */
export const jobFolder = (id: string): string => join('jobs', id);

const CHUNK_BYTES = 1024 * 1024;

/** Adapts the job manager to the public vanelia.v1.Gateway API. */
export function gatewayService(options: GatewayServerOptions): ServiceRegistration {
  const ctx = { stage: 'gateway' as const, logger: options.logger };
  const { jobs } = options;
  const storagePath = (path: string): string => resolveStoragePath('gateway', options.storageRoot, path);

  const streamFile = async (call: ServerWritableStream<unknown, FileChunk>, path: string): Promise<void> => {
    for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
      await writeMessage(call, { data: chunk });
    }
  };

  const implementation: GatewayServer = {
    submitJob: clientStreamHandler<SubmitJobRequest, Job>(ctx, 'SubmitJob', async (call: ServerReadableStream<SubmitJobRequest, Job>) => {
      const id = randomUUID();
      const folder = jobFolder(id);
      const received = await receiveSubmission(call as AsyncIterable<SubmitJobRequest>, storagePath(folder), options.limits);
      const spec = received.spec;
      // After receipt every job names its inputs by storage path, whether uploaded or referenced.
      spec.videoUri = received.videoFile ? join(folder, 'input.video') : spec.videoUri;
      spec.productUri = received.productFile ? join(folder, 'product.glb') : spec.productUri;
      for (const uri of [spec.videoUri, spec.productUri].filter(Boolean)) {
        try {
          await access(storagePath(uri));
        } catch {
          throw new VaneliaError('gateway', 'INPUT_NOT_FOUND', `${uri} does not exist on the storage.`, { code: 'NOT_FOUND' });
        }
      }
      return jobs.create(spec, id);
    }),

    watchJob: streamHandler(ctx, 'WatchJob', async (call: ServerWritableStream<WatchJobRequest, JobEvent>) => {
      const ac = new AbortController();
      call.once('cancelled', () => ac.abort());
      for await (const event of jobs.watch(call.request.jobId, ac.signal)) await writeMessage(call, event);
    }),

    getJob: unaryHandler<GetJobRequest, Job>(ctx, 'GetJob', async (request) => {
      const job = await jobs.get(request.jobId);
      if (!job) throw new VaneliaError('gateway', 'JOB_NOT_FOUND', `no job has id ${JSON.stringify(request.jobId)}.`, { code: 'NOT_FOUND' });
      return job;
    }),

    listJobs: unaryHandler<ListJobsRequest, ListJobsResponse>(ctx, 'ListJobs', async (request) => {
      const pageSize = Math.min(request.pageSize || 50, 500);
      const offset = request.pageToken ? Number.parseInt(request.pageToken, 10) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw new VaneliaError('gateway', 'BAD_PAGE_TOKEN', 'the page token is not one this gateway issued.');
      const all = (await jobs.list()).filter((j) => !request.state || j.state === request.state);
      const page = all.slice(offset, offset + pageSize);
      return { jobs: page, nextPageToken: offset + pageSize < all.length ? String(offset + pageSize) : '' };
    }),

    cancelJob: unaryHandler<CancelJobRequest, Job>(ctx, 'CancelJob', async (request) => jobs.cancel(request.jobId)),

    getResult: streamHandler(ctx, 'GetResult', async (call: ServerWritableStream<GetResultRequest, FileChunk>) => {
      const job = await jobs.get(call.request.jobId);
      if (!job) throw new VaneliaError('gateway', 'JOB_NOT_FOUND', `no job has id ${JSON.stringify(call.request.jobId)}.`, { code: 'NOT_FOUND' });
      if (job.state !== JobState.JOB_STATE_SUCCEEDED) {
        throw new VaneliaError('gateway', 'NOT_FINISHED', `job ${job.id} has no result (state ${JobState[job.state]}).`, { code: 'FAILED_PRECONDITION' });
      }
      await streamFile(call, storagePath(join(jobFolder(job.id), 'output.mp4')));
    }),

    getPreview: streamHandler(ctx, 'GetPreview', async (call: ServerWritableStream<GetPreviewRequest, FileChunk>) => {
      const job = await jobs.get(call.request.jobId);
      if (!job) throw new VaneliaError('gateway', 'JOB_NOT_FOUND', `no job has id ${JSON.stringify(call.request.jobId)}.`, { code: 'NOT_FOUND' });
      const preview = storagePath(join(jobFolder(job.id), 'preview.png'));
      try {
        await access(preview);
      } catch {
        throw new VaneliaError('gateway', 'NO_PREVIEW', `job ${job.id} has no preview yet.`, { code: 'FAILED_PRECONDITION' });
      }
      await streamFile(call, preview);
    }),
  };
  return { fullName: 'vanelia.v1.Gateway', definition: GatewayService, implementation };
}
