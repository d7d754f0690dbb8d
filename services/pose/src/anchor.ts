import { VaneliaError } from '@vanelia/runtime';
import type { AnchorData, CameraTrackData } from './camera-track';
import { mat4InvertRigid, mat4Rotation, mat4Translation, mat4TransformPoint } from './geometry/mat4';
import { fitPlaneRansac } from './geometry/plane-ransac';
import { vec3, vec3Dot, vec3Normalize } from './geometry/vec3';
import { withDefaults } from './options';

export interface AnchorRequest {
  /** Frame the user points in (default 0). */
  frameIndex?: number;
  /** Pixel (original resolution, continuous coordinates); default the frame's centre. */
  pixel?: readonly [number, number];
  /** Real height of the product in metres (0: the file's own size); the compositor scales the product to it. */
  productHeightM?: number;
}

export interface AnchorOptions {
  /** Smallest number of scene points used for the plane; the search window grows until it has them. */
  minPoints?: number;
  /** First search radius around the pixel, as a fraction of the image diagonal (doubles up to 0.5). */
  startRadius?: number;
  /** Plane inlier distance as a fraction of the median depth of the selected points. */
  inlierFraction?: number;
  /**
   * Height of the camera above the supporting plane assumed for the metric scale (metres): a video
   * alone has no absolute scale, so metres per unit = this height / the cameras' median height.
   */
  cameraHeightM?: number;
}

export const ANCHOR_DEFAULTS: Required<AnchorOptions> = { minPoints: 40, startRadius: 0.08, inlierFraction: 0.01, cameraHeightM: 1.4 };

/**
 * The placement anchor: the scene points seen near the chosen pixel, a robust plane through them
 * (RANSAC + least squares), the pixel's ray intersected with that plane, and the plane normal turned
 * towards the camera as "up". Needs scene points (`track.points` or `points`) in world coordinates.
 */
export function computeAnchor(track: CameraTrackData, request: AnchorRequest = {}, options: AnchorOptions = {}, points = track.points): AnchorData {
  const o = withDefaults(ANCHOR_DEFAULTS, options);
  const frameIndex = request.frameIndex ?? 0;
  const cam = track.cameras[frameIndex];
  if (!cam) throw new VaneliaError('pose', 'INVALID_PLACEMENT', `placement frame ${frameIndex} is outside the video's ${track.cameras.length} frames.`);
  const k = cam.intrinsics;
  const [px, py] = request.pixel ?? [k.widthPx / 2, k.heightPx / 2];
  if (!(px >= 0 && py >= 0 && px <= k.widthPx && py <= k.heightPx)) {
    throw new VaneliaError('pose', 'INVALID_PLACEMENT', `placement pixel (${px}, ${py}) is outside the ${k.widthPx}x${k.heightPx} frame.`);
  }
  if (!points || points.length < 9) {
    throw new VaneliaError('pose', 'NO_SCENE_POINTS', 'the camera track has no scene points to find the supporting plane on.', { code: 'FAILED_PRECONDITION' });
  }

  // Project the points into the chosen frame; keep those in front, sorted by pixel distance.
  const w2c = mat4InvertRigid(cam.cameraToWorldOpenCv);
  const n = points.length / 3;
  const candidates: { i: number; d: number; depth: number }[] = [];
  for (let i = 0; i < n; i++) {
    const p = mat4TransformPoint(w2c, [points[3 * i], points[3 * i + 1], points[3 * i + 2]]);
    if (!(p[2] > 0)) continue;
    const u = k.fxPx * (p[0] / p[2]) + k.cxPx;
    const v = k.fyPx * (p[1] / p[2]) + k.cyPx;
    candidates.push({ i, d: Math.hypot(u - px, v - py), depth: p[2] });
  }
  candidates.sort((a, b) => a.d - b.d);
  const diagonal = Math.hypot(k.widthPx, k.heightPx);
  let radius = o.startRadius * diagonal;
  let chosen = candidates.filter((c) => c.d <= radius);
  while (chosen.length < o.minPoints && radius < 0.5 * diagonal) {
    radius *= 2;
    chosen = candidates.filter((c) => c.d <= radius);
  }
  if (chosen.length < 3) {
    throw new VaneliaError('pose', 'NO_SCENE_POINTS', `too few scene points are visible in frame ${frameIndex} to find the supporting plane.`, { code: 'FAILED_PRECONDITION' });
  }
  const selected = new Float64Array(3 * chosen.length);
  chosen.forEach((c, j) => selected.set(points.subarray(3 * c.i, 3 * c.i + 3), 3 * j));
  const depths = chosen.map((c) => c.depth).sort((a, b) => a - b);
  const medianDepth = depths[depths.length >> 1];
  const plane = fitPlaneRansac(selected, { inlierThreshold: o.inlierFraction * medianDepth, seed: 17 });
  if (!plane) throw new VaneliaError('pose', 'NO_PLANE', `no supporting plane found around pixel (${px}, ${py}).`, { code: 'FAILED_PRECONDITION' });

  // "Up" points to the camera's side of the plane.
  const centre = mat4Translation(cam.cameraToWorldOpenCv);
  let normal = vec3Normalize(plane.normal);
  let offset = plane.offset;
  if (vec3Dot(normal, centre) + offset < 0) {
    normal = vec3(-normal[0], -normal[1], -normal[2]);
    offset = -offset;
  }
  // Intersect the pixel's ray with the plane.
  const r = mat4Rotation(cam.cameraToWorldOpenCv);
  const xn = (px - k.cxPx) / k.fxPx;
  const yn = (py - k.cyPx) / k.fyPx;
  const dir = vec3(r[0] * xn + r[1] * yn + r[2], r[3] * xn + r[4] * yn + r[5], r[6] * xn + r[7] * yn + r[8]);
  const denom = vec3Dot(normal, dir);
  // A plane through (or grazing past) the camera is not a surface but points smeared along their rays,
  // which is what footage without parallax (a pan) gives: refuse it rather than stand the product on it.
  const height = vec3Dot(normal, centre) + offset;
  if (height < 0.05 * medianDepth || Math.abs(denom) < 0.1 * Math.hypot(dir[0], dir[1], dir[2])) {
    throw new VaneliaError('pose', 'NO_PLANE', `the points around pixel (${px}, ${py}) do not form a surface in front of the camera (too little parallax to measure depth there).`, { code: 'FAILED_PRECONDITION' });
  }
  const s = -height / denom;
  if (!(s > 0) || !Number.isFinite(s)) {
    throw new VaneliaError('pose', 'NO_PLANE', `the ray through pixel (${px}, ${py}) does not meet the plane found there (it faces away from the camera).`, { code: 'FAILED_PRECONDITION' });
  }
  const pointWorld = vec3(centre[0] + s * dir[0], centre[1] + s * dir[1], centre[2] + s * dir[2]);

  // Metric scale: the cameras' median height above the plane stands for `cameraHeightM`. Always
  // estimated: without it a product of known size (its file's metres, or the height asked for) would be
  // drawn at the reconstruction's arbitrary unit, anywhere from invisible to filling the frame.
  let metresPerUnit = 0;
  const heights = track.cameras.map((c) => Math.abs(vec3Dot(normal, mat4Translation(c.cameraToWorldOpenCv)) + offset)).sort((a, b) => a - b);
  const h = heights[heights.length >> 1];
  if (h > 0) metresPerUnit = o.cameraHeightM / h;
  return { pointWorld, upWorld: normal, planeOffset: offset, metresPerUnit, frameIndex, pixelX: px, pixelY: py };
}
