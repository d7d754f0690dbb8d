import { VaneliaError } from '@vanelia/runtime';
import type { CameraTrackData, FrameCameraData } from '../camera-track';
import { cameraToWorldOpenCvToOpenGl, cameraToWorldOpenGlToOpenCv } from '../geometry/camera-axes';
import type { Mat4 } from '../geometry/mat4';
import { readNpy, writeNpy } from './npy';

export interface LlffImportOptions {
  /** Size of the frames the track is for; default the size stored in the file (hwf). */
  widthPx?: number;
  heightPx?: number;
  /** File names in row order (LLFF rows follow the sorted image names). */
  filePaths?: string[];
}

/**
 * LLFF poses_bounds.npy: N rows of 17 values, a 3x5 matrix [R | t | hwf] (row-major) then near/far
 * bounds. R's columns are the camera's (down, right, backwards) axes in world coordinates; hwf is
 * height, width and focal of the full-resolution images. Converted here to OpenCV camera-to-world.
 */
export function importLlffPosesBounds(bytes: Uint8Array, options: LlffImportOptions = {}): CameraTrackData {
  const npy = readNpy(bytes);
  if (npy.shape.length !== 2 || npy.shape[1] !== 17) {
    throw new VaneliaError('pose', 'INVALID_LLFF', `poses_bounds.npy must have shape (N, 17), got (${npy.shape.join(', ')}).`);
  }
  const cameras: FrameCameraData[] = [];
  for (let i = 0; i < npy.shape[0]; i++) {
    const row = npy.data.subarray(17 * i, 17 * i + 15);
    const m = (r: number, c: number): number => row[r * 5 + c];
    const [h, w, f] = [m(0, 4), m(1, 4), m(2, 4)];
    if (!(h > 0 && w > 0 && f > 0)) throw new VaneliaError('pose', 'INVALID_LLFF', `poses_bounds.npy row ${i} has no valid height/width/focal.`);
    // OpenGL camera axes (right, up, backwards) = (LLFF col 1, −col 0, col 2).
    const gl: Mat4 = Float64Array.of(
      m(0, 1), -m(0, 0), m(0, 2), m(0, 3),
      m(1, 1), -m(1, 0), m(1, 2), m(1, 3),
      m(2, 1), -m(2, 0), m(2, 2), m(2, 3),
      0, 0, 0, 1,
    );
    const widthPx = options.widthPx ?? Math.round(w);
    const heightPx = options.heightPx ?? Math.round(h);
    const sx = widthPx / w;
    const sy = heightPx / h;
    cameras.push({
      frameIndex: i,
      intrinsics: { fxPx: f * sx, fyPx: f * sy, cxPx: widthPx / 2, cyPx: heightPx / 2, widthPx, heightPx },
      cameraToWorldOpenCv: cameraToWorldOpenGlToOpenCv(gl),
      confidence: 1,
      ...(options.filePaths?.[i] ? { filePath: options.filePaths[i] } : {}),
    });
  }
  return { cameras, backend: 'import:llff', warnings: [] };
}

/** Writes poses_bounds.npy from a track (bounds 0.1/100 when unknown; assumes fx = fy at full resolution). */
export function exportLlffPosesBounds(track: CameraTrackData, bounds: readonly [number, number] = [0.1, 100]): Uint8Array {
  const out = new Float64Array(17 * track.cameras.length);
  track.cameras.forEach((cam, i) => {
    const gl = cameraToWorldOpenCvToOpenGl(cam.cameraToWorldOpenCv);
    for (let r = 0; r < 3; r++) {
      out[17 * i + r * 5] = -gl[r * 4 + 1];
      out[17 * i + r * 5 + 1] = gl[r * 4];
      out[17 * i + r * 5 + 2] = gl[r * 4 + 2];
      out[17 * i + r * 5 + 3] = gl[r * 4 + 3];
    }
    out[17 * i + 4] = cam.intrinsics.heightPx;
    out[17 * i + 9] = cam.intrinsics.widthPx;
    out[17 * i + 14] = cam.intrinsics.fxPx;
    out[17 * i + 15] = bounds[0];
    out[17 * i + 16] = bounds[1];
  });
  return writeNpy(out, [track.cameras.length, 17]);
}
