import type { JobSpec, SubmitJobRequest } from '@vanelia/proto';
import { VaneliaError } from '@vanelia/runtime';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';

export interface UploadLimits {
  /** Largest video upload, bytes. */
  maxVideoBytes: number;
  /** Largest product (GLB) upload, bytes. */
  maxProductBytes: number;
}

export interface ReceivedSubmission {
  spec: JobSpec;
  /** Absolute paths of the uploaded files ('' when the spec names storage URIs instead). */
  videoFile: string;
  productFile: string;
}

/**
 * Reads a SubmitJob stream: the spec, then the video's chunks, then the product's, written to
 * `folder` as they arrive (bounded memory); the limits are enforced while receiving.
 */
export async function receiveSubmission(messages: AsyncIterable<SubmitJobRequest>, folder: string, limits: UploadLimits): Promise<ReceivedSubmission> {
  let spec: JobSpec | undefined;
  let video: WriteStream | undefined;
  let product: WriteStream | undefined;
  let videoBytes = 0;
  let productBytes = 0;
  const videoFile = join(folder, 'input.video');
  const productFile = join(folder, 'product.glb');
  const write = async (stream: WriteStream, data: Uint8Array): Promise<void> => {
    if (!stream.write(data)) await once(stream, 'drain');
  };
  try {
    for await (const message of messages) {
      const payload = message.payload;
      if (payload?.$case === 'spec') {
        if (spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got a second spec.');
        spec = payload.value;
      } else if (payload?.$case === 'videoChunk') {
        if (!spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got video bytes before the spec.');
        if (product) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got video bytes after the product.');
        videoBytes += payload.value.data.byteLength;
        if (videoBytes > limits.maxVideoBytes) {
          throw new VaneliaError('gateway', 'VIDEO_TOO_LARGE', `the video exceeds the ${limits.maxVideoBytes}-byte upload limit.`, { code: 'RESOURCE_EXHAUSTED' });
        }
        if (!video) {
          await mkdir(folder, { recursive: true });
          video = createWriteStream(videoFile);
        }
        await write(video, payload.value.data);
      } else if (payload?.$case === 'productChunk') {
        if (!spec) throw new VaneliaError('gateway', 'PROTOCOL', 'SubmitJob got product bytes before the spec.');
        productBytes += payload.value.data.byteLength;
        if (productBytes > limits.maxProductBytes) {
          throw new VaneliaError('gateway', 'PRODUCT_TOO_LARGE', `the product exceeds the ${limits.maxProductBytes}-byte upload limit.`, { code: 'RESOURCE_EXHAUSTED' });
        }
        if (!product) {
          await mkdir(folder, { recursive: true });
          product = createWriteStream(productFile);
        }
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
