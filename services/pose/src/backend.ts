import type { DepthMap, Frame } from '@vanelia/proto';
import { PixelFormat } from '@vanelia/proto';
import { silentLogger, VaneliaError, type Logger } from '@vanelia/runtime';
import { computeAnchor, type AnchorOptions, type AnchorRequest } from './anchor';
import type { CameraTrackData, FrameCameraData } from './camera-track';
import type { Dust3rBackend } from './dust3r/dust3r-backend';
import { isDust3rInstalled } from './dust3r/dust3r-models';
import { mat4TransformPoint } from './geometry/mat4';
import { TrackerSession, type TrackerOptions } from './tracker/tracker-session';

export type BackendChoice = 'auto' | 'dust3r' | 'tracker';
export type BackendName = 'dust3r' | 'tracker';

export interface PoseProgress {
  step: 'receiving' | 'features' | 'pairs' | 'alignment' | 'anchor';
  done: number;
  total: number;
}

/**
 * Which backend runs: "dust3r" when asked for or, with "auto" (or ""), when its model files are in
 * `modelDir`; otherwise the weight-free tracker. Asking for "dust3r" without the model is an error.
 */
export function resolveBackend(requested: string, modelDir: string): BackendName {
  const choice = (requested === '' ? 'auto' : requested) as BackendChoice;
  if (choice === 'tracker') return 'tracker';
  if (choice === 'dust3r') {
    if (!isDust3rInstalled(modelDir)) {
      throw new VaneliaError('pose', 'MODEL_NOT_INSTALLED', `the dust3r backend was asked for, but "${modelDir || '(no model dir)'}" holds no DUSt3R model; export one with tools/export/export_dust3r_onnx.py or use --backend tracker.`, { code: 'FAILED_PRECONDITION' });
    }
    return 'dust3r';
  }
  if (choice === 'auto') return isDust3rInstalled(modelDir) ? 'dust3r' : 'tracker';
  throw new VaneliaError('pose', 'UNKNOWN_BACKEND', `backend "${requested}" is not one of auto, dust3r, tracker.`);
}

export interface PoseJobOptions {
  /** "auto", "dust3r" or "tracker". */
  backend?: string;
  /** Folder of the DUSt3R model (for "auto" and "dust3r"). */
  modelDir?: string;
  /** The loaded DUSt3R backend (one per process); required when it is chosen. */
  dust3r?: Dust3rBackend;
  /** Where the product stands; computed for every job (default: centre of the first frame). */
  placement?: AnchorRequest;
  anchor?: AnchorOptions;
  tracker?: TrackerOptions;
  /** DUSt3R scene graph and pairs a batch ("" / 0 keep the backend's). */
  sceneGraph?: string;
  pairBatchSize?: number;
  /** Return DUSt3R's dense depth maps. */
  wantDepth?: boolean;
  /** Frames the video has, when known (progress totals). */
  expectedFrames?: number;
  onProgress?: (progress: PoseProgress) => void;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface PoseJobResult {
  track: CameraTrackData;
  depthMaps: DepthMap[];
}

function channelsOf(frame: Frame): 3 | 4 {
  if (frame.format === PixelFormat.PIXEL_FORMAT_RGB8) return 3;
  if (frame.format === PixelFormat.PIXEL_FORMAT_RGBA8) return 4;
  throw new VaneliaError('pose', 'INVALID_FRAME', `frame ${frame.index} must be RGB8 or RGBA8, got ${PixelFormat[frame.format]}.`);
}

/**
 * One tracking job: frames are pushed in order as they arrive (the tracker works on them at once;
 * DUSt3R keeps them for its pairs), then `finish()` returns the camera track with its anchor.
 */
export class PoseJob {
  readonly backend: BackendName;
  private readonly session: TrackerSession | null;
  private readonly frames: Frame[] = [];
  private received = 0;
  private readonly logger: Logger;

  constructor(private readonly options: PoseJobOptions = {}) {
    this.backend = resolveBackend(options.backend ?? 'auto', options.modelDir ?? '');
    this.logger = options.logger ?? silentLogger;
    if (this.backend === 'dust3r' && !options.dust3r) {
      throw new VaneliaError('pose', 'MODEL_NOT_INSTALLED', 'the dust3r backend is not loaded in this process.', { code: 'FAILED_PRECONDITION' });
    }
    this.session = this.backend === 'tracker' ? new TrackerSession(options.tracker, this.logger) : null;
  }

