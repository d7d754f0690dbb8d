import type { JobSpec, SubmitJobRequest } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { tooLarge } from './limits';

export interface UploadLimits {
  /** Largest video upload, bytes. */
  maxVideoBytes: number;
  /** Largest product (GLB) upload, bytes. */
  maxProductBytes: number;
}

export interface ReceivedSubmission<T> {
  spec: JobSpec;
  /** Absolute paths of the uploaded files ('' when the spec names storage URIs instead). */
  videoFile: string;
  productFile: string;
  /** What `onSpec` answered instead of taking the upload (e.g. the job an idempotency key already made). */
  early?: T;
}

/** File names of uploads inside a job's folder. */
export const UPLOADED_VIDEO = 'input.video';
export const UPLOADED_PRODUCT = 'product.glb';

async function write(stream: WriteStream, data: Uint8Array): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/**
 * Reads a SubmitJob stream: the spec, then the video's chunks, then the product's, written to `folder` as
 * they arrive (bounded memory). `onSpec` sees the spec before any byte is taken: it may refuse it (throw)
 * or answer at once (a duplicate). The limits are enforced while receiving; a failed upload leaves nothing.
 */
export async function receiveSubmission<T>(
  messages: AsyncIterable<SubmitJobRequest>,
  folder: string,
  limits: UploadLimits,
  onSpec: (spec: JobSpec) => Promise<T | undefined>,
): Promise<ReceivedSubmission<T>> {
  let spec: JobSpec | undefined;
  let video: WriteStream | undefined;
  let product: WriteStream | undefined;
  let videoBytes = 0;
  let productBytes = 0;
  const videoFile = join(folder, UPLOADED_VIDEO);
  const productFile = join(folder, UPLOADED_PRODUCT);
  const open = async (path: string): Promise<WriteStream> => {
    await mkdir(folder, { recursive: true });
    return createWriteStream(path);
  };
  try {
    for await (const message of messages) {
      const payload = message.payload;
      if (payload?.$case === 'spec') {
        if (spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got a second spec.');
        spec = payload.value;
        const early = await onSpec(spec);
        if (early !== undefined) return { spec, videoFile: '', productFile: '', early };
      } else if (payload?.$case === 'videoChunk') {
        if (!spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got video bytes before the spec.');
        if (product) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got video bytes after the product.');
        videoBytes += payload.value.data.byteLength;
        if (videoBytes > limits.maxVideoBytes) throw tooLarge('VIDEO_TOO_LARGE', 'video upload', videoBytes, limits.maxVideoBytes);
        video ??= await open(videoFile);
        await write(video, payload.value.data);
      } else if (payload?.$case === 'productChunk') {
        if (!spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got product bytes before the spec.');
        productBytes += payload.value.data.byteLength;
        if (productBytes > limits.maxProductBytes) throw tooLarge('PRODUCT_TOO_LARGE', 'product upload', productBytes, limits.maxProductBytes);
        product ??= await open(productFile);
        await write(product, payload.value.data);
      }
    }
    if (!spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob ended without a spec.');
    for (const stream of [video, product]) {
      if (stream) {
        stream.end();
        await once(stream, 'close');
      }
    }
    if (!video && !spec.videoUri) throw new VaneliaError('gateway', 'NO_VIDEO', 'the job has neither a video upload nor a video_uri.');
    if (spec.videoSizeBytes && video && videoBytes !== spec.videoSizeBytes) {
      throw new VaneliaError('gateway', 'UPLOAD_INCOMPLETE', `the video upload has ${videoBytes} bytes; the spec announced ${spec.videoSizeBytes}.`);
    }
    if (spec.productSizeBytes && product && productBytes !== spec.productSizeBytes) {
      throw new VaneliaError('gateway', 'UPLOAD_INCOMPLETE', `the product upload has ${productBytes} bytes; the spec announced ${spec.productSizeBytes}.`);
    }
    return { spec, videoFile: video ? videoFile : '', productFile: product ? productFile : '' };
  } catch (error) {
    video?.destroy();
    product?.destroy();
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}
