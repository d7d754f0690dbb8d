import type { CompositeConfig, CompositeResponse, FrameBatch } from '@vanelia/proto';

/**
 * One job's compositing state, opened once per Composite stream (the renderer and loaded product are
 * reused across its batches) and closed when the stream ends.
 */
export interface CompositeJobSession {
  compositeBatch(batch: FrameBatch): Promise<CompositeResponse>;
  close(): Promise<void>;
}

export type OpenCompositeJob = (config: CompositeConfig) => Promise<CompositeJobSession>;

/** The session for jobs without a product: frames pass through unchanged, masks empty, regions zero. */
export function passThroughSession(config: CompositeConfig): CompositeJobSession {
  return {
    async compositeBatch(batch) {
      return {
        jobId: config.jobId,
        batchId: batch.batchId,
        frames: batch.frames.map((frame) => ({ composite: frame, inpaintMask: undefined, region: undefined })),
        warnings: [],
      };
    },
    async close() {},
  };
}
