import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { computeAnchor } from '../../src/anchor';
import { mat4Translation } from '../../src/geometry/mat4';
import { evaluateTrajectory } from '../../src/geometry/pose-error';
import { importLlffPosesBounds } from '../../src/io/llff';
import { TrackerSession } from '../../src/tracker/tracker-session';

// The weight-free tracker on real footage from ../shared/data. Targets (issue 3) on fern: after a Sim(3)
// alignment to the LLFF (COLMAP) poses, median rotation error < 1° and trajectory RMSE < 2% of the extent.

describe('tracker on real footage', () => {
  it('tracks the LLFF fern photos (real footage, COLMAP poses as ground truth)', async () => {
    const dir = join(sharedDataDir(), 'images-fern-llff');
    const session = new TrackerSession();
    let size = { w: 0, h: 0 };
    for (let i = 0; i < 20; i++) {
      const { data, info } = await sharp(join(dir, 'images_8', `image${String(i).padStart(3, '0')}.png`)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      size = { w: info.width, h: info.height };
      session.push({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), widthPx: info.width, heightPx: info.height, channels: 3 });
    }
    const track = await session.finish();
    const truth = importLlffPosesBounds(readFileSync(join(dir, 'poses_bounds.npy')), { widthPx: size.w, heightPx: size.h });
    const err = evaluateTrajectory(track.cameras.map((c) => c.cameraToWorldOpenCv), truth.cameras.map((c) => c.cameraToWorldOpenCv));
    expect(err.medianRotationErrorDeg).toBeLessThan(1);
    expect(err.rmseRelative).toBeLessThan(0.02);
    // Focal self-calibrated within 5% of COLMAP's (407.6 px at this size).
    expect(Math.abs(track.cameras[0].intrinsics.fxPx / truth.cameras[0].intrinsics.fxPx - 1)).toBeLessThan(0.05);
  });

  it('tracks a real handheld orbit (apple video, no ground truth) into a smooth, upright orbit over the counter', async () => {
    const file = join(sharedDataDir(), 'video-apple-orbit-cotracker', 'apple.mp4');
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 2 ** 30 });
    const size = 1296 * 720 * 3;
    // Tracked at half size (648x360) to keep the test quick; intrinsics still come back at 1296x720.
    const session = new TrackerSession({ workingLongSidePx: 700 });
    for (let i = 0; i < raw.length / size; i++) session.push({ data: new Uint8Array(raw.buffer, raw.byteOffset + i * size, size), widthPx: 1296, heightPx: 720, channels: 3 });
    const track = await session.finish();
    expect(track.cameras).toHaveLength(50);
    // At this size the focal search may call the focal weakly constrained (a warning); nothing else is wrong.
    expect(track.warnings.filter((w) => !w.includes('focal length'))).toEqual([]);
    expect([track.cameras[0].intrinsics.cxPx, track.cameras[0].intrinsics.widthPx]).toEqual([648, 1296]);
    // A phone's field of view: focal between 0.7 and 1.3 times the width.
    expect(track.cameras[0].intrinsics.fxPx / 1296).toBeGreaterThan(0.7);
    expect(track.cameras[0].intrinsics.fxPx / 1296).toBeLessThan(1.3);
    const anchor = computeAnchor(track);
    const centres = track.cameras.map((c) => mat4Translation(c.cameraToWorldOpenCv));
    const steps = centres.slice(1).map((c, i) => Math.hypot(c[0] - centres[i][0], c[1] - centres[i][1], c[2] - centres[i][2]));
    const medianStep = steps.slice().sort((p, q) => p - q)[steps.length >> 1];
    // Smooth: no jump larger than 3 median steps (a lost camera shows up as one).
    expect(Math.max(...steps)).toBeLessThan(3 * medianStep);
    const heights = centres.map((c) => c[0] * anchor.upWorld[0] + c[1] * anchor.upWorld[1] + c[2] * anchor.upWorld[2] + anchor.planeOffset);
    expect(Math.min(...heights) / Math.max(...heights)).toBeGreaterThan(0.8);
    for (const c of track.cameras) {
      // Upright camera looking down at the counter: its up (−y) leans towards the plane normal.
      const m = c.cameraToWorldOpenCv;
      expect(-(m[1] * anchor.upWorld[0] + m[5] * anchor.upWorld[1] + m[9] * anchor.upWorld[2])).toBeGreaterThan(0.5);
    }
  });

});
