import { VaneliaError } from '@vanelia/runtime';
import type { AnchorData, CameraIntrinsicsData, CameraTrackData, FrameCameraData } from '../camera-track';
import { cameraToWorldOpenCvToOpenGl, cameraToWorldOpenGlToOpenCv } from '../geometry/camera-axes';
import { vec3 } from '../geometry/vec3';

/** NeRF-style transforms.json as Vanelia writes it (instant-ngp / nerfstudio field names). */
export interface TransformsJson {
  fl_x: number;
  fl_y: number;
  cx: number;
  cy: number;
  w: number;
  h: number;
  camera_angle_x?: number;
  frames: TransformsFrame[];
  /** Vanelia's additions: which backend, warnings, the placement anchor. */
  vanelia?: { backend: string; warnings: string[]; anchor?: AnchorJson };
}

export interface TransformsFrame {
  file_path: string;
  /** Camera-to-world, OpenGL camera axes (x right, y up, z backward), 4 rows of 4. */
  transform_matrix: number[][];
  /** Per-frame intrinsics, written only when they differ from the top-level ones. */
  fl_x?: number;
  fl_y?: number;
  cx?: number;
  cy?: number;
  w?: number;
  h?: number;
  frame_index?: number;
  confidence?: number;
}

interface AnchorJson {
  point_world: number[];
  up_world: number[];
  plane_offset: number;
  metres_per_unit: number;
  frame_index: number;
  pixel_x: number;
  pixel_y: number;
}

function rows(m: ArrayLike<number>): number[][] {
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => m[r * 4 + c]));
}

function sameIntrinsics(a: CameraIntrinsicsData, b: CameraIntrinsicsData): boolean {
  return a.fxPx === b.fxPx && a.fyPx === b.fyPx && a.cxPx === b.cxPx && a.cyPx === b.cyPx && a.widthPx === b.widthPx && a.heightPx === b.heightPx;
}

/** transforms.json of a track: one frame per camera, in order; top-level intrinsics from the first camera. */
export function trackToTransformsJson(track: CameraTrackData): TransformsJson {
  if (track.cameras.length === 0) throw new VaneliaError('pose', 'EMPTY_TRACK', 'the camera track has no cameras to export.');
  const k0 = track.cameras[0].intrinsics;
  const frames = track.cameras.map((cam): TransformsFrame => {
    const k = cam.intrinsics;
    const frame: TransformsFrame = {
      file_path: cam.filePath ?? `frame_${String(cam.frameIndex).padStart(5, '0')}.png`,
      transform_matrix: rows(cameraToWorldOpenCvToOpenGl(cam.cameraToWorldOpenCv)),
      frame_index: cam.frameIndex,
      confidence: cam.confidence,
    };
    if (!sameIntrinsics(k, k0)) Object.assign(frame, { fl_x: k.fxPx, fl_y: k.fyPx, cx: k.cxPx, cy: k.cyPx, w: k.widthPx, h: k.heightPx });
    return frame;
  });
  const a = track.anchor;
  return {
    fl_x: k0.fxPx,
    fl_y: k0.fyPx,
    cx: k0.cxPx,
    cy: k0.cyPx,
    w: k0.widthPx,
    h: k0.heightPx,
    camera_angle_x: 2 * Math.atan(k0.widthPx / (2 * k0.fxPx)),
    frames,
    vanelia: {
      backend: track.backend,
      warnings: track.warnings,
      ...(a
        ? {
            anchor: {
              point_world: Array.from(a.pointWorld),
              up_world: Array.from(a.upWorld),
              plane_offset: a.planeOffset,
              metres_per_unit: a.metresPerUnit,
              frame_index: a.frameIndex,
              pixel_x: a.pixelX,
              pixel_y: a.pixelY,
            },
          }
        : {}),
    },
  };
}

function invalid(sentence: string): VaneliaError {
  return new VaneliaError('pose', 'INVALID_TRANSFORMS', `transforms.json ${sentence}.`);
}

