import type { ProviderConfig } from '@vanelia/onnx';
import type { DepthMap, Frame, FrameCamera } from '@vanelia/proto';
import { silentLogger, VaneliaError, type Logger } from '@vanelia/runtime';
import { DUST3R_LONG_SIDE_PX } from './contract';
import { BestViewKeeper } from './dense-depth';
import { isDust3rInstalled, loadDust3rModels, type Dust3rModels } from './dust3r-models';
import { alignGloballyAsync, type GlobalAlignmentOptions } from './global-alignment';
import { batchPairs, DEFAULT_PAIR_BATCH_SIZE } from './pair-batches';
import { decodeBatch, encodeImages, type FrameFeatures } from './pair-inference';
import { observePair, sampleGrid, type PairObservation } from './pair-observations';
import { depthOverFrame, intrinsicsAtOriginal, modelGeometry, preprocessFrame, type ModelGeometry } from './preprocess';
import { DEFAULT_SCENE_GRAPH, makePairs, pairsConnectAll, parseSceneGraph } from './scene-graph';

export interface Dust3rBackendOptions {
  /** Folder with dust3r_encoder.onnx and dust3r_decoder.onnx. */
  modelDir?: string;
  /** Execution providers, tried in order (default ['cpu']). */
  provider?: ProviderConfig | readonly ProviderConfig[];
  /** DUSt3R scene graph: complete, swin-K[-noncyclic], logwin-K[-noncyclic], oneref-R (default swin-4-noncyclic). */
  sceneGraph?: string;
  /** Pairs per decoder run (default 8; a decoder exported with a fixed batch uses its own). */
  pairBatchSize?: number;
  /** Frames per encoder run when the encoder's batch is not fixed (default 4). */
  encoderBatchSize?: number;
  /** Sample pixels per frame used by the global alignment (default 512). */
  samplesPerFrame?: number;
  /** Long side of the model input (default 512, DUSt3R's 512 models). */
  longSidePx?: number;
  /** Global alignment settings. */
  alignment?: GlobalAlignmentOptions;
  logger?: Logger;
}

export const DUST3R_BACKEND_DEFAULTS: Required<Omit<Dust3rBackendOptions, 'alignment' | 'logger'>> = {
  modelDir: '',
  provider: ['cpu'],
  sceneGraph: DEFAULT_SCENE_GRAPH,
  pairBatchSize: DEFAULT_PAIR_BATCH_SIZE,
  encoderBatchSize: 4,
  samplesPerFrame: 512,
  longSidePx: DUST3R_LONG_SIDE_PX,
};

export interface TrackProgressEvent {
  step: 'features' | 'pairs' | 'alignment';
  done: number;
  total: number;
}

export interface Dust3rTrackOptions {
  /** Return dense depth maps (for occlusion). */
  wantDepth?: boolean;
  /** Overrides the backend's scene graph for this call ("" keeps it). */
  sceneGraph?: string;
  /** Overrides the backend's pair batch size for this call (0 keeps it). */
  pairBatchSize?: number;
  onProgress?: (event: TrackProgressEvent) => void;
  signal?: AbortSignal;
}

export interface Dust3rTrackResult {
  backend: 'dust3r';
  /** One camera per input frame, in input order; intrinsics at the original frame size. */
  cameras: FrameCamera[];
  /** Dense depth per frame over the whole frame at DUSt3R's scale (empty unless asked). */
  depthMaps: DepthMap[];
  warnings: string[];
  /** Wall time of each step, milliseconds. */
  timingsMs: { features: number; pairs: number; alignment: number };
  pairCount: number;
}

export interface Dust3rBackend {
  readonly name: 'dust3r';
  /** Whether the model files are there. */
  isInstalled(): boolean;
  /** Loads both sessions and checks the contract now (health checks wait for it); track() loads them on first use otherwise. */
  load(): Promise<void>;
  /**
   * Cameras (and depth) for the frames of one video, in order. Frames may arrive as a stream: each is
   * resized and encoded as it comes, so only its features stay in memory.
   */
  track(frames: Iterable<Frame> | AsyncIterable<Frame>, options?: Dust3rTrackOptions): Promise<Dust3rTrackResult>;
  /** Releases the ONNX sessions. */
  close(): Promise<void>;
}

