import { VaneliaError } from '@vanelia/runtime';
import { readFile, stat } from 'node:fs/promises';
import { assertIntrinsics, mat4FromRowMajor, openGlToOpenCv, type CameraPose, type PinholeIntrinsics } from './camera-model';

/**
 * NeRF-style camera tracks (`transforms.json`, as written by instant-ngp, nerfstudio and COLMAP converters):
 * intrinsics `fl_x fl_y cx cy w h` (or `camera_angle_x`) at the top or per frame, and per frame a
 * `file_path` and a 4x4 `transform_matrix`, camera-to-world with OpenGL camera axes (x right, y up,
 * z backward). Cameras come out in the compositor's convention (OpenCV axes, row-major).
 */

export interface TrackFrame {
  pose: CameraPose;
  /** The image the camera belongs to, as written in the file (relative to the file's folder). */
  filePath: string;
}

export interface TransformsTrack {
  frames: TrackFrame[];
  warnings: string[];
}

const MAX_TRACK_BYTES = 64 * 1024 * 1024;

function bad(sentence: string): VaneliaError {
  return new VaneliaError('compositor', 'INVALID_TRACK', sentence);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function intrinsicsOf(source: Record<string, unknown>, fallback: Partial<PinholeIntrinsics>, what: string): PinholeIntrinsics {
  const widthPx = num(source.w) ?? fallback.widthPx;
  const heightPx = num(source.h) ?? fallback.heightPx;
  if (widthPx === undefined || heightPx === undefined) throw bad(`${what} gives no image size (w, h).`);
  const angle = num(source.camera_angle_x);
  const fxPx = num(source.fl_x) ?? (angle !== undefined ? (0.5 * widthPx) / Math.tan(0.5 * angle) : fallback.fxPx);
  const angleY = num(source.camera_angle_y);
  const fyPx = num(source.fl_y) ?? (angleY !== undefined ? (0.5 * heightPx) / Math.tan(0.5 * angleY) : num(source.fl_x) !== undefined ? fxPx : fallback.fyPx ?? fxPx);
  if (fxPx === undefined || fyPx === undefined) throw bad(`${what} gives no focal length (fl_x or camera_angle_x).`);
  const k = {
    fxPx,
    fyPx,
    cxPx: num(source.cx) ?? fallback.cxPx ?? widthPx / 2,
    cyPx: num(source.cy) ?? fallback.cyPx ?? heightPx / 2,
    widthPx: Math.round(widthPx),
    heightPx: Math.round(heightPx),
  };
  assertIntrinsics(k, what);
  return k;
}

/** Parses transforms.json content; frame indices follow the order of `frames`. */
export function parseTransformsJson(text: string, defaults: Partial<PinholeIntrinsics> = {}): TransformsTrack {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new VaneliaError('compositor', 'INVALID_TRACK', `the camera track is not JSON (${(error as Error).message}).`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || !Array.isArray((json as Record<string, unknown>).frames)) {
    throw bad('the camera track has no "frames" array.');
  }
  const top = json as Record<string, unknown>;
  const warnings: string[] = [];
  if (['k1', 'k2', 'p1', 'p2', 'k3'].some((key) => num(top[key]) !== undefined && num(top[key]) !== 0)) {
    warnings.push('compositor: the track has lens distortion coefficients; the product is rendered with an undistorted pinhole.');
  }
  const frames = (top.frames as unknown[]).map((entry, index): TrackFrame => {
    if (typeof entry !== 'object' || entry === null) throw bad(`track frame ${index} is not an object.`);
    const frame = entry as Record<string, unknown>;
    const matrix = frame.transform_matrix;
    if (!Array.isArray(matrix) || matrix.length !== 4 || !matrix.every((row) => Array.isArray(row) && row.length === 4)) {
      throw bad(`track frame ${index} has no 4x4 transform_matrix.`);
    }
    const intrinsics = intrinsicsOf({ ...top, ...frame }, defaults, `track frame ${index}`);
    const cameraToWorldOpenGl = mat4FromRowMajor((matrix as number[][]).flat(), `track frame ${index} transform_matrix`);
    return {
      pose: { frameIndex: index, intrinsics, cameraToWorldOpenCv: openGlToOpenCv(cameraToWorldOpenGl) },
      filePath: typeof frame.file_path === 'string' ? frame.file_path : '',
    };
  });
  if (frames.length === 0) throw bad('the camera track has no frames.');
  return { frames, warnings };
}

/** Reads and parses a transforms.json file. */
export async function readTransformsJson(path: string, defaults: Partial<PinholeIntrinsics> = {}): Promise<TransformsTrack> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new VaneliaError('compositor', 'TRACK_NOT_FOUND', `the camera track ${JSON.stringify(path)} does not exist.`, { code: 'NOT_FOUND', cause: error });
  }
  if (size > MAX_TRACK_BYTES) throw bad(`the camera track is ${size} bytes, more than the ${MAX_TRACK_BYTES} allowed.`);
  return parseTransformsJson(await readFile(path, 'utf8'), defaults);
}
