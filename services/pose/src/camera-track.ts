import type { Mat4 } from './geometry/mat4';
import type { Vec3 } from './geometry/vec3';

/**
 * The pose stage's output, shared by every backend (tracker, DUSt3R, imports): per-frame pinhole
 * intrinsics at the original frame resolution and camera-to-world poses in OpenCV axes
 * (x right, y down, z forward), plus the placement anchor once computed.
 * Pixel coordinates are continuous with the image's top-left corner at (0, 0), so a centred principal
 * point is (width/2, height/2).
 */
export interface CameraIntrinsicsData {
  fxPx: number;
  fyPx: number;
  cxPx: number;
  cyPx: number;
  widthPx: number;
  heightPx: number;
}

export interface FrameCameraData {
  frameIndex: number;
  intrinsics: CameraIntrinsicsData;
  /** Row-major 4x4 camera-to-world, OpenCV camera axes. */
  cameraToWorldOpenCv: Mat4;
  /** 0..1: how much the estimator trusts this camera. */
  confidence: number;
  /** Image the camera belongs to, when known (imports, folders of frames). */
  filePath?: string;
}

export interface AnchorData {
  /** Point on the supporting plane under the chosen pixel (world units). */
  pointWorld: Vec3;
  /** Unit plane normal pointing to the side of the cameras ("up"). */
  upWorld: Vec3;
  /** d in n·x + d = 0. */
  planeOffset: number;
  /** Metres per world unit; 0 when unknown. */
  metresPerUnit: number;
  frameIndex: number;
  pixelX: number;
  pixelY: number;
}

export interface CameraTrackData {
  cameras: FrameCameraData[];
  /** "tracker", "dust3r", "import:colmap", "import:transforms", "import:llff". */
  backend: string;
  warnings: string[];
  anchor?: AnchorData;
  /** Sparse or dense scene points in world coordinates (packed xyz), when the backend has them. */
  points?: Float64Array;
}

/** Intrinsics of a frame scaled to another resolution (pixel corners stay aligned). */
export function scaleIntrinsics(intr: CameraIntrinsicsData, widthPx: number, heightPx: number): CameraIntrinsicsData {
  const sx = widthPx / intr.widthPx;
  const sy = heightPx / intr.heightPx;
  return { fxPx: intr.fxPx * sx, fyPx: intr.fyPx * sy, cxPx: intr.cxPx * sx, cyPx: intr.cyPx * sy, widthPx, heightPx };
}
