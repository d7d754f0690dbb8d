import { Metadata } from '@grpc/grpc-js';
import { PixelFormat } from '@vanelia/proto';
import type {
  CameraTrack,
  CompositeRequest,
  CompositeResponse,
  CompositorClient,
  DecodeResponse,
  DecoderClient,
  EncodeRequest,
  EncodeResponse,
  FrameBatch,
  InpaintClient,
  JobSpec,
  PoseClient,
  RefineRequest,
  TrackEvent,
  TrackRequest,
  VideoInfo,
} from '@vanelia/proto';
import { VaneliaError, vaneliaErrorFrom } from '@vanelia/runtime';
import { pipeBidi, pipeClientStream, readServerStream } from './stage-streams';

export interface StageClients {
  decoder: DecoderClient;
  pose: PoseClient;
  compositor: CompositorClient;
  inpaint: InpaintClient;
}

/** Where a job's files live on the shared storage (paths relative to the storage root). */
export interface JobPaths {
  video: string;
  /** '' when the job has no product (frames pass through). */
  product: string;
  output: string;
}

export type PipelineStage = 'probe' | 'decode' | 'pose' | 'composite' | 'refine' | 'encode';

export interface PipelineObserver {
  onVideo?(info: VideoInfo): void;
  /** Frames finished by a stage so far. */
  onProgress?(stage: PipelineStage, framesDone: number, framesTotal: number): void;
  onWarning?(message: string): void;
}

export interface PipelineOptions {
  /** Frames a decoded batch. */
  batchSize?: number;
  /** Batches outstanding inside one stage at most. */
  maxInFlight?: number;
  /** Deadline for each stage call (ms). */
  stageDeadlineMs?: number;
  signal?: AbortSignal;
}

export const PIPELINE_DEFAULTS: Required<Omit<PipelineOptions, 'signal'>> = {
  batchSize: 8,
  maxInFlight: 3,
  stageDeadlineMs: 6 * 60 * 60 * 1000,
};

export interface PipelineResult {
  video: VideoInfo;
  encode: EncodeResponse;
  track?: CameraTrack;
}

/** Stage calls wait for a replica to be reachable (rolling restarts) until their deadline. */
const callOptions = (o: { stageDeadlineMs: number }) => ({ deadline: Date.now() + o.stageDeadlineMs, waitForReady: true });

/** Probes the source video through the decoder. */
function probe(clients: StageClients, path: string, o: { stageDeadlineMs: number }): Promise<VideoInfo> {
  return new Promise((resolve, reject) =>
    clients.decoder.probe({ sourcePath: path }, new Metadata(), callOptions(o), (error, info) => (error ? reject(vaneliaErrorFrom(error, 'decoder')) : resolve(info))),
  );
}

/** Decodes `paths.video` into batches (after the leading VideoInfo message). */
async function* decodedBatches(clients: StageClients, jobId: string, path: string, format: PixelFormat, o: Required<Omit<PipelineOptions, 'signal'>>, signal?: AbortSignal): AsyncGenerator<FrameBatch> {
  const call = clients.decoder.decode({ jobId, sourcePath: path, batchSize: o.batchSize, startFrame: 0, endFrame: 0, format }, callOptions(o));
  for await (const message of readServerStream<DecodeResponse>('decoder', call, signal)) {
    if (message.payload?.$case === 'batch') yield message.payload.value;
  }
}

async function* mapAsync<A, B>(input: AsyncIterable<A>, fn: (a: A) => B): AsyncGenerator<B> {
  for await (const item of input) yield fn(item);
}

async function* counted<T extends { frames: unknown[] }>(input: AsyncIterable<T>, onFrames: (n: number) => void): AsyncGenerator<T> {
  for await (const item of input) {
    onFrames(item.frames.length);
    yield item;
  }
}

/** Runs the pose service over every frame: the cameras and the anchor for this video. */
async function trackCameras(clients: StageClients, jobId: string, spec: JobSpec, paths: JobPaths, video: VideoInfo, o: Required<Omit<PipelineOptions, 'signal'>>, observer: PipelineObserver, signal?: AbortSignal): Promise<CameraTrack> {
  const call = clients.pose.track(callOptions(o));
  const placement = spec.placement;
  const first: TrackRequest = {
    payload: {
      $case: 'config',
      value: {
        jobId,
        backend: spec.poseBackend || 'auto',
        video,
        placement: {
          frameIndex: placement?.frameIndex ?? 0,
          hasPixel: placement?.hasPixel ?? false,
          pixelX: placement?.pixelX ?? 0,
          pixelY: placement?.pixelY ?? 0,
          productHeightM: placement?.productHeightM ?? 0,
        },
        sceneGraph: '',
        pairBatchSize: 0,
        wantDepth: false,
      },
    },
  };
  let sent = 0;
  const input = mapAsync(
    counted(decodedBatches(clients, jobId, paths.video, PixelFormat.PIXEL_FORMAT_RGB8, o, signal), (n) => {
      sent += n;
      observer.onProgress?.('decode', sent, video.frameCount);
    }),
    (batch): TrackRequest => ({ payload: { $case: 'batch', value: batch } }),
  );
  // Track answers with many events (progress, depth, track) for the whole input: no per-batch pairing.
  let track: CameraTrack | undefined;
  for await (const event of pipeBidi<TrackRequest, TrackEvent>('pose', call, first, input, { maxInFlight: Number.MAX_SAFE_INTEGER, signal })) {
    if (event.payload?.$case === 'progress') observer.onProgress?.('pose', event.payload.value.done, event.payload.value.total);
    else if (event.payload?.$case === 'track') track = event.payload.value;
  }
  if (!track) throw new VaneliaError('pose', 'NO_TRACK', 'the pose service ended without a camera track.', { code: 'INTERNAL' });
  for (const warning of track.warnings) observer.onWarning?.(`pose: ${warning}`);
  return track;
}

