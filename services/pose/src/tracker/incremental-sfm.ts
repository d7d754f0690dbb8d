import { VaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import { findFundamentalRansac } from '../geometry/fundamental-matrix';
import { essentialFromFundamental, intrinsicsMatrix, recoverRelativePose } from '../geometry/essential-matrix';
import { triangulateViews, triangulationAngle, type TriangulationView } from '../geometry/triangulation';
import { bundleAdjust, type BundleProblem } from './bundle-adjustment';
import { cameraCentre, normalizePixel, projectPoint, type CameraPose, type RadialIntrinsics } from './camera-model';
import { searchFocal } from './focal-search';
import { selectKeyframes } from './keyframes';
import { interpolatePose } from './pose-interpolation';
import { refinePose } from './pose-refine';
import { correspondences, observation, observes, tracksInFrame, type TrackTable } from './track-table';
import { withDefaults } from '../options';

export interface SfmOptions {
  /** Known focal length at the working resolution (pixels); 0 = estimate it. */
  focalPx?: number;
  /** Focal (as a multiple of the larger side) used when the footage does not constrain it. */
  fallbackFocalFactor?: number;
  /** Refine the focal length in bundle adjustment (ignored when focalPx is given). */
  refineFocal?: boolean;
  /** Refine one radial distortion coefficient in the final bundle adjustment. */
  refineDistortion?: boolean;
  /** Keyframe spacing: median feature displacement (pixels) between keyframes. */
  keyframeParallaxPx?: number;
  /** Smallest ray angle (degrees) for a new 3D point. */
  minTriangulationDeg?: number;
  /** Reprojection error (pixels) above which an observation is rejected. */
  maxReprojectionPx?: number;
  /** Huber threshold of the bundle adjustments (pixels). */
  huberPx?: number;
  /** Keyframes refined by each local bundle adjustment. */
  localWindow?: number;
}

export const SFM_DEFAULTS: Required<SfmOptions> = {
  focalPx: 0,
  fallbackFocalFactor: 0.8,
  refineFocal: true,
  refineDistortion: true,
  keyframeParallaxPx: 20,
  minTriangulationDeg: 1,
  maxReprojectionPx: 3,
  huberPx: 1.5,
  localWindow: 8,
};

export interface SfmResult {
  intrinsics: RadialIntrinsics;
  /** World-to-camera pose of every frame (OpenCV axes); world = first keyframe's camera. */
  poses: CameraPose[];
  /** Per frame: 0..1, the share of its tracked features consistent with the reconstruction. */
  confidence: Float64Array;
  keyframes: number[];
  /** Triangulated points, packed xyz. */
  points: Float64Array;
  /** RMS reprojection error of the keyframe bundle adjustment (pixels). */
  rmsPx: number;
  focalObservable: boolean;
  warnings: string[];
}

/** Reconstruction state shared by the steps below. */
interface State {
  table: TrackTable;
  o: Required<SfmOptions>;
  /** Smallest ray angle (degrees) for new points: the option, lowered for footage with little parallax. */
  minAngleDeg: number;
  intr: RadialIntrinsics;
  poses: (CameraPose | null)[];
  point: Float64Array;
  hasPoint: Uint8Array;
  logger: Logger;
}

/**
 * Incremental structure from motion over feature tracks: keyframes, focal self-calibration, two-view
 * initialisation (essential matrix), then keyframes registered in order by robust PnP with new points
 * triangulated and local bundle adjustment, a final global bundle adjustment with intrinsics, and the
 * remaining frames registered against the map. Yields to the event loop between keyframes.
 */
export async function reconstructIncremental(table: TrackTable, options: SfmOptions = {}, logger: Logger = silentLogger, signal?: AbortSignal): Promise<SfmResult> {
  const o = withDefaults(SFM_DEFAULTS, options);
  if (table.frameCount < 2) throw new VaneliaError('pose', 'TOO_FEW_FRAMES', `the tracker needs at least 2 frames, got ${table.frameCount}.`);
  const warnings: string[] = [];
  const keyframes = selectKeyframes(table, { minParallaxPx: o.keyframeParallaxPx });
  const cx = table.widthPx / 2;
  const cy = table.heightPx / 2;
  const larger = Math.max(table.widthPx, table.heightPx);

  // Focal: given, self-calibrated from keyframe pairs, or a typical field of view.
  let focalObservable = o.focalPx > 0;
  let focalPx = o.focalPx;
  if (!(focalPx > 0)) {
    const pairs = [];
    for (let i = 0; i + 1 < keyframes.length; i++) {
      for (const j of [i + 1, i + 2]) {
        if (j >= keyframes.length) continue;
        const { xa, xb } = correspondences(table, keyframes[i], keyframes[j]);
        const fit = xa.length >= 32 ? findFundamentalRansac(xa, xb, { thresholdPx: 1, seed: i + 7 * j }) : null;
        if (fit && fit.inlierCount >= 30) pairs.push({ fundamental: fit.fundamental, weight: fit.inlierCount });
      }
    }
    const estimate = searchFocal(pairs, cx, cy, larger);
    focalObservable = estimate.observable;
    focalPx = estimate.observable ? estimate.focalPx : o.fallbackFocalFactor * larger;
    if (!estimate.observable) warnings.push('the camera motion does not constrain the focal length well; it was refined from a typical field of view');
  }
  const state: State = {
    table,
    o,
    intr: { focalPx, cxPx: cx, cyPx: cy, k1: 0 },
    poses: new Array(table.frameCount).fill(null),
    point: new Float64Array(3 * table.first.length),
    hasPoint: new Uint8Array(table.first.length),
    minAngleDeg: o.minTriangulationDeg,
    logger,
  };
  logger.debug('sfm start', { keyframes: keyframes.length, focalPx, focalObservable });

  const second = initialize(state, keyframes);
  const registered = [keyframes[0], second];
  const unplaced: number[] = [];
  for (const kf of keyframes) {
    if (registered.includes(kf)) continue;
    await pause(signal);
    if (!registerFrame(state, kf, registered)) {
      unplaced.push(kf);
      continue;
    }
    registered.push(kf);
    registered.sort((a, b) => a - b);
    triangulateNew(state, registered, kf);
    // Local refinement of the keyframes nearest the new one; the first keyframe stays fixed (gauge).
    const recent = registered.filter((f) => f !== keyframes[0]).sort((a, b) => Math.abs(a - kf) - Math.abs(b - kf)).slice(0, o.localWindow);
    runBundle(state, registered, recent, false);
  }

  if (registered.length < Math.max(2, 0.6 * keyframes.length)) {
    throw new VaneliaError('pose', 'TRACKING_FAILED', `the tracker placed only ${registered.length} of ${keyframes.length} keyframes; the footage may be too dynamic, blurred or lack parallax.`, { code: 'FAILED_PRECONDITION' });
  }
  const refineFocal = o.refineFocal && !(o.focalPx > 0);
  // Distortion and focal trade off against each other when the motion does not pin the focal down.
  const refineDistortion = o.refineDistortion && focalObservable;
  // Global refinement: poses and focal first, then with distortion, rejecting outliers between rounds.
  let rmsPx = 0;
  for (let round = 0; round < 4; round++) {
    await pause(signal);
    const free = registered.filter((f) => f !== keyframes[0]);
    rmsPx = runBundle(state, registered, free, refineFocal, refineDistortion && round > 0, 60);
    const rejected = rejectOutliers(state, registered);
    triangulateAll(state, registered);
    if (rejected === 0 && (round > 0 || !refineDistortion)) break;
  }
  if (!(state.intr.focalPx > 0.05 * larger && state.intr.focalPx < 20 * larger)) {
    throw new VaneliaError('pose', 'TRACKING_FAILED', 'the tracker could not calibrate the camera (focal length diverged); the footage may lack parallax.', { code: 'FAILED_PRECONDITION' });
  }

  // Every other frame against the final map, starting from the interpolated keyframe poses.
  const confidence = new Float64Array(table.frameCount);
  const keySet = new Set(registered);
  const interpolated: number[] = [];
  for (let f = 0; f < table.frameCount; f++) {
    const guess = interpolatePose(state.poses, f);
    if (!guess) continue;
    const result = localizeFrame(state, f, guess);
    if (keySet.has(f)) {
      confidence[f] = result ? result.inlierCount / Math.max(1, result.total) : 0;
    } else if (result && result.inlierCount >= 8) {
      state.poses[f] = result.pose;
      confidence[f] = result.inlierCount / Math.max(1, result.total);
    } else {
      state.poses[f] = guess;
      interpolated.push(f);
    }
  }
  if (unplaced.length > 0) warnings.push(`${unplaced.length} keyframe(s) could not be placed against the map (${listFrames(unplaced)})`);
  if (interpolated.length > 0) warnings.push(`${interpolated.length} frame(s) were interpolated between their neighbours (${listFrames(interpolated)})`);
  const poses = state.poses.map((p, f) => {
    if (p) return p;
    throw new VaneliaError('pose', 'TRACKING_FAILED', `frame ${f} could not be placed: the tracker lost the camera.`, { code: 'FAILED_PRECONDITION' });
  });
  const pts: number[] = [];
  for (let t = 0; t < state.hasPoint.length; t++) if (state.hasPoint[t]) pts.push(state.point[3 * t], state.point[3 * t + 1], state.point[3 * t + 2]);
  return { intrinsics: state.intr, poses, confidence, keyframes: registered, points: Float64Array.from(pts), rmsPx, focalObservable, warnings };
}

/** Lets the event loop run (health checks, cancellation) between steps; throws once `signal` aborts. */
async function pause(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new VaneliaError('pose', 'CANCELLED', 'tracking was cancelled.', { code: 'CANCELLED' });
}

/** "frames 3, 7, 12": the first few frame numbers, for warnings. */
function listFrames(frames: number[]): string {
  return frames.length <= 8 ? `frames ${frames.join(', ')}` : `frames ${frames.slice(0, 8).join(', ')}, …`;
}

/** Two-view start: the first keyframe and a later one with enough parallax; returns the second's frame. */
function initialize(state: State, keyframes: number[]): number {
  const { table, intr } = state;
  const k = intrinsicsMatrix(intr.focalPx, intr.cxPx, intr.cyPx);
  const f0 = keyframes[0];
  let best: { frame: number; pose: CameraPose; ids: number[]; angle: number } | null = null;
  for (const f1 of keyframes.slice(1, 30)) {
    const { ids, xa, xb } = correspondences(table, f0, f1);
    if (ids.length < 30) break;
    const fit = findFundamentalRansac(xa, xb, { thresholdPx: 1, seed: f1 + 1 });
    if (!fit || fit.inlierCount < 30) continue;
    const inliers = ids.map((_, i) => i).filter((i) => fit.inlierMask[i]);
    const n1 = normalized(intr, xa);
    const n2 = normalized(intr, xb);
    const { pose: rel } = recoverRelativePose(essentialFromFundamental(fit.fundamental, k, k), n1, n2, inliers);
    const pose: CameraPose = { rotation: rel.rotation, translation: Float64Array.from(rel.translation) };
    const identity: CameraPose = { rotation: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), translation: new Float64Array(3) };
    const angles: number[] = [];
    const c1 = cameraCentre(pose);
    for (const i of inliers) {
      const x = triangulateViews([
        { rotation: identity.rotation, translation: identity.translation, x: n1[2 * i], y: n1[2 * i + 1] },
        { rotation: pose.rotation, translation: pose.translation, x: n2[2 * i], y: n2[2 * i + 1] },
      ]);
      if (x) angles.push(triangulationAngle(x, [0, 0, 0], c1));
    }
    angles.sort((a, b) => a - b);
    const angle = angles.length ? (angles[angles.length >> 1] * 180) / Math.PI : 0;
    if (!best || angle > best.angle) best = { frame: f1, pose, ids: inliers.map((i) => ids[i]), angle };
    if (angle >= 2 * state.o.minTriangulationDeg) break;
  }
  if (!best) {
    throw new VaneliaError('pose', 'TRACKING_FAILED', 'the tracker found no pair of frames to start from (too little texture or motion).', { code: 'FAILED_PRECONDITION' });
  }
  state.poses[f0] = { rotation: Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), translation: new Float64Array(3) };
  state.poses[best.frame] = best.pose;
  // Panning footage (mostly rotation) has little parallax: accept flatter rays rather than no points.
  state.minAngleDeg = Math.min(state.o.minTriangulationDeg, 0.4 * best.angle);
  // The focal guess may be off, so the first points are taken on cheirality alone, refined together with
  // the focal length, and only then held to the reprojection threshold.
  const pair = [f0, best.frame];
  triangulateAll(state, pair, Number.POSITIVE_INFINITY);
  const refineFocal = state.o.refineFocal && !(state.o.focalPx > 0);
  for (let round = 0; round < 2; round++) {
    runBundle(state, pair, [best.frame], refineFocal, false, 30);
    rejectOutliers(state, pair, round === 0 ? 4 * state.o.maxReprojectionPx : state.o.maxReprojectionPx);
  }
  state.logger.debug('sfm initialised', { frames: pair, medianAngleDeg: best.angle, points: state.hasPoint.reduce((a, b) => a + b, 0), focalPx: state.intr.focalPx });
  return best.frame;
}

