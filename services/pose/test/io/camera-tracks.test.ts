import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import { describe, expect, it } from 'vitest';
import type { CameraTrackData } from '../../src/camera-track';
import { mat4InvertRigid, mat4Multiply, mat4Translation } from '../../src/geometry/mat4';
import { rotationDistanceDeg } from '../../src/geometry/rotation';
import { mat4Rotation } from '../../src/geometry/mat4';
import { formatColmapCamerasBinary, formatColmapImagesBinary, formatColmapPointsBinary, parseColmapCamerasBinary } from '../../src/io/colmap-binary';
import { formatColmapCamerasText, formatColmapImagesText, formatColmapPointsText } from '../../src/io/colmap-text';
import { colmapPinhole } from '../../src/io/colmap-model';
import { trackToColmap } from '../../src/io/colmap-track';
import { guessTrackFormat, importTrack } from '../../src/io/import-track';
import { exportLlffPosesBounds, importLlffPosesBounds } from '../../src/io/llff';
import { trackToTransformsJson } from '../../src/io/transforms-json';

const fern = (...parts: string[]): Uint8Array => readFileSync(join(sharedDataDir(), 'images-fern-llff', ...parts));

function expectSameTrack(a: CameraTrackData, b: CameraTrackData, digits = 9): void {
  expect(a.cameras).toHaveLength(b.cameras.length);
  a.cameras.forEach((cam, i) => {
    const other = b.cameras[i];
    Array.from(cam.cameraToWorldOpenCv).forEach((v, k) => expect(v).toBeCloseTo(other.cameraToWorldOpenCv[k], digits));
    for (const key of ['fxPx', 'fyPx', 'cxPx', 'cyPx', 'widthPx', 'heightPx'] as const) expect(cam.intrinsics[key]).toBeCloseTo(other.intrinsics[key], digits);
  });
}

describe('LLFF poses_bounds.npy', () => {
  it('imports fern as OpenCV cameras: forward-facing (+z towards the scene), focal scaled to the frame size', () => {
    const track = importLlffPosesBounds(fern('poses_bounds.npy'), { widthPx: 1008, heightPx: 756 });
    expect(track.cameras).toHaveLength(20);
    expect(track.cameras[0].intrinsics.fxPx).toBeCloseTo(3260.526 / 4, 2);
    expect(track.cameras[0].intrinsics.cxPx).toBe(504);
    // LLFF's column 2 is "backwards"; OpenCV's z is forwards: the two must be opposite.
    const row = readFileSync(join(sharedDataDir(), 'images-fern-llff', 'poses_bounds.npy'));
    const llffBackZ = new DataView(row.buffer, row.byteOffset).getFloat64(row.length - 20 * 17 * 8 + 12 * 8, true);
    expect(track.cameras[0].cameraToWorldOpenCv[10]).toBeCloseTo(-llffBackZ, 12);
    // All cameras look roughly the same way (forward-facing capture): within 20° of the first.
    for (const cam of track.cameras) expect(rotationDistanceDeg(mat4Rotation(cam.cameraToWorldOpenCv), mat4Rotation(track.cameras[0].cameraToWorldOpenCv))).toBeLessThan(20);
    expect(Array.from(mat4Translation(track.cameras[0].cameraToWorldOpenCv))).toEqual([-3.679, -1.604, -0.277].map((v) => expect.closeTo(v, 3)));
  });

  it('round-trips through export', () => {
    const track = importLlffPosesBounds(fern('poses_bounds.npy'));
    expectSameTrack(importLlffPosesBounds(exportLlffPosesBounds(track)), track);
  });
});

