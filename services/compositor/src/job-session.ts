import { PixelFormat, type CameraTrack, type CompositeConfig, type CompositeResponse, type FrameBatch } from '@vanelia/proto';
import { VaneliaError, assertFrame, grayFrame, resolveStoragePath, silentLogger, toRgbFrame, type Logger } from '@vanelia/runtime';
import * as THREE from 'three/webgpu';
import { assertIntrinsics, mat4FromRowMajor, type CameraPose } from './camera-model';
import { CompositorJob, type CompositorJobOptions } from './compositor-job';
import type { FramePool } from './frame-pool';
import type { ProductAnchor } from './placement';
import type { RendererProvider } from './renderer-provider';
import { sceneDepthFromBytes } from './scene-depth';

/**
 * One job's compositing state, opened once per Composite stream (the renderer and loaded product are
 * reused across its batches) and closed when the stream ends. Frames are RGB8 or I420 (the mesh's
 * transport format); composites go back in the format each frame came in. A batch may be given before
 * the previous one is answered (answers keep the order batches were given in).
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

/** Cameras of a vanelia.v1.CameraTrack in the compositor's types (checked). */
export function posesFromTrack(track: CameraTrack | undefined): CameraPose[] {
  return (track?.cameras ?? []).map((camera) => {
    const k = camera.intrinsics;
    const intrinsics = { fxPx: k?.fxPx ?? 0, fyPx: k?.fyPx ?? 0, cxPx: k?.cxPx ?? 0, cyPx: k?.cyPx ?? 0, widthPx: k?.widthPx ?? 0, heightPx: k?.heightPx ?? 0 };
    assertIntrinsics(intrinsics, `camera of frame ${camera.frameIndex}`);
    return { frameIndex: camera.frameIndex, intrinsics, cameraToWorldOpenCv: mat4FromRowMajor(camera.cameraToWorldOpencv, `camera of frame ${camera.frameIndex}`) };
  });
}

/** The track's anchor, or undefined when it has none (no up direction). */
export function anchorFromTrack(track: CameraTrack | undefined): ProductAnchor | undefined {
  const anchor = track?.anchor;
  const up = anchor?.upWorld;
  if (!anchor || !up || Math.hypot(up.x, up.y, up.z) < 1e-9) return undefined;
  const point = anchor.pointWorld ?? { x: 0, y: 0, z: 0 };
  return {
    pointWorld: new THREE.Vector3(point.x, point.y, point.z),
    upWorld: new THREE.Vector3(up.x, up.y, up.z),
    metresPerUnit: anchor.metresPerUnit,
    frameIndex: anchor.frameIndex,
  };
}

export interface ProductSessionDeps {
  renderers: RendererProvider;
  /** Root of the shared storage product paths are resolved in. */
  storageRoot: string;
  options?: CompositorJobOptions;
  /** Worker threads that finish frames (composite, masks, I420 conversions); without one, the job's thread does. */
  pool?: FramePool;
  logger?: Logger;
}

/** Opens a job with a product: loads and places it once, then composites every batch of the stream. */
export async function openProductSession(config: CompositeConfig, deps: ProductSessionDeps): Promise<CompositeJobSession> {
  const logger = (deps.logger ?? silentLogger).child({ jobId: config.jobId });
  const renderer = await deps.renderers.get();
  const job = await CompositorJob.open(
    renderer,
    {
      jobId: config.jobId,
      productPath: resolveStoragePath('compositor', deps.storageRoot, config.productPath),
      cameras: posesFromTrack(config.track),
      anchor: anchorFromTrack(config.track),
      productHeightM: config.productHeightM,
      productYawDeg: config.productYawDeg,
      shadowOpacity: config.shadowOpacity,
      maskDilatePx: config.maskDilatePx,
      depth: config.depth.map((d) => sceneDepthFromBytes(d.frameIndex, d.widthPx, d.heightPx, d.depthF32)),
    },
    { ...deps.options, pool: deps.pool ?? deps.options?.pool, logger },
  );
  if (config.lightFrames.length > 0) {
    const lightFrames = config.lightFrames.map((f) => toRgbFrame('compositor', f));
    await job.prepareLighting(lightFrames.map((f) => ({ frameIndex: f.index, image: { widthPx: f.widthPx, heightPx: f.heightPx, data: f.data } })));
  }
  return {
    async compositeBatch(batch) {
      for (const frame of batch.frames) {
        if (frame.format !== PixelFormat.PIXEL_FORMAT_RGB8 && frame.format !== PixelFormat.PIXEL_FORMAT_I420) {
          throw new VaneliaError('compositor', 'UNSUPPORTED_FORMAT', `frame ${frame.index} has format ${PixelFormat[frame.format]}; RGB8 or I420 expected.`);
        }
        assertFrame('compositor', frame);
      }
      const results = await job.compositeFrames(
        batch.frames.map((frame) => ({
          frameIndex: frame.index,
          image: { widthPx: frame.widthPx, heightPx: frame.heightPx, data: frame.data, format: frame.format === PixelFormat.PIXEL_FORMAT_I420 ? 'i420' : 'rgb8' },
        })),
      );
      return {
        jobId: config.jobId,
        batchId: batch.batchId,
        frames: results.map((result, i) => {
          const source = batch.frames[i];
          return {
            composite: { ...source, data: Buffer.from(result.composite.buffer, result.composite.byteOffset, result.composite.byteLength) },
            inpaintMask: grayFrame(source.index, source.widthPx, source.heightPx, result.inpaintMask),
            region: { xPx: result.region.xPx, yPx: result.region.yPx, widthPx: result.region.widthPx, heightPx: result.region.heightPx },
          };
        }),
        warnings: job.takeWarnings(),
      };
    },
    async close() {
      job.close();
    },
  };
}
