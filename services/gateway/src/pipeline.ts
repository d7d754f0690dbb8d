import {
  CompositeConfig,
  PixelFormat,
  RefineConfig,
  TrackConfig,
  type CameraTrack,
  type CompositeRequest,
  type CompositeResponse,
  type CompositorClient,
  type DecoderClient,
  type Frame,
  type FrameBatch,
  type InpaintClient,
  type JobSpec,
  type PoseClient,
  type RefineRequest,
  type RefineResponse,
  type VideoInfo,
} from '@vanelia/proto';
import { VaneliaError, resolveStoragePath, silentLogger, type Logger } from '@vanelia/runtime';
import { join } from 'node:path';
import { dispatchBatches } from './batch-dispatcher';
import { decodeBatches, probeVideo, type VideoProbeCache } from './decode-stage';
import type { JobCheckpoint } from './job-store';
import { loadTrack, saveTrack, trackCameras } from './pose-stage';
import { PreviewCapture, makeContactSheet, previewFrameIndices } from './preview';
import type { StageReplicas } from './replicas/stage-replicas';
import { assembleSegments } from './segment-assembly';
import { encodeSegments } from './segment-encoder';
import { stageCallOptions, stageMetadata } from './stage-streams';

/** Every stage's replicas, as the gateway sees them. */
export interface MeshReplicas {
  decoder: StageReplicas<DecoderClient>;
  pose: StageReplicas<PoseClient>;
  compositor: StageReplicas<CompositorClient>;
  inpaint: StageReplicas<InpaintClient>;
}

/** A job's files on the shared storage (relative to its root). */
export interface JobPaths {
  video: string;
  /** '' when the job has no product: frames pass through the compositor. */
  product: string;
  /** The job's own folder: output.mp4, segments/, track.pb, preview/. */
  folder: string;
}

export const jobOutputPath = (paths: JobPaths): string => join(paths.folder, 'output.mp4');
export const jobPreviewPath = (paths: JobPaths): string => join(paths.folder, 'preview.png');
export const jobPreviewFolder = (paths: JobPaths): string => join(paths.folder, 'preview');
export const jobSegmentsFolder = (paths: JobPaths): string => join(paths.folder, 'segments');

export type PipelineStage = 'probe' | 'decode' | 'pose' | 'composite' | 'refine' | 'encode' | 'assemble';

export interface PipelineObserver {
  /** The probed video (throw to refuse it, e.g. over a limit). */
  onVideo?(video: VideoInfo): void;
  /** Frames a stage has finished, counting those finished before a restart. */
  onProgress?(stage: PipelineStage, framesDone: number, framesTotal: number): void;
  onWarning?(message: string): void;
  /** Persist the checkpoint; throw when the job is no longer this gateway's (cancelled, taken over). */
  onCheckpoint?(checkpoint: JobCheckpoint): Promise<void>;
}

export interface PipelineOptions {
  /** Frames a decoded batch. */
  batchSize?: number;
  /** Frames a segment: the unit of encoding and of resuming (rounded up to whole batches). */
  segmentFrames?: number;
  /** Deadline of each stage call. */
  stageDeadlineMs?: number;
  /** Longest wait for a serving replica of a stage. */
  replicaWaitMs?: number;
  /** Longest wait for one batch's answer before it goes to another replica. */
  batchTimeoutMs?: number;
  /** Batches in flight on one stage call. */
  inFlightPerStream?: number;
  /** Calls one job opens on each replica of a stage. */
  streamsPerReplica?: number;
  /** Times a batch is sent before the job fails. */
  maxBatchAttempts?: number;
}

export const PIPELINE_DEFAULTS: Required<PipelineOptions> = {
  batchSize: 8,
  segmentFrames: 240,
  stageDeadlineMs: 6 * 60 * 60 * 1000,
  replicaWaitMs: 5 * 60_000,
  batchTimeoutMs: 10 * 60_000,
  inFlightPerStream: 2,
  streamsPerReplica: 1,
  maxBatchAttempts: 4,
};