describe('COLMAP', () => {
  it('reads fern cameras.bin (SIMPLE_RADIAL at 4032x3024)', () => {
    const [camera] = parseColmapCamerasBinary(fern('sparse', '0', 'cameras.bin'));
    expect(camera.model).toBe('SIMPLE_RADIAL');
    expect([camera.widthPx, camera.heightPx]).toEqual([4032, 3024]);
    const pin = colmapPinhole(camera);
    expect(pin.fxPx).toBeCloseTo(3260.5, 0);
    expect(pin.cxPx).toBe(2016);
    expect(pin.k1).toBeCloseTo(0.0197, 3);
  });

  it('round-trips the fern track through COLMAP binary and text, cameras.bin from the dataset', () => {
    const truth = importLlffPosesBounds(fern('poses_bounds.npy'));
    truth.cameras.forEach((c, i) => (c.filePath = `image${String(i).padStart(3, '0')}.png`));
    truth.points = Float64Array.of(1, 2, 3, -4, 5, 6.5);
    const model = trackToColmap(truth);
    const binary = importTrack({ files: { 'sparse/0/cameras.bin': formatColmapCamerasBinary(model.cameras), 'sparse/0/images.bin': formatColmapImagesBinary(model.images), 'sparse/0/points3D.bin': formatColmapPointsBinary(model.points) } });
    expect(binary.backend).toBe('import:colmap');
    expectSameTrack(binary, truth);
    expect(Array.from(binary.points!)).toEqual([1, 2, 3, -4, 5, 6.5]);
    const text = importTrack({ format: 'colmap-text', files: new Map([['cameras.txt', new TextEncoder().encode(formatColmapCamerasText(model.cameras))], ['images.txt', new TextEncoder().encode(formatColmapImagesText(model.images))], ['points3D.txt', new TextEncoder().encode(formatColmapPointsText(model.points))]]) });
    expectSameTrack(text, truth, 6);
    expect(text.cameras.map((c) => c.filePath)).toEqual(truth.cameras.map((c) => c.filePath));
    // The dataset's own cameras.bin with our images.bin: SIMPLE_RADIAL read as pinhole, with a warning.
    const withDataset = importTrack({ files: { 'cameras.bin': fern('sparse', '0', 'cameras.bin'), 'images.bin': formatColmapImagesBinary(model.images) }, widthPx: 1008, heightPx: 756 });
    expect(withDataset.cameras[0].intrinsics.fxPx).toBeCloseTo(3260.5 / 4, 0);
    expect(withDataset.warnings.join()).toMatch(/SIMPLE_RADIAL has lens distortion/);
  });

  it('orders images by name (frame order) and parses hand-written text with comments', () => {
    const cameras = '# comment\n1 PINHOLE 640 480 500 510 320 240\n';
    // Camera 2 (frame_10) translated by x = 1 in camera coordinates: centre at −1 along world x.
    const images = '# header\n2 1 0 0 0 1 0 0 1 frame_10.png\n\n1 1 0 0 0 0 0 0 1 frame_9.png\n10 20 -1\n';
    const track = importTrack({ files: { 'cameras.txt': new TextEncoder().encode(cameras), 'images.txt': new TextEncoder().encode(images) } });
    expect(track.cameras.map((c) => c.filePath)).toEqual(['frame_9.png', 'frame_10.png']);
    expect(track.cameras[1].cameraToWorldOpenCv[3]).toBeCloseTo(-1, 12);
    expect(track.cameras[0].intrinsics).toEqual({ fxPx: 500, fyPx: 510, cxPx: 320, cyPx: 240, widthPx: 640, heightPx: 480 });
  });

  it('rejects broken COLMAP files with the file and line', () => {
    expect(() => importTrack({ files: { 'cameras.txt': new TextEncoder().encode('1 PINHOLE 640 480 500\n'), 'images.txt': new Uint8Array() } })).toThrow(/pose: COLMAP cameras.txt line 1: PINHOLE takes 4 parameters, got 1/);
    expect(() => importTrack({ files: { 'cameras.bin': fern('sparse', '0', 'cameras.bin').subarray(0, 30), 'images.bin': new Uint8Array(8) } })).toThrow(/pose: COLMAP cameras.bin announces 1 entries but is too short for them/);
    expect(() => importTrack({ files: { 'cameras.txt': new TextEncoder().encode('1 PINHOLE 640 480 1 1 1 1\n') } })).toThrow(/needs images.bin or images.txt/);
    expect(() => importTrack({ files: { 'cameras.txt': new TextEncoder().encode('1 WEIRD 640 480 1\n'), 'images.txt': new Uint8Array() } })).toThrow(/model WEIRD is not known/);
  });
});

