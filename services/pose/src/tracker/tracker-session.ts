import { silentLogger, VaneliaError, type Logger } from '@vanelia/runtime';
import type { CameraTrackData, FrameCameraData } from '../camera-track';
import { cameraToWorldOf } from './camera-model';
import { FeatureTracker, type FeatureTrackerOptions } from './feature-tracker';
import { grayFromRgb } from './gray-image';
import { reconstructIncremental, type SfmOptions } from './incremental-sfm';
import { buildTrackTable } from './track-table';
import { withDefaults } from '../options';

export interface TrackerOptions {
  /** Frames are reduced by an integer factor until their long side is at most about this (pixels). */
  workingLongSidePx?: number;
  /** Known focal length at the original resolution (pixels); 0 = estimate it. */
  focalPx?: number;
  /** Feature tracking settings. */
  features?: FeatureTrackerOptions;
  /** Reconstruction settings (focalPx here is ignored: use the field above). */
  sfm?: Omit<SfmOptions, 'focalPx'>;
}

export const TRACKER_DEFAULTS: Required<Omit<TrackerOptions, 'features' | 'sfm'>> = {
  workingLongSidePx: 1100,
  focalPx: 0,
};

/** One decoded frame: interleaved 8-bit RGB or RGBA, rows top to bottom. */
export interface RgbFrame {
  data: Uint8Array;
  widthPx: number;
  heightPx: number;
  channels: 3 | 4;
  filePath?: string;
}

/** Integer reduction factor so that the long side is at most about `target`. */
export function workingFactor(widthPx: number, heightPx: number, target: number): number {
  return Math.max(1, Math.round(Math.max(widthPx, heightPx) / target));
}

/**
 * The weight-free tracker over a stream of frames: each pushed frame is reduced to grayscale at the
 * working resolution and its features tracked at once (only the previous frame is kept); `finish()`
 * reconstructs the cameras and reports them at the original resolution.
 */
export class TrackerSession {
  private readonly o: Required<Omit<TrackerOptions, 'features' | 'sfm'>>;
  private readonly tracker: FeatureTracker;
  private size: { widthPx: number; heightPx: number; factor: number } | null = null;
  private readonly filePaths: (string | undefined)[] = [];

  constructor(
    private readonly options: TrackerOptions = {},
    private readonly logger: Logger = silentLogger,
  ) {
    this.o = withDefaults(TRACKER_DEFAULTS, options);
    this.tracker = new FeatureTracker(options.features);
  }

  get frameCount(): number {
    return this.filePaths.length;
  }

  push(frame: RgbFrame): void {
    if (!this.size) {
      this.size = { widthPx: frame.widthPx, heightPx: frame.heightPx, factor: workingFactor(frame.widthPx, frame.heightPx, this.o.workingLongSidePx) };
    } else if (frame.widthPx !== this.size.widthPx || frame.heightPx !== this.size.heightPx) {
      throw new VaneliaError('pose', 'INVALID_FRAME', `frame ${this.filePaths.length} is ${frame.widthPx}x${frame.heightPx}, the first was ${this.size.widthPx}x${this.size.heightPx}.`);
    }
    if (frame.data.length < frame.widthPx * frame.heightPx * frame.channels) {
      throw new VaneliaError('pose', 'INVALID_FRAME', `frame ${this.filePaths.length} carries ${frame.data.length} bytes, ${frame.widthPx}x${frame.heightPx}x${frame.channels} needs more.`);
    }
    this.tracker.push(grayFromRgb(frame.data, frame.widthPx, frame.heightPx, frame.channels, this.size.factor));
    this.filePaths.push(frame.filePath);
  }

  /** Reconstructs the cameras of every pushed frame (input order) and the sparse points. */
  async finish(signal?: AbortSignal): Promise<CameraTrackData> {
    if (!this.size || this.filePaths.length < 2) {
      throw new VaneliaError('pose', 'TOO_FEW_FRAMES', `the tracker needs at least 2 frames, got ${this.filePaths.length}.`);
    }
    const { widthPx, heightPx, factor } = this.size;
    const table = buildTrackTable(this.tracker.result());
    const result = await reconstructIncremental(table, { ...this.options.sfm, focalPx: this.o.focalPx / factor }, this.logger, signal);
    const f = result.intrinsics.focalPx * factor;
    const intrinsics = { fxPx: f, fyPx: f, cxPx: result.intrinsics.cxPx * factor, cyPx: result.intrinsics.cyPx * factor, widthPx, heightPx };
    const cameras: FrameCameraData[] = result.poses.map((pose, frameIndex) => ({
      frameIndex,
      intrinsics: { ...intrinsics },
      cameraToWorldOpenCv: cameraToWorldOf(pose),
      confidence: result.confidence[frameIndex],
      ...(this.filePaths[frameIndex] ? { filePath: this.filePaths[frameIndex] } : {}),
    }));
    const warnings = [...result.warnings];
    if (Math.abs(result.intrinsics.k1) > 0.05) warnings.push(`the lens shows radial distortion (k1 = ${result.intrinsics.k1.toFixed(3)}) that the pinhole track does not model`);
    this.logger.info('tracker finished', { frames: cameras.length, keyframes: result.keyframes.length, rmsPx: result.rmsPx, focalPx: f, factor });
    return { cameras, backend: 'tracker', warnings, points: result.points };
  }
}