export interface PipelineRun {
  replicas: MeshReplicas;
  storageRoot: string;
  jobId: string;
  spec: JobSpec;
  paths: JobPaths;
  /** Where an earlier attempt stopped (undefined for a new job). */
  checkpoint?: JobCheckpoint;
  /** Attempt number (file names of this attempt's segments). */
  attempt: number;
  /** Probe answers already known (the submission's); without it the video is probed afresh. */
  probeCache?: VideoProbeCache;
  observer?: PipelineObserver;
  options?: PipelineOptions;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface PipelineResult {
  video: VideoInfo;
  frameCount: number;
  sizeBytes: number;
  /** Storage-relative path of the mp4. */
  outputPath: string;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Batches that must stay on one refine call: frames between refined key frames carry the key's result. */
export function refineGroupSize(spec: JobSpec, batchSize: number): number {
  const interval = spec.refine?.frameInterval ?? 0;
  return interval > 1 ? interval / gcd(batchSize, interval) : 1;
}

/** A new job's checkpoint: segment length rounded up to whole refine groups, fixed from now on. */
export function newCheckpoint(spec: JobSpec, o: Required<PipelineOptions>): JobCheckpoint {
  const unit = o.batchSize * refineGroupSize(spec, o.batchSize);
  return { segmentFrames: Math.ceil(o.segmentFrames / unit) * unit, batchSize: o.batchSize, trackPath: '', segments: [], framesComplete: false };
}

async function* tap<T extends { frames: unknown[] }>(input: AsyncIterable<T>, each: (item: T) => void): AsyncGenerator<T> {
  for await (const item of input) {
    each(item);
    yield item;
  }
}

async function* mapAsync<A, B>(input: AsyncIterable<A>, fn: (a: A) => B): AsyncGenerator<B> {
  for await (const item of input) yield fn(item);
}

const withDefaults = (options: PipelineOptions = {}): Required<PipelineOptions> =>
  ({ ...PIPELINE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) }) as Required<PipelineOptions>;

/**
 * One job through the mesh, resumable:
 *   probe → pose (every frame once; the track is kept) → decode → composite → [refine] → encode in
 *   segments (each recorded when finished) → assemble the segments with the audio → contact sheet.
 * Decode, composite, refine and encode work at once on successive batches; composite and refine spread
 * their batches over every replica. A restarted job skips pose and the finished segments.
 */
export async function runPipeline(run: PipelineRun): Promise<PipelineResult> {
  const o = withDefaults(run.options);
  const observer = run.observer ?? {};
  const logger = run.logger ?? silentLogger;
  const attempt = new AbortController();
  const onAbort = (): void => attempt.abort();
  run.signal?.addEventListener('abort', onAbort, { once: true });
  if (run.signal?.aborted) attempt.abort();
  const calls = { deadlineMs: o.stageDeadlineMs, replicaWaitMs: o.replicaWaitMs, signal: attempt.signal };
  const abs = (path: string): string => resolveStoragePath('gateway', run.storageRoot, path);
  try {
    const probe = (path: string) => probeVideo(run.replicas.decoder, path, calls);
    const video = run.probeCache ? await run.probeCache.probe(run.paths.video, probe) : await probe(run.paths.video);
    observer.onVideo?.(video);
    const total = video.frameCount;
    const checkpoint = run.checkpoint ?? newCheckpoint(run.spec, o);
    const preview = new PreviewCapture(abs(jobPreviewFolder(run.paths)), previewFrameIndices(total), {}, logger);

    if (!checkpoint.framesComplete) {
      const track = await cameraTrack(run, video, checkpoint, calls);
      const startFrame = checkpoint.segments.reduce((n, s) => n + s.frameCount, 0);
      const refining = run.spec.refine?.enabled === true && run.paths.product !== '';
      const counts = { decode: startFrame, composite: startFrame, refine: startFrame };
      for (const stage of ['decode', 'composite', ...(refining ? (['refine'] as const) : []), 'encode'] as const) observer.onProgress?.(stage, startFrame, total);

      const decoded = tap(
        decodeBatches(run.replicas.decoder, { jobId: run.jobId, path: run.paths.video, batchSize: checkpoint.batchSize, startFrame, format: PixelFormat.PIXEL_FORMAT_I420 }, calls),
        (batch) => {
          preview.capture('before', batch.frames);
          observer.onProgress?.('decode', (counts.decode += batch.frames.length), total);
        },
      );
      const lightFrames = run.paths.product === '' ? [] : await lightingFrames(run, checkpoint.batchSize, total, calls);
      const composited = tap(composite(run, track, decoded, lightFrames, o, attempt.signal), (answer) => {
        for (const warning of answer.warnings) observer.onWarning?.(warning.startsWith('compositor:') ? warning : `compositor: ${warning}`);
        observer.onProgress?.('composite', (counts.composite += answer.frames.length), total);
      });
      const finals = refining
        ? tap(refine(run, composited, checkpoint.batchSize, o, attempt.signal), (batch) => observer.onProgress?.('refine', (counts.refine += batch.frames.length), total))
        : mapAsync(composited, (answer): FrameBatch => ({ jobId: run.jobId, batchId: answer.batchId, frames: answer.frames.map((f) => f.composite!) }));

      await encodeSegments(
        run.replicas.decoder,
        tap(finals, (batch) => preview.capture('after', batch.frames)),
        {
          jobId: run.jobId,
          video,
          frameFormat: PixelFormat.PIXEL_FORMAT_I420,
          firstFrame: startFrame < total ? startFrame : undefined,
          segmentFrames: checkpoint.segmentFrames,
          folder: jobSegmentsFolder(run.paths),
          attempt: run.attempt,
          ...calls,
          onFramesSent: (sent) => observer.onProgress?.('encode', startFrame + sent, total),
          onSegment: async (segment) => {
            checkpoint.segments.push(segment);
            await observer.onCheckpoint?.(checkpoint);
          },
        },
      );
      checkpoint.framesComplete = true;
      await observer.onCheckpoint?.(checkpoint);
    }

    const frameCount = checkpoint.segments.reduce((n, s) => n + s.frameCount, 0);
    if (frameCount !== total) observer.onWarning?.(`encoded ${frameCount} frames; the source reported ${total}`);
    observer.onProgress?.('assemble', 0, 1);
    const sizeBytes = await assembleSegments({
      segments: checkpoint.segments.map((s) => ({ path: abs(s.path), frameCount: s.frameCount })),
      fpsNum: video.fpsNum,
      fpsDen: video.fpsDen,
      outputPath: abs(jobOutputPath(run.paths)),
      audioSourcePath: video.hasAudio ? abs(run.paths.video) : '',
      audioCodec: video.audioCodec,
      signal: attempt.signal,
    });
    observer.onProgress?.('assemble', 1, 1);
    await preview.flush();
    await makeContactSheet(abs(jobPreviewFolder(run.paths)), abs(jobPreviewPath(run.paths))).catch((error: unknown) => logger.warn('preview sheet failed', { error }));
    return { video, frameCount, sizeBytes, outputPath: jobOutputPath(run.paths) };
  } catch (error) {
    attempt.abort(); // stops every call this attempt still has open upstream
    throw error;
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
  }
}

type Calls = { deadlineMs: number; replicaWaitMs: number; signal: AbortSignal };

/** The camera track: from the checkpoint, from pose (then kept), or none for jobs without a product. */
async function cameraTrack(run: PipelineRun, video: VideoInfo, checkpoint: JobCheckpoint, calls: Calls): Promise<CameraTrack | undefined> {
  if (run.paths.product === '' || run.spec.poseBackend === 'none') return undefined;
  const abs = (path: string): string => resolveStoragePath('gateway', run.storageRoot, path);
  if (checkpoint.trackPath) return loadTrack(abs(checkpoint.trackPath));
  const observer = run.observer ?? {};
  const total = video.frameCount;
  const placement = run.spec.placement;
  const config = TrackConfig.fromPartial({
    jobId: run.jobId,
    backend: run.spec.poseBackend || 'auto',
    video,
    placement: {
      frameIndex: placement?.frameIndex ?? 0,
      hasPixel: placement?.hasPixel ?? false,
      pixelX: placement?.pixelX ?? 0,
      pixelY: placement?.pixelY ?? 0,
      productHeightM: placement?.productHeightM ?? 0,
      cameraHeightM: placement?.cameraHeightM ?? 0,
    },
  });
  const frames = decodeBatches(run.replicas.decoder, { jobId: run.jobId, path: run.paths.video, batchSize: checkpoint.batchSize, startFrame: 0, format: PixelFormat.PIXEL_FORMAT_RGB8 }, calls);
  const track = await trackCameras(run.replicas.pose, config, frames, {
    ...calls,
    // Pose answers once it has every frame; until then its progress is the frames it has received.
    onFramesSent: (sent) => {
      observer.onProgress?.('decode', sent, total);
      observer.onProgress?.('pose', sent, total);
    },
  });
  observer.onProgress?.('pose', total, total);
  for (const warning of track.warnings) observer.onWarning?.(`pose: ${warning}`);
  const path = join(run.paths.folder, 'track.pb');
  await saveTrack(abs(path), track);
  checkpoint.trackPath = path;
  await observer.onCheckpoint?.(checkpoint);
  return track;
}

/** How composite and refine spread their batches (from the pipeline options). */
function spreadSettings(run: PipelineRun, o: Required<PipelineOptions>, signal: AbortSignal) {
  return {
    streamsPerReplica: o.streamsPerReplica,
    inFlightPerStream: o.inFlightPerStream,
    maxAttempts: o.maxBatchAttempts,
    batchTimeoutMs: o.batchTimeoutMs,
    replicaWaitMs: o.replicaWaitMs,
    signal,
    logger: run.logger,
  };
}

/**
 * The frames every compositor replica estimates the lighting from: the job's first batch, decoded on its
 * own, so a job spread over replicas or resumed mid-way is lit as one stream from the start would be.
 */
async function lightingFrames(run: PipelineRun, batchSize: number, total: number, calls: Calls): Promise<Frame[]> {
  const frames: Frame[] = [];
  const range = { jobId: run.jobId, path: run.paths.video, batchSize, startFrame: 0, endFrame: Math.min(batchSize, total), format: PixelFormat.PIXEL_FORMAT_I420 };
  for await (const batch of decodeBatches(run.replicas.decoder, range, calls)) frames.push(...batch.frames);
  return frames;
}

/** Composite, spread per batch over every compositor replica. */
function composite(run: PipelineRun, track: CameraTrack | undefined, frames: AsyncIterable<FrameBatch>, lightFrames: Frame[], o: Required<PipelineOptions>, signal: AbortSignal): AsyncGenerator<CompositeResponse> {
  const placement = run.spec.placement;
  const config = CompositeConfig.fromPartial({
    jobId: run.jobId,
    productPath: run.paths.product,
    track,
    productHeightM: placement?.productHeightM ?? 0,
    productYawDeg: placement?.productYawDeg ?? 0,
    shadowOpacity: 0.6,
    maskDilatePx: 12,
    lightFrames,
  });
  return dispatchBatches<CompositorClient, FrameBatch, CompositeRequest, CompositeResponse>(frames, {
    stage: 'composite',
    replicas: run.replicas.compositor,
    open: (client) => client.composite(stageMetadata(false), stageCallOptions(o.stageDeadlineMs)),
    first: { payload: { $case: 'config', value: config } },
    request: (batch) => ({ payload: { $case: 'batch', value: batch } }),
    batchIdOf: (batch) => batch.batchId,
    answerIdOf: (answer) => answer.batchId,
    framesOf: (batch) => batch.frames,
    ...spreadSettings(run, o, signal),
  });
}

/** Refinement, spread over every inpaint replica in groups that keep key frames with the frames after them. */
async function* refine(run: PipelineRun, composited: AsyncIterable<CompositeResponse>, batchSize: number, o: Required<PipelineOptions>, signal: AbortSignal): AsyncGenerator<FrameBatch> {
  const settings = run.spec.refine!;
  const config = RefineConfig.fromPartial({
    jobId: run.jobId,
    enabled: true,
    prompt: settings.prompt,
    negativePrompt: settings.negativePrompt,
    preset: settings.preset,
    steps: settings.steps,
    strength: settings.strength,
    guidanceScale: settings.guidanceScale,
    seed: settings.seed,
    mode: settings.mode,
    frameInterval: settings.frameInterval,
  });
  const observer = run.observer ?? {};
  let reportedSkip = false;
  const answers = dispatchBatches<InpaintClient, CompositeResponse, RefineRequest, RefineResponse>(composited, {
    stage: 'inpaint',
    replicas: run.replicas.inpaint,
    open: (client) => client.refine(stageMetadata(false), stageCallOptions(o.stageDeadlineMs)),
    first: { payload: { $case: 'config', value: config } },
    request: (batch) => ({ payload: { $case: 'batch', value: batch } }),
    batchIdOf: (batch) => batch.batchId,
    answerIdOf: (answer) => answer.batch?.batchId ?? '',
    framesOf: (batch) => batch.frames.flatMap((f) => [f.composite, f.inpaintMask]),
    groupSize: refineGroupSize(run.spec, batchSize),
    ...spreadSettings(run, o, signal),
  });
  for await (const answer of answers) {
    if (answer.report && !answer.report.refined && !reportedSkip) {
      reportedSkip = true;
      observer.onWarning?.(`refinement skipped: ${answer.report.reason || 'unknown reason'}`);
    }
    for (const warning of answer.warnings) observer.onWarning?.(warning.startsWith('inpaint:') || warning.startsWith('compositor:') ? warning : `inpaint: ${warning}`);
    if (!answer.batch) throw new VaneliaError('inpaint', 'PROTOCOL', 'a refine answer carried no frames.', { code: 'INTERNAL' });
    yield answer.batch;
  }
}