describe('transforms.json', () => {
  it('exports OpenGL camera-to-world with fl_x fl_y cx cy w h, one frame per camera in order, and reads it back', () => {
    const track = importLlffPosesBounds(fern('poses_bounds.npy'), { widthPx: 1008, heightPx: 756 });
    track.cameras.forEach((c, i) => (c.filePath = `images_4/image${String(i).padStart(3, '0')}.png`));
    const json = trackToTransformsJson(track);
    expect([json.fl_x, json.cx, json.cy, json.w, json.h]).toEqual([expect.closeTo(815.13, 2), 504, 378, 1008, 756]);
    expect(json.frames.map((f) => f.file_path)).toEqual(track.cameras.map((c) => c.filePath));
    // OpenGL: the camera looks along its −z, so the matrix's third column is minus OpenCV's.
    const gl = json.frames[0].transform_matrix;
    const cv = track.cameras[0].cameraToWorldOpenCv;
    expect(gl[0][2]).toBeCloseTo(-cv[2], 12);
    expect(gl[1][1]).toBeCloseTo(-cv[5], 12);
    expect(gl[2][3]).toBeCloseTo(cv[11], 12);
    expect(gl[3]).toEqual([0, 0, 0, 1]);
    const back = importTrack({ content: new TextEncoder().encode(JSON.stringify(json)) });
    expect(back.backend).toBe('import:transforms');
    expectSameTrack(back, track, 12);
    // Rescaled to another frame size on import.
    const half = importTrack({ content: new TextEncoder().encode(JSON.stringify(json)), widthPx: 504, heightPx: 378 });
    expect(half.cameras[3].intrinsics.fxPx).toBeCloseTo(815.13 / 2, 1);
  });

  it('reads the Blender-synthetic form (camera_angle_x, no cx/cy) with the frame size given', () => {
    const json = { camera_angle_x: 2 * Math.atan(0.5), frames: [{ file_path: './r_0', transform_matrix: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]] }] };
    const track = importTrack({ format: 'transforms-json', content: new TextEncoder().encode(JSON.stringify(json)), widthPx: 800, heightPx: 800 });
    expect(track.cameras[0].intrinsics).toEqual({ fxPx: 800, fyPx: 800, cxPx: 400, cyPx: 400, widthPx: 800, heightPx: 800 });
    // Relative pose check: OpenGL identity looking down −z is OpenCV diag(1, −1, −1).
    const c2w = track.cameras[0].cameraToWorldOpenCv;
    expect([c2w[0], c2w[5], c2w[10], c2w[11]]).toEqual([1, -1, -1, 4]);
    expect(Array.from(mat4Multiply(c2w, mat4InvertRigid(c2w))).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('names what is wrong with a bad file, and guesses formats', () => {
    expect(() => importTrack({ content: new TextEncoder().encode('{"frames": []}') })).toThrow(/pose: transforms.json has no frames/);
    expect(() => importTrack({ format: 'transforms-json', content: new TextEncoder().encode('{nope') })).toThrow(/pose: transforms.json is not valid JSON/);
    expect(() => importTrack({ content: new TextEncoder().encode(JSON.stringify({ w: 10, h: 10, frames: [{ transform_matrix: [[1, 0, 0, 0]] }] })) })).toThrow(/has no valid focal length/);
    expect(() => importTrack({ format: 'obj', content: new Uint8Array(1) })).toThrow(/format "obj" is not one of/);
    expect(() => importTrack({ content: new TextEncoder().encode('hello') })).toThrow(/could not be recognised/);
    expect(guessTrackFormat({ content: fern('poses_bounds.npy') })).toBe('llff-npy');
    expect(guessTrackFormat({ files: { 'x/cameras.txt': new Uint8Array() } })).toBe('colmap-text');
  });
});
