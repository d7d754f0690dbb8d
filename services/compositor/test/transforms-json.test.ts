import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTransformsJson, readTransformsJson } from '../src/transforms-json';
import { tempDir } from './fixtures';

const identity = [[1, 0, 0, 0.5], [0, 1, 0, 1.5], [0, 0, 1, 4], [0, 0, 0, 1]];
const dir = tempDir();
afterAll(() => dir.remove());

describe('transforms.json', () => {
  it('reads intrinsics and converts OpenGL camera axes to OpenCV', () => {
    const track = parseTransformsJson(JSON.stringify({ fl_x: 1000, fl_y: 990, cx: 960.5, cy: 539.5, w: 1920, h: 1080, frames: [{ file_path: 'images/0001.png', transform_matrix: identity }] }));
    const { pose, filePath } = track.frames[0];
    expect(filePath).toBe('images/0001.png');
    expect(pose.intrinsics).toEqual({ fxPx: 1000, fyPx: 990, cxPx: 960.5, cyPx: 539.5, widthPx: 1920, heightPx: 1080 });
    // OpenGL camera looking down -z with y up == OpenCV camera with y and z negated; translation kept.
    expect(Array.from(pose.cameraToWorldOpenCv).map((v) => v + 0)).toEqual([1, 0, 0, 0.5, 0, -1, 0, 1.5, 0, 0, -1, 4, 0, 0, 0, 1]);
  });

  it('derives focal lengths from camera_angle_x and takes per-frame intrinsics', () => {
    const track = parseTransformsJson(JSON.stringify({ camera_angle_x: Math.PI / 2, w: 800, h: 600, frames: [{ transform_matrix: identity }, { transform_matrix: identity, fl_x: 500, w: 400, h: 300 }] }));
    expect(track.frames[0].pose.intrinsics.fxPx).toBeCloseTo(400, 9);
    expect(track.frames[0].pose.intrinsics.fyPx).toBeCloseTo(400, 9);
    expect(track.frames[0].pose.intrinsics.cxPx).toBe(400);
    expect(track.frames[1].pose.intrinsics).toMatchObject({ fxPx: 500, fyPx: 500, widthPx: 400, cxPx: 200 });
    expect(track.frames[1].pose.frameIndex).toBe(1);
  });

  it('warns about lens distortion and rejects broken tracks', () => {
    const warned = parseTransformsJson(JSON.stringify({ fl_x: 100, w: 10, h: 10, k1: 0.1, frames: [{ transform_matrix: identity }] }));
    expect(warned.warnings[0]).toMatch(/distortion/);
    expect(() => parseTransformsJson('{')).toThrow(/not JSON/);
    expect(() => parseTransformsJson('{"frames": []}')).toThrow(/no frames/);
    expect(() => parseTransformsJson(JSON.stringify({ fl_x: 100, frames: [{ transform_matrix: identity }] }))).toThrow(/no image size/);
    expect(() => parseTransformsJson(JSON.stringify({ w: 10, h: 10, frames: [{ transform_matrix: identity }] }))).toThrow(/no focal length/);
    expect(() => parseTransformsJson(JSON.stringify({ fl_x: 100, w: 10, h: 10, frames: [{ transform_matrix: [[1, 0, 0]] }] }))).toThrow(/4x4/);
    expect(() => parseTransformsJson(JSON.stringify({ fl_x: -1, w: 10, h: 10, frames: [{ transform_matrix: identity }] }))).toThrow(/unusable intrinsics/);
    const skewed = identity.map((row) => [...row]);
    skewed[3] = [0, 0, 1, 1];
    expect(() => parseTransformsJson(JSON.stringify({ fl_x: 100, w: 10, h: 10, frames: [{ transform_matrix: skewed }] }))).toThrow(/last row/);
  });

  it('reads files and says when one is missing', async () => {
    const path = join(dir.path, 'transforms.json');
    writeFileSync(path, JSON.stringify({ fl_x: 100, w: 10, h: 10, frames: [{ transform_matrix: identity }] }));
    expect((await readTransformsJson(path)).frames).toHaveLength(1);
    await expect(readTransformsJson(join(dir.path, 'nope.json'))).rejects.toMatchObject({ reason: 'TRACK_NOT_FOUND' });
  });
});
