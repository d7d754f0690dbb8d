import { InterceptingCall, credentials, status, type ChannelCredentials, type ClientWritableStream, type Interceptor, type ServiceError } from '@grpc/grpc-js';
import { GatewayClient, JobState, type FileChunk, type Job, type JobEvent, type JobSpec, type ListJobsResponse, type SubmitJobRequest } from '@vanelia/proto';
import { meshClientOptions, vaneliaErrorFrom, writeMessage } from '@vanelia/runtime';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';

const CHUNK_BYTES = 1024 * 1024;

/** How to reach a gateway: a bearer token, and/or mutual TLS. */
export interface GatewayAccess {
  /** Sent as `authorization: Bearer <token>` on every call (default: VANELIA_TOKEN). */
  token?: string;
  /** TLS: the CA that signed the gateway's certificate, and this client's certificate and key (mTLS). */
  tls?: { caFile: string; certFile?: string; keyFile?: string };
}

function tokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

function channelCredentials(access: GatewayAccess): ChannelCredentials {
  const tls = access.tls;
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(readFileSync(tls.caFile), tls.keyFile ? readFileSync(tls.keyFile) : null, tls.certFile ? readFileSync(tls.certFile) : null);
}

/** A client of the public API at `address` ("host:port"). */
export function gatewayClient(address: string, access: GatewayAccess = {}): GatewayClient {
  const token = access.token ?? process.env.VANELIA_TOKEN ?? '';
  return new GatewayClient(address, channelCredentials(access), { ...meshClientOptions(), interceptors: token ? [tokenInterceptor(token)] : [] });
}

export interface SubmitFiles {
  /** Local video to upload ('' when spec.videoUri names one on the gateway's storage). */
  videoPath?: string;
  /** Local GLB to upload. */
  productPath?: string;
}

async function uploadFile(call: ClientWritableStream<SubmitJobRequest>, path: string, kind: 'videoChunk' | 'productChunk', answered: () => boolean): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    if (answered()) return; // the gateway answered early (a duplicate submission): stop sending
    await writeMessage(call, { payload: { $case: kind, value: { data: chunk } } } as SubmitJobRequest);
  }
}

/** Uploads the files (if any) with the spec and returns the created job (or the earlier one with the same idempotency key). */
export async function submitJob(client: GatewayClient, spec: JobSpec, files: SubmitFiles = {}): Promise<Job> {
  const full: JobSpec = { ...spec };
  if (files.videoPath) full.videoSizeBytes = (await stat(files.videoPath)).size;
  if (files.productPath) full.productSizeBytes = (await stat(files.productPath)).size;
  let call!: ClientWritableStream<SubmitJobRequest>;
  let answered = false;
  const done = new Promise<Job>((resolve, reject) => {
    call = client.submitJob((error: ServiceError | null, job?: Job) => {
      answered = true;
      if (error) reject(vaneliaErrorFrom(error, 'gateway'));
      else resolve(job!);
    });
  });
  done.catch(() => undefined);
  try {
    await writeMessage(call, { payload: { $case: 'spec', value: full } });
    if (files.videoPath) await uploadFile(call, files.videoPath, 'videoChunk', () => answered);
    if (files.productPath) await uploadFile(call, files.productPath, 'productChunk', () => answered);
    call.end();
  } catch (error) {
    call.cancel();
    await done; // the server's reason, when it stopped the upload
    throw error;
  }
  return done;
}

export interface WatchOptions {
  /** Keep watching across a gateway restart for this long (ms; 0 = fail on the first broken stream). */
  reconnectMs?: number;
}

/** Calls `onEvent` for every progress event until the job ends; resolves with the last event. */
export async function watchJob(client: GatewayClient, jobId: string, onEvent: (event: JobEvent) => void, options: WatchOptions = {}): Promise<JobEvent> {
  let last: JobEvent | undefined;
  let brokenSince = 0;
  for (;;) {
    try {
      const call = client.watchJob({ jobId });
      for await (const event of call as AsyncIterable<JobEvent>) {
        brokenSince = 0;
        last = event;
        onEvent(event);
      }
      if (last && [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED].includes(last.state)) return last;
      if (!last) throw new Error(`gateway: no events for job ${jobId}`);
    } catch (error) {
      const code = (error as Partial<ServiceError>).code;
      const transient = code === status.UNAVAILABLE || code === status.CANCELLED || code === status.INTERNAL;
      brokenSince ||= Date.now();
      if (!transient || Date.now() - brokenSince > (options.reconnectMs ?? 0)) throw vaneliaErrorFrom(error, 'gateway');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Streams a file-chunk RPC into `outputPath` (written beside it, renamed when complete). */
async function download(call: AsyncIterable<FileChunk>, outputPath: string): Promise<number> {
  const partial = `${outputPath}.partial`;
  const out = createWriteStream(partial);
  let bytes = 0;
  try {
    for await (const chunk of call) {
      bytes += chunk.data.byteLength;
      if (!out.write(chunk.data)) await once(out, 'drain');
    }
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw vaneliaErrorFrom(error, 'gateway');
  }
  out.end();
  await once(out, 'close');
  await rename(partial, outputPath);
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
