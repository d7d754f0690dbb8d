import { VaneliaError } from '@vanelia/runtime';

/** COLMAP camera models: id, name and parameter count (colmap/src/colmap/sensor/models.h). */
export const COLMAP_CAMERA_MODELS: readonly { id: number; name: string; params: number }[] = [
  { id: 0, name: 'SIMPLE_PINHOLE', params: 3 },
  { id: 1, name: 'PINHOLE', params: 4 },
  { id: 2, name: 'SIMPLE_RADIAL', params: 4 },
  { id: 3, name: 'RADIAL', params: 5 },
  { id: 4, name: 'OPENCV', params: 8 },
  { id: 5, name: 'OPENCV_FISHEYE', params: 8 },
  { id: 6, name: 'FULL_OPENCV', params: 12 },
  { id: 7, name: 'FOV', params: 5 },
  { id: 8, name: 'SIMPLE_RADIAL_FISHEYE', params: 4 },
  { id: 9, name: 'RADIAL_FISHEYE', params: 5 },
  { id: 10, name: 'THIN_PRISM_FISHEYE', params: 12 },
];

export interface ColmapCamera {
  id: number;
  model: string;
  widthPx: number;
  heightPx: number;
  params: number[];
}

export interface ColmapImage {
  id: number;
  /** World-to-camera rotation as a quaternion (w, x, y, z) and translation. */
  qvec: [number, number, number, number];
  tvec: [number, number, number];
  cameraId: number;
  name: string;
  /** Keypoints, packed xy, and the 3D point id of each (−1 when none). */
  points2d: Float64Array;
  point3dIds: number[];
}

export interface ColmapPoint3D {
  id: number;
  xyz: [number, number, number];
  rgb: [number, number, number];
  error: number;
  /** (image id, keypoint index) pairs, packed. */
  track: number[];
}

export interface ColmapReconstruction {
  cameras: ColmapCamera[];
  images: ColmapImage[];
  points: ColmapPoint3D[];
}

export function colmapModelByName(name: string): { id: number; name: string; params: number } {
  const model = COLMAP_CAMERA_MODELS.find((m) => m.name === name);
  if (!model) throw new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP camera model ${name} is not known.`);
  return model;
}

export function colmapModelById(id: number): { id: number; name: string; params: number } {
  const model = COLMAP_CAMERA_MODELS.find((m) => m.id === id);
  if (!model) throw new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP camera model id ${id} is not known.`);
  return model;
}

/**
 * Pinhole part of a COLMAP camera: fx, fy, cx, cy (pixels, COLMAP's convention: the top-left pixel's
 * centre at (0.5, 0.5)), plus the first radial coefficient where the model has one.
 */
export function colmapPinhole(camera: ColmapCamera): { fxPx: number; fyPx: number; cxPx: number; cyPx: number; k1: number } {
  const p = camera.params;
  switch (camera.model) {
    case 'SIMPLE_PINHOLE':
      return { fxPx: p[0], fyPx: p[0], cxPx: p[1], cyPx: p[2], k1: 0 };
    case 'SIMPLE_RADIAL':
    case 'RADIAL':
    case 'SIMPLE_RADIAL_FISHEYE':
    case 'RADIAL_FISHEYE':
      return { fxPx: p[0], fyPx: p[0], cxPx: p[1], cyPx: p[2], k1: p[3] };
    case 'FOV':
      return { fxPx: p[0], fyPx: p[1], cxPx: p[2], cyPx: p[3], k1: 0 };
    default:
      // PINHOLE, OPENCV, OPENCV_FISHEYE, FULL_OPENCV, THIN_PRISM_FISHEYE: fx, fy, cx, cy first.
      return { fxPx: p[0], fyPx: p[1], cxPx: p[2], cyPx: p[3], k1: camera.model === 'PINHOLE' ? 0 : p[4] };
  }
}
