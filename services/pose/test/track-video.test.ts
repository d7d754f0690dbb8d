import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend } from '../src/backend';
import { parseTrackArgs, runTrackCommand, TRACK_USAGE } from '../src/cli-track';
import { evaluateTrajectory } from '../src/geometry/pose-error';
import { importTrack } from '../src/io/import-track';
import { encodeSyntheticVideo, writeSyntheticFrames, type SyntheticFiles } from './fixtures/synthetic-files';

// The track command: a folder of frames or a video in, transforms.json out, through the CLI logic.

let files: SyntheticFiles;
beforeAll(async () => {
  files = await writeSyntheticFrames(24, 384, 216);
}, 120_000);
afterAll(() => files?.remove());

function readTrack(path: string) {
  return importTrack({ content: readFileSync(path) });
}

describe('vanelia track', () => {
  it('tracks a folder of frames into transforms.json: one frame per image in order, paths relative to the output', async () => {
    const output = join(files.dir, 'out', 'cameras.json');
    const summary = await runTrackCommand(['--input', join(files.dir, 'frames'), '--output', output, '--backend', 'tracker', '--product-height', '0.3']);
    expect(summary).toMatch(/wrote .*cameras.json: 24 cameras by tracker in [\d.]+ s/);
    const json = JSON.parse(readFileSync(output, 'utf8'));
    expect([json.w, json.h, json.cx, json.cy]).toEqual([384, 216, 192, 108]);
    expect(json.frames.map((f: { file_path: string }) => f.file_path)).toEqual(Array.from({ length: 24 }, (_, i) => `../frames/${String(i).padStart(4, '0')}.png`));
    for (const f of json.frames) expect(existsSync(resolve(join(files.dir, 'out'), f.file_path))).toBe(true);
    expect(json.vanelia.backend).toBe('tracker');
    expect(json.vanelia.anchor.metres_per_unit).toBeGreaterThan(0);
    const err = evaluateTrajectory(readTrack(output).cameras.map((c) => c.cameraToWorldOpenCv), files.video.cameras.map((c) => c.cameraToWorldOpenCv));
    expect(err.medianRotationErrorDeg).toBeLessThan(0.5);
    expect(err.rmseRelative).toBeLessThan(0.01);
    // The anchor's up is the floor's normal: world +y in the synthetic scene, up to the Sim(3) alignment.
    const a = json.vanelia.anchor.up_world;
    const r = err.alignment.rotation;
    expect(r[3] * a[0] + r[4] * a[1] + r[5] * a[2]).toBeGreaterThan(0.98);
  }, 120_000);

  it('tracks an mp4 through ffmpeg with frames named as ffmpeg extracts them', async () => {
    const video = encodeSyntheticVideo(files);
    const output = join(files.dir, 'video-cameras.json');
    await runTrackCommand(['--input', video, '--output', output]);
    const track = readTrack(output);
    expect(track.cameras.map((c) => c.filePath)).toEqual(Array.from({ length: 24 }, (_, i) => `frame_${String(i + 1).padStart(5, '0')}.png`));
    const err = evaluateTrajectory(track.cameras.map((c) => c.cameraToWorldOpenCv), files.video.cameras.map((c) => c.cameraToWorldOpenCv));
    expect(err.medianRotationErrorDeg).toBeLessThan(0.5);
    expect(err.rmseRelative).toBeLessThan(0.01);
  }, 120_000);

  it('explains bad arguments and missing inputs', async () => {
    expect(await runTrackCommand(['--help'])).toBe(TRACK_USAGE);
    expect(() => parseTrackArgs(['--output', 'x.json'])).toThrow(/cli: --input is required; see `vanelia track --help`/);
    expect(() => parseTrackArgs(['--input', 'a', '--output', 'b', '--backend', 'colmap'])).toThrow(/--backend must be auto, dust3r or tracker, not "colmap"/);
    expect(() => parseTrackArgs(['--input', 'a', '--output', 'b', '--pixel', '3'])).toThrow(/--pixel must be X,Y/);
    expect(() => parseTrackArgs(['--input', 'a', '--output', 'b', '--speed', '3'])).toThrow(/unknown option --speed/);
    expect(parseTrackArgs(['--input=a', '--output', 'b', '--pixel', '10,20', '--frame', '3'], { VANELIA_POSE_MODEL_DIR: '/m' })).toEqual({
      input: 'a', output: 'b', backend: 'auto', modelDir: '/m', frameIndex: 3, pixel: [10, 20], productHeightM: 0, cameraHeightM: 1.4, focalPx: 0,
    });
    await expect(runTrackCommand(['--input', join(files.dir, 'nothing-here'), '--output', join(files.dir, 'x.json')])).rejects.toThrow(/pose: input .*nothing-here does not exist/);
    await expect(runTrackCommand(['--input', join(files.dir, 'out'), '--output', join(files.dir, 'y.json')])).rejects.toThrow(/pose: the folder .* holds no images/);
  });
});

describe('backend choice', () => {
  it('runs the tracker when no DUSt3R model is installed, and refuses dust3r without one', () => {
    expect(resolveBackend('auto', '')).toBe('tracker');
    expect(resolveBackend('', files.dir)).toBe('tracker');
    expect(resolveBackend('tracker', files.dir)).toBe('tracker');
    expect(() => resolveBackend('dust3r', files.dir)).toThrow(/pose: the dust3r backend was asked for, but .* holds no DUSt3R model/);
    expect(() => resolveBackend('colmap', '')).toThrow(/pose: backend "colmap" is not one of auto, dust3r, tracker/);
  });
});
