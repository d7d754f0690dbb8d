import type { ServerDuplexStream } from '@grpc/grpc-js';
import { CompositorService, type CompositeRequest, type CompositeResponse, type CompositorServer } from '@vanelia/proto';
import { VaneliaError, observeBatch, stageQueueDepth, streamHandler, writeMessage, type Logger, type ServiceRegistration } from '@vanelia/runtime';
import { passThroughSession, type CompositeJobSession, type OpenCompositeJob } from './job-session';

export interface CompositorServerOptions {
  logger: Logger;
  /** Opens a job with a product; jobs without one pass frames through. */
  openJob?: OpenCompositeJob;
}

/** Batches of one stream worked on at once (the gateway sends the next batch while one is worked on). */
const BATCHES_IN_FLIGHT = 2;

/** Adapts compositing sessions to vanelia.v1.Compositor: one session per stream, one answer per batch. */
export function compositorService(options: CompositorServerOptions): ServiceRegistration {
  const ctx = { stage: 'compositor' as const, logger: options.logger };
  const implementation: CompositorServer = {
    composite: streamHandler(ctx, 'Composite', async (call: ServerDuplexStream<CompositeRequest, CompositeResponse>) => {
      let session: CompositeJobSession | undefined;
      // Answers are written in order; the next batch is started while earlier ones are still worked on.
      let answered: Promise<void> = Promise.resolve();
      const inFlight: Promise<void>[] = [];
      try {
        for await (const message of call as AsyncIterable<CompositeRequest>) {
          const payload = message.payload;
          if (payload?.$case === 'config') {
            if (session) throw new VaneliaError('compositor', 'PROTOCOL', 'Composite got a second config message.');
            const config = payload.value;
            session = config.productPath && options.openJob ? await options.openJob(config) : passThroughSession(config);
          } else if (payload?.$case === 'batch') {
            if (!session) throw new VaneliaError('compositor', 'PROTOCOL', 'Composite got frames before its config.');
            const batch = payload.value;
            const started = performance.now();
            stageQueueDepth.inc({ stage: 'composite' });
            const response = session.compositeBatch(batch);
            response.catch(() => undefined); // awaited in order below
            answered = answered.then(async () => {
              try {
                const answer = await response;
                observeBatch('composite', batch.frames.length, (performance.now() - started) / 1000);
                await writeMessage(call, answer);
              } finally {
                stageQueueDepth.dec({ stage: 'composite' });
              }
            });
            inFlight.push(answered);
            if (inFlight.length >= BATCHES_IN_FLIGHT) await inFlight.shift();
          }
        }
        await answered;
      } finally {
        await answered.catch(() => undefined);
        await session?.close();
      }
    }),
  };
  return { fullName: 'vanelia.v1.Compositor', definition: CompositorService, implementation };
}