function normalized(intr: RadialIntrinsics, pixels: Float64Array): Float64Array {
  const out = new Float64Array(pixels.length);
  const tmp = new Float64Array(2);
  for (let i = 0; i < pixels.length; i += 2) {
    normalizePixel(intr, pixels[i], pixels[i + 1], tmp);
    out[i] = tmp[0];
    out[i + 1] = tmp[1];
  }
  return out;
}

/** Correspondences of frame f with triangulated tracks, as refinePose takes them. */
function mapMatches(state: State, f: number): { ids: number[]; pixels: Float64Array; total: number } {
  const all = tracksInFrame(state.table, f);
  const ids = all.filter((t) => state.hasPoint[t]);
  const pixels = new Float64Array(2 * ids.length);
  ids.forEach((t, k) => pixels.set(observation(state.table, t, f), 2 * k));
  return { ids, pixels, total: all.length };
}

function localizeFrame(state: State, f: number, guess: CameraPose) {
  const { ids, pixels, total } = mapMatches(state, f);
  if (ids.length < 6) return null;
  const result = refinePose(state.intr, guess, state.point, ids.map((t) => t), pixels, { huberPx: state.o.huberPx, inlierPx: state.o.maxReprojectionPx });
  return { ...result, total };
}

/** Registers keyframe f by robust PnP from the nearest registered pose (extrapolated at constant velocity). */
function registerFrame(state: State, f: number, registered: number[]): boolean {
  const guess = interpolatePose(state.poses, f);
  if (!guess) return false;
  const result = localizeFrame(state, f, guess);
  if (!result || result.inlierCount < 12) return false;
  state.poses[f] = result.pose;
  // Drop this frame's observations that disagree with the map.
  const { ids } = mapMatches(state, f);
  ids.forEach((t, k) => {
    if (!result.inlierMask[k]) state.table.rejected[t][f - state.table.first[t]] = 1;
  });
  return true;
}