function resolve(options: Dust3rBackendOptions): Required<Omit<Dust3rBackendOptions, 'alignment' | 'logger'>> {
  const out = { ...DUST3R_BACKEND_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined && k !== 'alignment' && k !== 'logger') (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Frames resized at once before encoding. */
const PREPROCESS_WINDOW = 8;

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new VaneliaError('pose', 'CANCELLED', 'tracking was cancelled.', { code: 'CANCELLED' });
}

/** Frame confidence: the pointmap's median confidence mapped to 0..1, lowered by the alignment residual. */
function frameConfidence(medianConf: number, relativeResidual: number): number {
  const fromConf = medianConf > 1 ? 1 - 1 / medianConf : 0;
  const fromResidual = Number.isFinite(relativeResidual) ? 1 / (1 + relativeResidual / 0.02) : 0;
  return Math.min(1, Math.max(0, fromConf * fromResidual));
}

/**
 * The DUSt3R camera backend: frames → model inputs → encoder once per frame (features cached) → decoder over
 * the scene graph's pairs in same-size batches → global alignment → per-frame intrinsics, camera-to-world
 * (OpenCV) and confidence, plus dense depth on request.
 */
export function createDust3rBackend(options: Dust3rBackendOptions = {}): Dust3rBackend {
  const o = resolve(options);
  const logger = options.logger ?? silentLogger;
  const providers = (Array.isArray(o.provider) ? o.provider : [o.provider]) as ProviderConfig[];
  parseSceneGraph(o.sceneGraph);
  let models: Promise<Dust3rModels> | undefined;

  const ensureModels = (): Promise<Dust3rModels> => {
    models ??= loadDust3rModels(o.modelDir, providers).catch((error) => {
      models = undefined;
      throw error;
    });
    return models;
  };

  /** Encodes frames as they come, a window at a time (resizing runs on sharp's thread pool). */
  async function encodeFrames(m: Dust3rModels, frames: Iterable<Frame> | AsyncIterable<Frame>, total: number, signal?: AbortSignal, onProgress?: Dust3rTrackOptions['onProgress']) {
    const features: FrameFeatures[] = [];
    const indices: number[] = [];
    let geometry: ModelGeometry | undefined;
    let window: Frame[] = [];
    const flush = async (g: ModelGeometry): Promise<void> => {
      const shape = { heightPx: g.heightPx, widthPx: g.widthPx };
      const chunk = m.shapes.encoderBatch ?? o.encoderBatchSize;
      const images = await Promise.all(window.map((f) => preprocessFrame(f, g)));
      window = [];
      for (let at = 0; at < images.length; at += chunk) {
        checkAborted(signal);
        features.push(...(await encodeImages(m, images.slice(at, at + chunk), shape, chunk)));
        onProgress?.({ step: 'features', done: features.length, total });
      }
    };
    for await (const frame of frames) {
      checkAborted(signal);
      if (!geometry) {
        geometry = modelGeometry(frame.widthPx, frame.heightPx, o.longSidePx);
        if ((m.shapes.heightPx !== undefined && m.shapes.heightPx !== geometry.heightPx) || (m.shapes.widthPx !== undefined && m.shapes.widthPx !== geometry.widthPx)) {
          throw new VaneliaError('pose', 'MODEL_SIZE_MISMATCH', `the DUSt3R encoder was exported for ${m.shapes.widthPx}x${m.shapes.heightPx} inputs, but ${frame.widthPx}x${frame.heightPx} frames need ${geometry.widthPx}x${geometry.heightPx}; export it for that size (or with dynamic axes).`, {
            code: 'FAILED_PRECONDITION',
          });
        }
      }
      window.push(frame);
      indices.push(frame.index);
      if (window.length >= PREPROCESS_WINDOW) await flush(geometry);
    }
    if (geometry && window.length > 0) await flush(geometry);
    return { features, indices, geometry };
  }

  async function track(frames: Iterable<Frame> | AsyncIterable<Frame>, call: Dust3rTrackOptions = {}): Promise<Dust3rTrackResult> {
    const sceneGraph = call.sceneGraph || o.sceneGraph;
    const batchSize = call.pairBatchSize || o.pairBatchSize;
    parseSceneGraph(sceneGraph);
    const m = await ensureModels();
    const warnings: string[] = [];
    const progress = (step: TrackProgressEvent['step'], done: number, total: number): void => call.onProgress?.({ step, done, total });
    const t0 = performance.now();
    const total = Array.isArray(frames) ? frames.length : 0;
    const { features, indices, geometry } = await encodeFrames(m, frames, total, call.signal, call.onProgress);
    if (!geometry || indices.length < 2) {
      throw new VaneliaError('pose', 'TOO_FEW_FRAMES', `DUSt3R needs at least 2 frames, got ${indices.length}.`);
    }
    const t1 = performance.now();
    const frameCount = indices.length;

    const pairs = makePairs(sceneGraph, frameCount);
    if (!pairsConnectAll(pairs, frameCount)) {
      throw new VaneliaError('pose', 'DISCONNECTED_PAIRS', `scene graph "${sceneGraph}" does not connect all ${frameCount} frames.`);
    }
    const shape = { heightPx: geometry.heightPx, widthPx: geometry.widthPx };
    const decoderBatch = m.shapes.decoderBatch ?? batchSize;
    if (m.shapes.decoderBatch !== undefined && m.shapes.decoderBatch !== batchSize) {
      warnings.push(`the DUSt3R decoder was exported with a fixed batch of ${m.shapes.decoderBatch} pairs; used it instead of ${batchSize}`);
    }
    const batches = batchPairs(pairs, () => shape, decoderBatch);
    const grids = indices.map(() => sampleGrid(shape, o.samplesPerFrame));
    const observations: PairObservation[] = [];
    const keeper = new BestViewKeeper();
    for (const batch of batches) {
      checkAborted(call.signal);
      for (const prediction of await decodeBatch(m, batch, features)) {
        const observation = observePair(prediction, grids);
        if (call.wantDepth) keeper.offer(observations.length, prediction, observation.score);
        else keeper.offer(observations.length, { ...prediction, pts1: new Float32Array(0), conf1: prediction.conf1 }, observation.score);
        observations.push(observation);
      }
      progress('pairs', observations.length, pairs.length);
    }
    const t2 = performance.now();

    checkAborted(call.signal);
    progress('alignment', 0, 1);
    const aligned = await alignGloballyAsync(grids, observations, options.alignment, call.signal);
    progress('alignment', 1, 1);
    const t3 = performance.now();
    logger.info('dust3r alignment', { frames: frameCount, pairs: pairs.length, initialLoss: aligned.initialLoss, finalLoss: aligned.finalLoss, iterations: aligned.iterations });

    const cameras: FrameCamera[] = aligned.cameras.map((camera, n) => ({
      frameIndex: indices[n],
      intrinsics: intrinsicsAtOriginal(camera.focalPx, geometry),
      cameraToWorldOpencv: Array.from(camera.cameraToWorldOpenCv),
      confidence: frameConfidence(keeper.medianConfidence(n), aligned.relativeResidual[n]),
    }));
    const depthMaps: DepthMap[] = [];
    if (call.wantDepth) {
      for (let n = 0; n < frameCount; n++) {
        const depth = keeper.depth(n, aligned.state);
        if (!depth) continue;
        const full = depthOverFrame(depth, geometry);
        depthMaps.push({ frameIndex: indices[n], widthPx: full.widthPx, heightPx: full.heightPx, depthF32: Buffer.from(full.depth.buffer) });
      }
    }
    return {
      backend: 'dust3r',
      cameras,
      depthMaps,
      warnings,
      timingsMs: { features: t1 - t0, pairs: t2 - t1, alignment: t3 - t2 },
      pairCount: pairs.length,
    };
  }

  return {
    name: 'dust3r',
    isInstalled: () => isDust3rInstalled(o.modelDir),
    load: async () => {
      await ensureModels();
    },
    track,
    close: async () => {
      const loaded = models;
      models = undefined;
      if (loaded) await (await loaded).release();
    },
  };
}
