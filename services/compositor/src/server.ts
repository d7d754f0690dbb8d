import type { ServerDuplexStream } from '@grpc/grpc-js';
import { CompositorService, type CompositeRequest, type CompositeResponse, type CompositorServer } from '@vanelia/proto';
import { VaneliaError, observeBatch, stageQueueDepth, streamHandler, writeMessage, type Logger, type ServiceRegistration } from '@vanelia/runtime';
import { passThroughSession, type CompositeJobSession, type OpenCompositeJob } from './job-session';

export interface CompositorServerOptions {
  logger: Logger;
  /** Opens a job with a product; jobs without one pass frames through. */
  openJob?: OpenCompositeJob;
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
            session = config.productPath && options.openJob ? await options.openJob(config) : passThroughSession(config);
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
