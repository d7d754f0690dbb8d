import { VaneliaError } from '@vanelia/runtime';
import { scaleIntrinsics, type CameraTrackData } from '../camera-track';
import { colmapToTrack, readColmapFiles } from './colmap-track';
import { importLlffPosesBounds } from './llff';
import { transformsJsonToTrack } from './transforms-json';

export type TrackFormat = 'colmap-text' | 'colmap-binary' | 'transforms-json' | 'llff-npy';

export interface ImportTrackInput {
  /** Format name; "" or undefined guesses from the content and file names. */
  format?: string;
  /** One file's bytes (transforms.json, poses_bounds.npy). */
  content?: Uint8Array;
  /** COLMAP's files by name (cameras/images/points3D, .txt or .bin). */
  files?: ReadonlyMap<string, Uint8Array> | Record<string, Uint8Array>;
  /** Size of the video frames the track is for (0 = as stored). */
  widthPx?: number;
  heightPx?: number;
}

const FORMATS: readonly TrackFormat[] = ['colmap-text', 'colmap-binary', 'transforms-json', 'llff-npy'];

/** Guesses the format: .npy magic, JSON, or COLMAP file names. */
export function guessTrackFormat(input: ImportTrackInput): TrackFormat {
  const names = input.files ? [...(input.files instanceof Map ? input.files.keys() : Object.keys(input.files))] : [];
  if (names.some((n) => n.endsWith('cameras.bin') || n.endsWith('images.bin'))) return 'colmap-binary';
  if (names.some((n) => n.endsWith('cameras.txt') || n.endsWith('images.txt'))) return 'colmap-text';
  const c = input.content;
  if (c && c.length >= 6 && c[0] === 0x93 && String.fromCharCode(...c.subarray(1, 6)) === 'NUMPY') return 'llff-npy';
  if (c) {
    const head = new TextDecoder().decode(c.subarray(0, 64)).trimStart();
    if (head.startsWith('{')) return 'transforms-json';
  }
  throw new VaneliaError('pose', 'UNKNOWN_TRACK_FORMAT', 'the camera track format could not be recognised; name it (colmap-text, colmap-binary, transforms-json, llff-npy).');
}

/** Reads a camera track exported by another tool into Vanelia's track (OpenCV camera-to-world). */
export function importTrack(input: ImportTrackInput): CameraTrackData {
  const format = (input.format && input.format.length > 0 ? input.format : guessTrackFormat(input)) as TrackFormat;
  if (!FORMATS.includes(format)) {
    throw new VaneliaError('pose', 'UNKNOWN_TRACK_FORMAT', `camera track format "${format}" is not one of ${FORMATS.join(', ')}.`);
  }
  const size = input.widthPx && input.heightPx ? { widthPx: input.widthPx, heightPx: input.heightPx } : {};
  if (format === 'colmap-text' || format === 'colmap-binary') {
    if (!input.files) throw new VaneliaError('pose', 'INVALID_COLMAP', 'a COLMAP import needs its files (cameras, images, points3D).');
    return colmapToTrack(readColmapFiles(input.files), size);
  }
  if (!input.content || input.content.length === 0) {
    throw new VaneliaError('pose', 'EMPTY_TRACK', `a ${format} import needs the file's content.`);
  }
  if (format === 'llff-npy') return importLlffPosesBounds(input.content, size);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(input.content));
  } catch (cause) {
    throw new VaneliaError('pose', 'INVALID_TRANSFORMS', 'transforms.json is not valid JSON.', { cause });
  }
  const track = transformsJsonToTrack(json, size);
  if (size.widthPx) {
    // Rescale to the requested frame size.
    for (const cam of track.cameras) {
      const k = cam.intrinsics;
      if (k.widthPx !== size.widthPx || k.heightPx !== size.heightPx) cam.intrinsics = scaleIntrinsics(k, size.widthPx, size.heightPx!);
    }
  }
  return track;
}