/** Triangulates tracks seen in `frame` (and other registered frames) that have no point yet. */
function triangulateNew(state: State, registered: number[], frame: number): void {
  for (const t of tracksInFrame(state.table, frame)) if (!state.hasPoint[t]) triangulateTrack(state, registered, t);
}

function triangulateAll(state: State, registered: number[], maxErrorPx = state.o.maxReprojectionPx): void {
  for (let t = 0; t < state.hasPoint.length; t++) if (!state.hasPoint[t]) triangulateTrack(state, registered, t, maxErrorPx);
}

/** DLT over the track's registered observations, accepted with enough ray angle and small reprojection errors. */
function triangulateTrack(state: State, registered: number[], t: number, maxErrorPx = state.o.maxReprojectionPx): void {
  const { table, intr, o } = state;
  const frames = registered.filter((f) => observes(table, t, f));
  if (frames.length < 2) return;
  const tmp = new Float64Array(2);
  const views: TriangulationView[] = frames.map((f) => {
    const [u, v] = observation(table, t, f);
    normalizePixel(intr, u, v, tmp);
    const pose = state.poses[f]!;
    return { rotation: pose.rotation, translation: pose.translation, x: tmp[0], y: tmp[1] };
  });
  const x = triangulateViews(views);
  if (!x) return;
  const angle = triangulationAngle(x, cameraCentre(state.poses[frames[0]]!), cameraCentre(state.poses[frames[frames.length - 1]]!));
  if ((angle * 180) / Math.PI < state.minAngleDeg) return;
  for (const f of frames) {
    if (!projectPoint(intr, state.poses[f]!, x, 0, tmp)) return;
    const [u, v] = observation(table, t, f);
    if (Math.hypot(tmp[0] - u, tmp[1] - v) > maxErrorPx) return;
  }
  state.point.set(x, 3 * t);
  state.hasPoint[t] = 1;
}