/**
 * One job through the mesh: probe, cameras (pose needs every frame first), then decode → composite →
 * refine → encode batch by batch, all stages working at once on successive batches.
 */
export async function runPipeline(clients: StageClients, jobId: string, spec: JobSpec, paths: JobPaths, observer: PipelineObserver = {}, options: PipelineOptions = {}): Promise<PipelineResult> {
  const o = { ...PIPELINE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== 'signal')) } as Required<Omit<PipelineOptions, 'signal'>>;
  const signal = options.signal;
  const video = await probe(clients, paths.video, o);
  observer.onVideo?.(video);
  const total = video.frameCount;

  const usePose = paths.product !== '' && spec.poseBackend !== 'none';
  const track = usePose ? await trackCameras(clients, jobId, spec, paths, video, o, observer, signal) : undefined;

  let decoded = 0;
  // Frames travel as I420 (the codec's layout): half of RGB's bytes, and untouched frames are never converted.
  const frames = counted(decodedBatches(clients, jobId, paths.video, PixelFormat.PIXEL_FORMAT_I420, o, signal), (n) => {
    decoded += n;
    observer.onProgress?.('decode', decoded, total);
  });

  const compositeFirst: CompositeRequest = {
    payload: {
      $case: 'config',
      value: {
        jobId,
        productPath: paths.product,
        track,
        productHeightM: spec.placement?.productHeightM ?? 0,
        productYawDeg: spec.placement?.productYawDeg ?? 0,
        shadowOpacity: 0.6,
        maskDilatePx: 12,
        depth: [],
      },
    },
  };
  let composited = 0;
  const composites = counted(
    pipeBidi<CompositeRequest, CompositeResponse>(
      'compositor',
      clients.compositor.composite(callOptions(o)),
      compositeFirst,
      mapAsync(frames, (batch): CompositeRequest => ({ payload: { $case: 'batch', value: batch } })),
      { maxInFlight: o.maxInFlight, signal },
    ),
    (n) => {
      composited += n;
      observer.onProgress?.('composite', composited, total);
    },
  );

  const refineSettings = spec.refine;
  let toEncode: AsyncIterable<FrameBatch>;
  if (refineSettings?.enabled && paths.product !== '') {
    const refineFirst: RefineRequest = {
      payload: {
        $case: 'config',
        value: {
          jobId,
          enabled: true,
          prompt: refineSettings.prompt,
          negativePrompt: refineSettings.negativePrompt,
          preset: refineSettings.preset,
          steps: refineSettings.steps,
          strength: refineSettings.strength,
          guidanceScale: refineSettings.guidanceScale,
          seed: refineSettings.seed,
          mode: refineSettings.mode,
          roiSizePx: 0,
          frameInterval: refineSettings.frameInterval,
          batchSize: 0,
        },
      },
    };
    let refined = 0;
    let reportedSkip = false;
    toEncode = mapAsync(
      pipeBidi('inpaint', clients.inpaint.refine(callOptions(o)), refineFirst, mapAsync(composites, (batch): RefineRequest => ({ payload: { $case: 'batch', value: batch } })), { maxInFlight: o.maxInFlight, signal }),
      (response) => {
        if (response.report && !response.report.refined && !reportedSkip) {
          reportedSkip = true;
          observer.onWarning?.(`refinement skipped: ${response.report.reason || 'unknown reason'}`);
        }
        for (const warning of response.warnings) observer.onWarning?.(`inpaint: ${warning}`);
        refined += response.batch?.frames.length ?? 0;
        observer.onProgress?.('refine', refined, total);
        if (!response.batch) throw new VaneliaError('inpaint', 'PROTOCOL', 'a refine answer carried no frames.', { code: 'INTERNAL' });
        return response.batch;
      },
    );
  } else {
    toEncode = mapAsync(composites, (response): FrameBatch => {
      for (const warning of response.warnings) observer.onWarning?.(`compositor: ${warning}`);
      return { jobId, batchId: response.batchId, frames: response.frames.map((f) => f.composite!) };
    });
  }

  let encoded = 0;
  const encodeInput = mapAsync(
    counted(toEncode, (n) => {
      encoded += n;
      observer.onProgress?.('encode', encoded, total);
    }),
    (batch): EncodeRequest => ({ payload: { $case: 'batch', value: batch } }),
  );
  const encode = await pipeClientStream<EncodeRequest, EncodeResponse>(
    'decoder',
    (cb) => clients.decoder.encode(callOptions(o), cb),
    { payload: { $case: 'config', value: { jobId, outputPath: paths.output, video, audioSourcePath: video.hasAudio ? paths.video : '', crf: 0, preset: '', frameFormat: PixelFormat.PIXEL_FORMAT_I420 } } },
    encodeInput,
    signal,
  );
  if (encode.frameCount !== total) {
    observer.onWarning?.(`encoded ${encode.frameCount} frames; the source reported ${total}`);
  }
  return { video, encode, track };
}
