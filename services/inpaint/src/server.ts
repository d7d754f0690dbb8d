/** gRPC adapter for vanelia.v1.Inpaint: messages <-> InpaintEngine and RefineJob calls, errors -> statuses. */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  InpaintService,
  PixelFormat,
  type CompositeResponse,
  type Frame,
  type InpaintServer,
  type ModelStatus,
  type ModelStatusRequest,
  type RefineRequest,
  type RefineResponse,
} from '@vanelia/proto';
import {
  VaneliaError,
  assertFrame,
  batchId,
  fromRgbFrame,
  observeBatch,
  rgbFrame,
  stageQueueDepth,
  streamHandler,
  toRgbFrame,
  unaryHandler,
  writeMessage,
  type Logger,
  type ServiceRegistration,
} from '@vanelia/runtime';
import type { InpaintEngine } from './inpaint-engine';
import type { CompositeFrame, RefineJob } from './refine-job';

export interface InpaintServerOptions {
  logger: Logger;
  engine: InpaintEngine;
}

const bytes = (frame: Frame) => new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);

/** The received composites (RGB8 or I420, the mesh's transport format) and their RGB8 domain form. */
function compositeFrames(batch: CompositeResponse): { received: Frame[]; frames: CompositeFrame[] } {
  const received: Frame[] = [];
  const frames = batch.frames.map((f, n) => {
    const composite = f.composite;
    const mask = f.inpaintMask;
    if (!composite || !mask) {
      throw new VaneliaError('inpaint', 'INVALID_FRAME', `batch ${batch.batchId} frame ${n} has no ${composite ? 'inpaint mask' : 'composite'}.`);
    }
    assertFrame('inpaint', composite);
    assertFrame('inpaint', mask, { widthPx: composite.widthPx, heightPx: composite.heightPx, format: PixelFormat.PIXEL_FORMAT_GRAY8 });
    received.push(composite);
    const r = f.region ?? { xPx: 0, yPx: 0, widthPx: 0, heightPx: 0 };
    return {
      index: composite.index,
      widthPx: composite.widthPx,
      heightPx: composite.heightPx,
      ptsUs: composite.ptsUs,
      composite: bytes(toRgbFrame('inpaint', composite)),
      mask: bytes(mask),
      region: { x: r.xPx, y: r.yPx, w: r.widthPx, h: r.heightPx },
    };
  });
  return { received, frames };
}

async function refineOne(engine: InpaintEngine, job: RefineJob, batch: CompositeResponse): Promise<RefineResponse> {
  const { received, frames } = compositeFrames(batch);
  const result = await engine.exclusive(() => job.refineBatch(frames));
  const first = frames[0]?.index ?? 0;
  const last = frames[frames.length - 1]?.index ?? 0;
  return {
    batch: {
      jobId: job.jobId,
      batchId: batch.batchId || batchId(job.jobId, first, last),
      // unchanged frames go back as they came; refined ones in the format they came in
      frames: result.frames.map((f, i) =>
        f.changed ? fromRgbFrame('inpaint', rgbFrame(f.index, f.widthPx, f.heightPx, f.data, f.ptsUs), received[i].format) : received[i],
      ),
    },
    report: result.report,
    warnings: [...batch.warnings, ...result.warnings],
  };
}

/** One job per stream: the config message first, then one answer per composited batch, in order. */
export function inpaintService(options: InpaintServerOptions): ServiceRegistration {
  const ctx = { stage: 'inpaint' as const, logger: options.logger };
  const { engine } = options;
  const implementation: InpaintServer = {
    refine: streamHandler(ctx, 'Refine', async (call: ServerDuplexStream<RefineRequest, RefineResponse>) => {
      let job: RefineJob | undefined;
      for await (const message of call as AsyncIterable<RefineRequest>) {
        const payload = message.payload;
        if (payload?.$case === 'config') {
          if (job) throw new VaneliaError('inpaint', 'PROTOCOL', 'Refine got a second config message.');
          const { jobId, enabled, ...settings } = payload.value;
          job = engine.openJob(jobId, enabled, settings);
        } else if (payload?.$case === 'batch') {
          if (!job) throw new VaneliaError('inpaint', 'PROTOCOL', 'Refine got frames before its config.');
          const started = performance.now();
          stageQueueDepth.inc({ stage: 'inpaint' });
          try {
            const response = await refineOne(engine, job, payload.value);
            observeBatch('inpaint', payload.value.frames.length, (performance.now() - started) / 1000);
            await writeMessage(call, response);
          } finally {
            stageQueueDepth.dec({ stage: 'inpaint' });
          }
        }
      }
    }),
    getModelStatus: unaryHandler<ModelStatusRequest, ModelStatus>(ctx, 'GetModelStatus', async () => engine.status()),
  };
  return { fullName: 'vanelia.v1.Inpaint', definition: InpaintService, implementation };
}
