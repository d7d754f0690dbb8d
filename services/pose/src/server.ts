import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  PoseService,
  type CameraTrack,
  type ImportTrackRequest,
  type PoseServer,
  type TrackEvent,
  type TrackRequest,
} from '@vanelia/proto';
import {
  VaneliaError,
  observeBatch,
  streamHandler,
  toRgbFrame,
  unaryHandler,
  writeMessage,
  type Logger,
  type ServiceRegistration,
} from '@vanelia/runtime';
import type { AnchorOptions } from './anchor';
import { PoseJob, type PoseJobOptions } from './backend';
import type { CameraTrackData } from './camera-track';
import type { Dust3rBackend } from './dust3r/dust3r-backend';
import { importTrack } from './io/import-track';
import type { TrackerOptions } from './tracker/tracker-session';

export interface PoseServerOptions {
  logger: Logger;
  /** Folder of the DUSt3R model files ("" = none: the tracker runs). */
  modelDir: string;
  /** The process's DUSt3R backend when its model is installed. */
  dust3r?: Dust3rBackend;
  tracker?: TrackerOptions;
  anchor?: AnchorOptions;
}

/** The proto message of a domain track. */
export function cameraTrackMessage(track: CameraTrackData): CameraTrack {
  const a = track.anchor;
  return {
    cameras: track.cameras.map((c) => ({
      frameIndex: c.frameIndex,
      intrinsics: { ...c.intrinsics },
      cameraToWorldOpencv: Array.from(c.cameraToWorldOpenCv),
      confidence: c.confidence,
    })),
    anchor: a
      ? {
          pointWorld: { x: a.pointWorld[0], y: a.pointWorld[1], z: a.pointWorld[2] },
          upWorld: { x: a.upWorld[0], y: a.upWorld[1], z: a.upWorld[2] },
          planeOffset: a.planeOffset,
          metresPerUnit: a.metresPerUnit,
          frameIndex: a.frameIndex,
          pixelX: a.pixelX,
          pixelY: a.pixelY,
        }
      : undefined,
    backend: track.backend,
    warnings: track.warnings,
  };
}

/** Adapts PoseJob and the track importers to vanelia.v1.Pose. */
export function poseService(options: PoseServerOptions): ServiceRegistration {
  const ctx = { stage: 'pose' as const, logger: options.logger };
  const implementation: PoseServer = {
    track: streamHandler(ctx, 'Track', async (call: ServerDuplexStream<TrackRequest, TrackEvent>) => {
      let job: PoseJob | undefined;
      let jobId = '';
      const abort = new AbortController();
      call.once('cancelled', () => abort.abort());
      // Progress is sent as it happens; writes are chained so they keep their order.
      let pending: Promise<void> = Promise.resolve();
      const send = (event: TrackEvent): Promise<void> => (pending = pending.then(() => writeMessage(call, event)));
      for await (const message of call as AsyncIterable<TrackRequest>) {
        const payload = message.payload;
        if (payload?.$case === 'config') {
          if (job) throw new VaneliaError('pose', 'PROTOCOL', 'Track got a second config message.');
          const config = payload.value;
          jobId = config.jobId;
          const placement = config.placement;
          const jobOptions: PoseJobOptions = {
            backend: config.backend,
            modelDir: options.modelDir,
            dust3r: options.dust3r,
            tracker: options.tracker,
            // A job's own camera height (the scene's metric scale) over the service's default.
            anchor: placement?.cameraHeightM ? { ...options.anchor, cameraHeightM: placement.cameraHeightM } : options.anchor,
            sceneGraph: config.sceneGraph,
            pairBatchSize: config.pairBatchSize,
            wantDepth: config.wantDepth,
            expectedFrames: config.video?.frameCount ?? 0,
            placement: {
              frameIndex: placement?.frameIndex ?? 0,
              ...(placement?.hasPixel ? { pixel: [placement.pixelX, placement.pixelY] as const } : {}),
              productHeightM: placement?.productHeightM ?? 0,
            },
            signal: abort.signal,
            logger: options.logger.child({ jobId }),
            onProgress: (p) => void send({ payload: { $case: 'progress', value: { step: p.step, done: p.done, total: p.total } } }).catch(() => undefined),
          };
          job = new PoseJob(jobOptions);
        } else if (payload?.$case === 'batch') {
          if (!job) throw new VaneliaError('pose', 'PROTOCOL', 'Track got frames before its config.');
          const started = performance.now();
          job.push(payload.value.frames.map((f) => toRgbFrame('pose', f)));
          observeBatch('pose', payload.value.frames.length, (performance.now() - started) / 1000);
        }
      }
      if (!job) throw new VaneliaError('pose', 'PROTOCOL', 'Track stream ended without a config.');
      const { track, depthMaps } = await job.finish();
      await pending;
      for (const depth of depthMaps) await send({ payload: { $case: 'depth', value: depth } });
      await send({ payload: { $case: 'track', value: cameraTrackMessage(track) } });
      options.logger.info('track done', { jobId, backend: track.backend, frames: track.cameras.length, warnings: track.warnings.length });
    }),

    importTrack: unaryHandler<ImportTrackRequest, CameraTrack>(ctx, 'ImportTrack', async (request) =>
      cameraTrackMessage(
        importTrack({
          format: request.format,
          content: request.content,
          files: new Map(Object.entries(request.files ?? {})),
          widthPx: request.widthPx,
          heightPx: request.heightPx,
        }),
      ),
    ),
  };
  return { fullName: 'vanelia.v1.Pose', definition: PoseService, implementation };
}
