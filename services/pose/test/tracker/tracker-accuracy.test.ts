import { describe, expect, it } from 'vitest';
import { evaluateTrajectory } from '../../src/geometry/pose-error';
import { TrackerSession } from '../../src/tracker/tracker-session';
import { renderSyntheticFrame, syntheticVideo } from '../fixtures/synthetic-scene';

// The weight-free tracker end to end on a rendered scene with exact poses (real footage: tracker-real-footage).

describe('tracker accuracy', () => {
  it('tracks a rendered scene with exact poses and finds its focal length', async () => {
    const video = syntheticVideo(30, 480, 270);
    const session = new TrackerSession();
    for (let i = 0; i < 30; i++) session.push({ data: renderSyntheticFrame(video, i), widthPx: 480, heightPx: 270, channels: 3 });
    const track = await session.finish();
    expect(track.cameras).toHaveLength(30);
    const err = evaluateTrajectory(track.cameras.map((c) => c.cameraToWorldOpenCv), video.cameras.map((c) => c.cameraToWorldOpenCv));
    expect(err.medianRotationErrorDeg).toBeLessThan(0.3);
    expect(err.rmseRelative).toBeLessThan(0.005);
    const k = track.cameras[0].intrinsics;
    expect(Math.abs(k.fxPx / video.focalPx - 1)).toBeLessThan(0.02);
    expect([k.cxPx, k.cyPx, k.widthPx, k.heightPx]).toEqual([240, 135, 480, 270]);
    expect(track.points!.length).toBeGreaterThan(300);
  });

  it('refuses too few frames and frames of changing size with clear errors', async () => {
    const session = new TrackerSession();
    session.push({ data: new Uint8Array(64 * 48 * 3), widthPx: 64, heightPx: 48, channels: 3 });
    await expect(session.finish()).rejects.toThrow(/pose: the tracker needs at least 2 frames, got 1/);
    expect(() => session.push({ data: new Uint8Array(32 * 48 * 3), widthPx: 32, heightPx: 48, channels: 3 })).toThrow(/pose: frame 1 is 32x48, the first was 64x48/);
    expect(() => session.push({ data: new Uint8Array(10), widthPx: 64, heightPx: 48, channels: 3 })).toThrow(/carries 10 bytes/);
  });

  it('fails cleanly on footage without texture', async () => {
    const session = new TrackerSession();
    for (let i = 0; i < 5; i++) session.push({ data: new Uint8Array(96 * 64 * 3).fill(128), widthPx: 96, heightPx: 64, channels: 3 });
    await expect(session.finish()).rejects.toThrow(/pose: the tracker found no pair of frames to start from/);
  });
});