function num(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`has no valid ${what}`);
  return value;
}

export interface TransformsImportOptions {
  /** Frame size when the file has no w/h. */
  widthPx?: number;
  heightPx?: number;
}

/**
 * Reads a NeRF transforms.json (instant-ngp, nerfstudio, the original Blender synthetic format):
 * fl_x/fl_y or camera_angle_x, optional cx/cy (default the centre), w/h (or the options), per-frame
 * overrides, OpenGL camera-to-world matrices. Frames keep the file's order.
 */
export function transformsJsonToTrack(json: unknown, options: TransformsImportOptions = {}): CameraTrackData {
  if (typeof json !== 'object' || json === null) throw invalid('is not a JSON object');
  const root = json as Record<string, unknown>;
  if (!Array.isArray(root.frames) || root.frames.length === 0) throw invalid('has no frames');
  const base = (frame: Record<string, unknown>, key: string): unknown => frame[key] ?? root[key];
  const cameras: FrameCameraData[] = root.frames.map((raw, i): FrameCameraData => {
    if (typeof raw !== 'object' || raw === null) throw invalid(`frame ${i} is not an object`);
    const frame = raw as Record<string, unknown>;
    const widthPx = num(base(frame, 'w') ?? options.widthPx, `width (w) for frame ${i}`);
    const heightPx = num(base(frame, 'h') ?? options.heightPx, `height (h) for frame ${i}`);
    const angleX = base(frame, 'camera_angle_x');
    const flx = base(frame, 'fl_x') ?? (typeof angleX === 'number' ? widthPx / (2 * Math.tan(angleX / 2)) : undefined);
    const fxPx = num(flx, `focal length (fl_x or camera_angle_x) for frame ${i}`);
    const fyPx = num(base(frame, 'fl_y') ?? fxPx, `fl_y for frame ${i}`);
    const cxPx = num(base(frame, 'cx') ?? widthPx / 2, `cx for frame ${i}`);
    const cyPx = num(base(frame, 'cy') ?? heightPx / 2, `cy for frame ${i}`);
    const m = frame.transform_matrix;
    if (!Array.isArray(m) || m.length < 3 || !m.every((row) => Array.isArray(row) && row.length === 4)) {
      throw invalid(`frame ${i} has no 4x4 transform_matrix`);
    }
    const gl = new Float64Array(16);
    gl[15] = 1;
    for (let r = 0; r < Math.min(4, m.length); r++) for (let c = 0; c < 4; c++) gl[r * 4 + c] = num((m[r] as unknown[])[c], `transform_matrix entry in frame ${i}`);
    const filePath = typeof frame.file_path === 'string' ? frame.file_path : undefined;
    return {
      frameIndex: typeof frame.frame_index === 'number' ? frame.frame_index : i,
      intrinsics: { fxPx, fyPx, cxPx, cyPx, widthPx, heightPx },
      cameraToWorldOpenCv: cameraToWorldOpenGlToOpenCv(gl),
      confidence: typeof frame.confidence === 'number' ? frame.confidence : 1,
      ...(filePath ? { filePath } : {}),
    };
  });
  const v = root.vanelia as { backend?: string; warnings?: string[]; anchor?: AnchorJson } | undefined;
  const a = v?.anchor;
  return {
    cameras,
    backend: 'import:transforms',
    warnings: Array.isArray(v?.warnings) ? v!.warnings.filter((w) => typeof w === 'string') : [],
    ...(a && Array.isArray(a.point_world) && Array.isArray(a.up_world)
      ? {
          anchor: {
            pointWorld: vec3(a.point_world[0], a.point_world[1], a.point_world[2]),
            upWorld: vec3(a.up_world[0], a.up_world[1], a.up_world[2]),
            planeOffset: a.plane_offset,
            metresPerUnit: a.metres_per_unit,
            frameIndex: a.frame_index,
            pixelX: a.pixel_x,
            pixelY: a.pixel_y,
          },
        }
      : {}),
  };
}