/** Bundle adjustment over `frames` (registered), refining the poses of `free`; returns the RMS error. */
function runBundle(state: State, frames: number[], free: number[], refineFocal: boolean, refineDistortion = false, maxIterations = 15): number {
  const { table } = state;
  const camOf = new Map(frames.map((f, i) => [f, i]));
  const freeSet = new Set(free);
  const pointOf = new Map<number, number>();
  const obsCamera: number[] = [];
  const obsPoint: number[] = [];
  const obsPixel: number[] = [];
  const tracks: number[] = [];
  for (let t = 0; t < state.hasPoint.length; t++) {
    if (!state.hasPoint[t]) continue;
    const seen = frames.filter((f) => observes(table, t, f));
    if (seen.length < 2 || !seen.some((f) => freeSet.has(f))) continue;
    pointOf.set(t, tracks.length);
    tracks.push(t);
    for (const f of seen) {
      obsCamera.push(camOf.get(f)!);
      obsPoint.push(tracks.length - 1);
      obsPixel.push(...observation(table, t, f));
    }
  }
  if (tracks.length === 0) return 0;
  const points = new Float64Array(3 * tracks.length);
  tracks.forEach((t, j) => points.set(state.point.subarray(3 * t, 3 * t + 3), 3 * j));
  const problem: BundleProblem = {
    intrinsics: state.intr,
    poses: frames.map((f) => state.poses[f]!),
    points,
    obsCamera: Int32Array.from(obsCamera),
    obsPoint: Int32Array.from(obsPoint),
    obsPixel: Float64Array.from(obsPixel),
    fixedCameras: Uint8Array.from(frames.map((f) => (freeSet.has(f) ? 0 : 1))),
  };
  const report = bundleAdjust(problem, { maxIterations, huberPx: state.o.huberPx, refineFocal, refineDistortion });
  tracks.forEach((t, j) => state.point.set(points.subarray(3 * j, 3 * j + 3), 3 * t));
  return report.rmsPx;
}

/** Flags observations with large reprojection errors; points left with fewer than 2 views are dropped. */
function rejectOutliers(state: State, registered: number[], maxErrorPx = state.o.maxReprojectionPx): number {
  const { table, intr } = state;
  const tmp = new Float64Array(2);
  let count = 0;
  for (let t = 0; t < state.hasPoint.length; t++) {
    if (!state.hasPoint[t]) continue;
    let kept = 0;
    for (const f of registered) {
      if (!observes(table, t, f)) continue;
      const [u, v] = observation(table, t, f);
      const ok = projectPoint(intr, state.poses[f]!, state.point, 3 * t, tmp) && Math.hypot(tmp[0] - u, tmp[1] - v) <= maxErrorPx;
      if (ok) kept++;
      else {
        table.rejected[t][f - table.first[t]] = 1;
        count++;
      }
    }
    if (kept < 2) state.hasPoint[t] = 0;
  }
  return count;
}
