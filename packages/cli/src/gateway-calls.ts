import type { ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { GatewayClient, JobState, type FileChunk, type Job, type JobEvent, type JobSpec, type ListJobsResponse, type SubmitJobRequest } from '@vanelia/proto';
import { createMeshClient, vaneliaErrorFrom, writeMessage } from '@vanelia/runtime';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';

const CHUNK_BYTES = 1024 * 1024;

export function gatewayClient(address: string): GatewayClient {
  return createMeshClient(GatewayClient, address);
}

export interface SubmitFiles {
  /** Local video to upload ('' when spec.videoUri names one on the gateway's storage). */
  videoPath?: string;
  /** Local GLB to upload. */
  productPath?: string;
}

async function uploadFile(call: ClientWritableStream<SubmitJobRequest>, path: string, kind: 'videoChunk' | 'productChunk'): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    await writeMessage(call, { payload: { $case: kind, value: { data: chunk } } } as SubmitJobRequest);
  }
}

/** Uploads the files (if any) with the spec and returns the created job. */
export async function submitJob(client: GatewayClient, spec: JobSpec, files: SubmitFiles = {}): Promise<Job> {
  const full: JobSpec = { ...spec };
  if (files.videoPath) full.videoSizeBytes = (await stat(files.videoPath)).size;
  if (files.productPath) full.productSizeBytes = (await stat(files.productPath)).size;
  let call!: ClientWritableStream<SubmitJobRequest>;
  const done = new Promise<Job>((resolve, reject) => {
    call = client.submitJob((error: ServiceError | null, job?: Job) => (error ? reject(vaneliaErrorFrom(error, 'gateway')) : resolve(job!)));
  });
  try {
    await writeMessage(call, { payload: { $case: 'spec', value: full } });
    if (files.videoPath) await uploadFile(call, files.videoPath, 'videoChunk');
    if (files.productPath) await uploadFile(call, files.productPath, 'productChunk');
    call.end();
  } catch (error) {
    call.cancel();
    await done; // the server's reason, when it stopped the upload
    throw error;
  }
  return done;
}

/** Calls `onEvent` for every progress event until the job ends; resolves with the last event. */
export async function watchJob(client: GatewayClient, jobId: string, onEvent: (event: JobEvent) => void): Promise<JobEvent> {
  const call = client.watchJob({ jobId });
  let last: JobEvent | undefined;
  try {
    for await (const event of call as AsyncIterable<JobEvent>) {
      last = event;
      onEvent(event);
    }
  } catch (error) {
    throw vaneliaErrorFrom(error, 'gateway');
  }
  if (!last) throw new Error(`gateway: no events for job ${jobId}`);
  return last;
}

/** Streams a file-chunk RPC into `outputPath`. */
async function download(call: AsyncIterable<FileChunk>, outputPath: string): Promise<number> {
  const out = createWriteStream(outputPath);
  let bytes = 0;
  try {
    for await (const chunk of call) {
      bytes += chunk.data.byteLength;
      if (!out.write(chunk.data)) await once(out, 'drain');
    }
  } catch (error) {
    out.destroy();
    throw vaneliaErrorFrom(error, 'gateway');
  }
  out.end();
  await once(out, 'close');
  return bytes;
}

export const downloadResult = (client: GatewayClient, jobId: string, outputPath: string): Promise<number> =>
  download(client.getResult({ jobId }) as AsyncIterable<FileChunk>, outputPath);

export const downloadPreview = (client: GatewayClient, jobId: string, outputPath: string): Promise<number> =>
  download(client.getPreview({ jobId }) as AsyncIterable<FileChunk>, outputPath);

const unaryCall = <Req, Res>(fn: (req: Req, cb: (e: ServiceError | null, r?: Res) => void) => unknown, req: Req): Promise<Res> =>
  new Promise((resolve, reject) => fn(req, (e, r) => (e ? reject(vaneliaErrorFrom(e, 'gateway')) : resolve(r as Res))));

export const getJob = (client: GatewayClient, jobId: string): Promise<Job> => unaryCall(client.getJob.bind(client), { jobId });
export const cancelJob = (client: GatewayClient, jobId: string): Promise<Job> => unaryCall(client.cancelJob.bind(client), { jobId });
export const listJobs = (client: GatewayClient, pageSize = 50, pageToken = '', state = JobState.JOB_STATE_UNSPECIFIED): Promise<ListJobsResponse> =>
  unaryCall(client.listJobs.bind(client), { pageSize, pageToken, state });
