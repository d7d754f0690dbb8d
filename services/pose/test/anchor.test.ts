import { describe, expect, it } from 'vitest';
import { computeAnchor } from '../src/anchor';
import type { CameraTrackData } from '../src/camera-track';
import { mat4InvertRigid, mat4TransformPoint } from '../src/geometry/mat4';
import { createRng } from '../src/geometry/random';
import { syntheticVideo } from './fixtures/synthetic-scene';

/** The synthetic video's exact cameras with scene points: a floor (y = 0) and clutter above it, all scaled. */
function sceneTrack(scale: number): { track: CameraTrackData; pixelOf: (p: number[]) => [number, number] } {
  const video = syntheticVideo(12, 640, 360);
  const rng = createRng(9);
  const pts: number[] = [];
  for (let i = 0; i < 1500; i++) pts.push((rng() * 5 - 2.5) * scale, 0.002 * (rng() - 0.5) * scale, rng() * 6 * scale);
  for (let i = 0; i < 600; i++) pts.push((rng() * 1.5 - 1) * scale, rng() * 0.9 * scale, (rng() * 2.5 + 1.5) * scale);
  const cameras = video.cameras.map((c, frameIndex) => {
    const m = Float64Array.from(c.cameraToWorldOpenCv);
    for (const k of [3, 7, 11]) m[k] *= scale;
    return { frameIndex, intrinsics: { fxPx: video.focalPx, fyPx: video.focalPx, cxPx: 320, cyPx: 180, widthPx: 640, heightPx: 360 }, cameraToWorldOpenCv: m, confidence: 1 };
  });
  const track: CameraTrackData = { cameras, backend: 'tracker', warnings: [], points: Float64Array.from(pts) };
  const pixelOf = (p: number[]): [number, number] => {
    const q = mat4TransformPoint(mat4InvertRigid(cameras[0].cameraToWorldOpenCv), p.map((v) => v * scale));
    return [video.focalPx * (q[0] / q[2]) + 320, video.focalPx * (q[1] / q[2]) + 180];
  };
  return { track, pixelOf };
}

describe('placement anchor', () => {
  it('puts the anchor on the floor under the chosen pixel, up = world up, despite clutter nearby', () => {
    const { track, pixelOf } = sceneTrack(1);
    const pixel = pixelOf([-1.2, 0, 1.0]);
    const anchor = computeAnchor(track, { frameIndex: 0, pixel });
    expect(Array.from(anchor.upWorld)).toEqual([0, 1, 0].map((v) => expect.closeTo(v, 2)));
    expect(Array.from(anchor.pointWorld)).toEqual([-1.2, 0, 1.0].map((v) => expect.closeTo(v, 2)));
    expect(anchor.planeOffset).toBeCloseTo(0, 2);
    expect([anchor.frameIndex, anchor.pixelX, anchor.pixelY]).toEqual([0, pixel[0], pixel[1]]);
    // Cameras fly about 1.4 units above the floor, taken as 1.4 m.
    expect(anchor.metresPerUnit).toBeGreaterThan(0.93);
    expect(anchor.metresPerUnit).toBeLessThan(1.07);
  });

  it('defaults to the first frame centre and gets the metric scale from the camera height', () => {
    const { track } = sceneTrack(2.5);
    const anchor = computeAnchor(track, { productHeightM: 0.3 });
    expect(anchor.pixelX).toBe(320);
    expect(anchor.pixelY).toBe(180);
    // Cameras fly about 1.4 m above the floor (×2.5 world units): 1.4 m / 3.5 units.
    expect(anchor.metresPerUnit).toBeGreaterThan(0.37);
    expect(anchor.metresPerUnit).toBeLessThan(0.43);
    // Up always faces the cameras, whatever sign the fit gave.
    const centre = [track.cameras[0].cameraToWorldOpenCv[3], track.cameras[0].cameraToWorldOpenCv[7], track.cameras[0].cameraToWorldOpenCv[11]];
    expect(anchor.upWorld[0] * centre[0] + anchor.upWorld[1] * centre[1] + anchor.upWorld[2] * centre[2] + anchor.planeOffset).toBeGreaterThan(0);
  });

  it('refuses a "plane" of points smeared along their rays (no parallax) instead of standing the product on it', () => {
    const { track } = sceneTrack(1);
    const c2w = track.cameras[0].cameraToWorldOpenCv;
    const rng = createRng(4);
    const pts: number[] = [];
    // Points along rays near the optical axis, in one vertical fan through the camera centre.
    for (let i = 0; i < 400; i++) {
      const depth = 1 + 8 * rng();
      const p = mat4TransformPoint(c2w, [(rng() - 0.5) * 0.2 * depth, 0.001 * (rng() - 0.5) * depth, depth]);
      pts.push(p[0], p[1], p[2]);
    }
    expect(() => computeAnchor({ ...track, points: Float64Array.from(pts) })).toThrow(/pose: the points around pixel \(320, 180\) do not form a surface in front of the camera/);
  });

  it('rejects placements outside the video or the frame, and tracks without points', () => {
    const { track } = sceneTrack(1);
    expect(() => computeAnchor(track, { frameIndex: 40 })).toThrow(/pose: placement frame 40 is outside the video's 12 frames/);
    expect(() => computeAnchor(track, { pixel: [700, 10] })).toThrow(/pose: placement pixel \(700, 10\) is outside the 640x360 frame/);
    expect(() => computeAnchor({ ...track, points: undefined })).toThrow(/pose: the camera track has no scene points/);
  });
});
