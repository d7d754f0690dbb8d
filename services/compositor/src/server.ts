import type { ServerDuplexStream } from '@grpc/grpc-js';
import { CompositorService, PixelFormat, type CompositeRequest, type CompositeResponse, type CompositorServer } from '@vanelia/proto';
import { VaneliaError, fromRgbFrame, observeBatch, toRgbFrame, stageQueueDepth, streamHandler, writeMessage, type Logger, type ServiceRegistration } from '@vanelia/runtime';
import { passThroughSession, type CompositeJobSession, type OpenCompositeJob } from './job-session';

export interface CompositorServerOptions {
  logger: Logger;
  /** Opens a job with a product; jobs without one pass frames through. */
  openJob?: OpenCompositeJob;
}

/**
 * Sessions composite RGB8; frames may arrive as I420 (the mesh's transport format): convert on the way in
 * and send composites back in the format they came in.
 */
function withRgbFrames(session: CompositeJobSession): CompositeJobSession {
  return {
    async compositeBatch(batch) {
      const format = batch.frames[0]?.format ?? PixelFormat.PIXEL_FORMAT_RGB8;
      const response = await session.compositeBatch({ ...batch, frames: batch.frames.map((f) => toRgbFrame('compositor', f)) });
      if (format === PixelFormat.PIXEL_FORMAT_RGB8) return response;
      return { ...response, frames: response.frames.map((f) => ({ ...f, composite: f.composite && fromRgbFrame('compositor', f.composite, format) })) };
    },
    close: () => session.close(),
  };
}

/** Adapts compositing sessions to vanelia.v1.Compositor: one session per stream, one answer per batch. */
export function compositorService(options: CompositorServerOptions): ServiceRegistration {
  const ctx = { stage: 'compositor' as const, logger: options.logger };
  const implementation: CompositorServer = {
    composite: streamHandler(ctx, 'Composite', async (call: ServerDuplexStream<CompositeRequest, CompositeResponse>) => {
      let session: CompositeJobSession | undefined;
      try {
        for await (const message of call as AsyncIterable<CompositeRequest>) {
          const payload = message.payload;
          if (payload?.$case === 'config') {
            if (session) throw new VaneliaError('compositor', 'PROTOCOL', 'Composite got a second config message.');
            const config = payload.value;
            session = config.productPath && options.openJob ? withRgbFrames(await options.openJob(config)) : passThroughSession(config);
          } else if (payload?.$case === 'batch') {
            if (!session) throw new VaneliaError('compositor', 'PROTOCOL', 'Composite got frames before its config.');
            const started = performance.now();
            stageQueueDepth.inc({ stage: 'composite' });
            try {
              const response = await session.compositeBatch(payload.value);
              observeBatch('composite', payload.value.frames.length, (performance.now() - started) / 1000);
              await writeMessage(call, response);
            } finally {
              stageQueueDepth.dec({ stage: 'composite' });
            }
          }
        }
      } finally {
        await session?.close();
      }
    }),
  };
  return { fullName: 'vanelia.v1.Compositor', definition: CompositorService, implementation };
}