  push(frames: readonly Frame[]): void {
    for (const frame of frames) {
      if (this.options.signal?.aborted) throw new VaneliaError('pose', 'CANCELLED', 'tracking was cancelled.', { code: 'CANCELLED' });
      if (frame.index !== this.received) {
        throw new VaneliaError('pose', 'INVALID_FRAME', `frames must arrive in order: expected frame ${this.received}, got ${frame.index}.`);
      }
      const channels = channelsOf(frame);
      if (this.session) this.session.push({ data: frame.data, widthPx: frame.widthPx, heightPx: frame.heightPx, channels });
      else this.frames.push(frame);
      this.received++;
    }
    this.options.onProgress?.({ step: this.session ? 'features' : 'receiving', done: this.received, total: this.options.expectedFrames ?? 0 });
  }

  async finish(): Promise<PoseJobResult> {
    const progress = (p: PoseProgress): void => this.options.onProgress?.(p);
    let track: CameraTrackData;
    let depthMaps: DepthMap[] = [];
    if (this.session) {
      progress({ step: 'alignment', done: 0, total: 1 });
      track = await this.session.finish(this.options.signal);
      progress({ step: 'alignment', done: 1, total: 1 });
    } else {
      const result = await this.options.dust3r!.track(this.frames, {
        wantDepth: true,
        sceneGraph: this.options.sceneGraph ?? '',
        pairBatchSize: this.options.pairBatchSize ?? 0,
        onProgress: (e) => progress(e),
        signal: this.options.signal,
      });
      const cameras: FrameCameraData[] = result.cameras.map((c) => ({
        frameIndex: c.frameIndex,
        intrinsics: { fxPx: c.intrinsics!.fxPx, fyPx: c.intrinsics!.fyPx, cxPx: c.intrinsics!.cxPx, cyPx: c.intrinsics!.cyPx, widthPx: c.intrinsics!.widthPx, heightPx: c.intrinsics!.heightPx },
        cameraToWorldOpenCv: Float64Array.from(c.cameraToWorldOpencv),
        confidence: c.confidence,
      }));
      track = { cameras, backend: 'dust3r', warnings: result.warnings };
      const frameIndex = this.options.placement?.frameIndex ?? 0;
      const depth = result.depthMaps.find((d) => d.frameIndex === frameIndex);
      if (depth) track.points = depthToWorldPoints(depth, cameras[frameIndex]);
      depthMaps = this.options.wantDepth ? result.depthMaps : [];
    }
    progress({ step: 'anchor', done: 0, total: 1 });
    try {
      track.anchor = computeAnchor(track, this.options.placement ?? {}, this.options.anchor);
    } catch (error) {
      if (!(error instanceof VaneliaError) || error.reason === 'INVALID_PLACEMENT') throw error;
      track.warnings.push(`no placement anchor: ${error.message}`);
    }
    progress({ step: 'anchor', done: 1, total: 1 });
    return { track, depthMaps };
  }
}

/** World points of a depth map (every `step`-th pixel), unprojected through the frame's camera. */
export function depthToWorldPoints(depth: DepthMap, camera: FrameCameraData, step = 4): Float64Array {
  const values = new Float32Array(depth.depthF32.buffer.slice(depth.depthF32.byteOffset, depth.depthF32.byteOffset + depth.depthF32.byteLength));
  const k = camera.intrinsics;
  const sx = k.widthPx / depth.widthPx;
  const sy = k.heightPx / depth.heightPx;
  const out: number[] = [];
  for (let y = 0; y < depth.heightPx; y += step) {
    for (let x = 0; x < depth.widthPx; x += step) {
      const z = values[y * depth.widthPx + x];
      if (!(z > 0)) continue;
      const u = (x + 0.5) * sx;
      const v = (y + 0.5) * sy;
      const p = mat4TransformPoint(camera.cameraToWorldOpenCv, [((u - k.cxPx) / k.fxPx) * z, ((v - k.cyPx) / k.fyPx) * z, z]);
      out.push(p[0], p[1], p[2]);
    }
  }
  return Float64Array.from(out);
}
