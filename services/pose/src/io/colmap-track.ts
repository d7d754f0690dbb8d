import { VaneliaError } from '@vanelia/runtime';
import { scaleIntrinsics, type CameraTrackData, type FrameCameraData } from '../camera-track';
import { mat4FromRotationTranslation, mat4InvertRigid, mat4Rotation, mat4Translation } from '../geometry/mat4';
import { quatFromRotation, rotationFromQuat } from '../geometry/quaternion';
import { parseColmapCamerasBinary, parseColmapImagesBinary, parseColmapPointsBinary } from './colmap-binary';
import { colmapPinhole, type ColmapCamera, type ColmapImage, type ColmapReconstruction } from './colmap-model';
import { parseColmapCamerasText, parseColmapImagesText, parseColmapPointsText } from './colmap-text';

export interface ColmapImportOptions {
  /** Size of the frames the track is for; intrinsics are rescaled from the COLMAP camera's size. */
  widthPx?: number;
  heightPx?: number;
}

/**
 * Reads a COLMAP model from its files by name: cameras + images (+ points3D, optional), each as
 * `.txt` or `.bin`. Throws a clear error naming what is missing.
 */
export function readColmapFiles(files: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>): ColmapReconstruction {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  const byBase = new Map<string, Uint8Array>();
  for (const [name, bytes] of map) byBase.set(name.split('/').pop()!, bytes);
  const text = (b: Uint8Array): string => new TextDecoder().decode(b);
  const pick = <T>(base: string, bin: (b: Uint8Array) => T, txt: (s: string) => T, required: boolean): T | null => {
    const b = byBase.get(`${base}.bin`);
    if (b) return bin(b);
    const t = byBase.get(`${base}.txt`);
    if (t) return txt(text(t));
    if (required) throw new VaneliaError('pose', 'INVALID_COLMAP', `a COLMAP import needs ${base}.bin or ${base}.txt.`);
    return null;
  };
  return {
    cameras: pick('cameras', parseColmapCamerasBinary, parseColmapCamerasText, true)!,
    images: pick('images', parseColmapImagesBinary, parseColmapImagesText, true)!,
    points: pick('points3D', parseColmapPointsBinary, parseColmapPointsText, false) ?? [],
  };
}

/**
 * Camera track of a COLMAP model: one camera per registered image, in image-name order (the frame
 * order of a video's extracted frames), OpenCV camera-to-world, intrinsics from the image's camera.
 * Distortion beyond the pinhole is reported as a warning (the track itself is pinhole).
 */
export function colmapToTrack(model: ColmapReconstruction, options: ColmapImportOptions = {}): CameraTrackData {
  const cameras = new Map<number, ColmapCamera>(model.cameras.map((c) => [c.id, c]));
  const images = model.images.slice().sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  if (images.length === 0) throw new VaneliaError('pose', 'INVALID_COLMAP', 'the COLMAP model has no registered images.');
  const warnings: string[] = [];
  const frames: FrameCameraData[] = images.map((im, frameIndex) => {
    const cam = cameras.get(im.cameraId);
    if (!cam) throw new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP image ${im.name} refers to camera ${im.cameraId}, which is not in cameras.`);
    const pin = colmapPinhole(cam);
    if (pin.k1 !== 0 && warnings.length === 0) warnings.push(`COLMAP camera model ${cam.model} has lens distortion (k1 = ${pin.k1.toFixed(4)}); it is ignored (pinhole)`);
    let intrinsics = { fxPx: pin.fxPx, fyPx: pin.fyPx, cxPx: pin.cxPx, cyPx: pin.cyPx, widthPx: cam.widthPx, heightPx: cam.heightPx };
    if (options.widthPx && options.heightPx) intrinsics = scaleIntrinsics(intrinsics, options.widthPx, options.heightPx);
    const worldToCamera = mat4FromRotationTranslation(rotationFromQuat(im.qvec), im.tvec);
    return { frameIndex, intrinsics, cameraToWorldOpenCv: mat4InvertRigid(worldToCamera), confidence: 1, filePath: im.name };
  });
  const points = new Float64Array(model.points.length * 3);
  model.points.forEach((p, i) => points.set(p.xyz, 3 * i));
  return { cameras: frames, backend: 'import:colmap', warnings, points };
}

/** A COLMAP model (PINHOLE cameras, one per distinct intrinsics) of a track, for export and round trips. */
export function trackToColmap(track: CameraTrackData): ColmapReconstruction {
  const cameras: ColmapCamera[] = [];
  const images: ColmapImage[] = track.cameras.map((cam, i) => {
    const k = cam.intrinsics;
    const params = [k.fxPx, k.fyPx, k.cxPx, k.cyPx];
    let camera = cameras.find((c) => c.widthPx === k.widthPx && c.heightPx === k.heightPx && c.params.every((p, j) => p === params[j]));
    if (!camera) {
      camera = { id: cameras.length + 1, model: 'PINHOLE', widthPx: k.widthPx, heightPx: k.heightPx, params };
      cameras.push(camera);
    }
    const w2c = mat4InvertRigid(cam.cameraToWorldOpenCv);
    const q = quatFromRotation(mat4Rotation(w2c));
    const t = mat4Translation(w2c);
    return {
      id: i + 1,
      qvec: [q[0], q[1], q[2], q[3]],
      tvec: [t[0], t[1], t[2]],
      cameraId: camera.id,
      name: cam.filePath ?? `frame_${String(cam.frameIndex).padStart(5, '0')}.png`,
      points2d: new Float64Array(0),
      point3dIds: [],
    };
  });
  const pts = track.points ?? new Float64Array(0);
  const points = Array.from({ length: pts.length / 3 }, (_, i) => ({
    id: i + 1,
    xyz: [pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]] as [number, number, number],
    rgb: [128, 128, 128] as [number, number, number],
    error: 0,
    track: [],
  }));
  return { cameras, images, points };
}
