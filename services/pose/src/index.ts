// @vanelia/pose: camera tracking (DUSt3R or the weight-free tracker), camera-track import/export, anchor.
export * from './camera-track';
export * from './backend';
export * from './anchor';
export * from './track-video';
export * from './cli-track';
export * from './server';
export { TrackerSession, TRACKER_DEFAULTS, type RgbFrame, type TrackerOptions } from './tracker/tracker-session';
export { importTrack, guessTrackFormat, type ImportTrackInput, type TrackFormat } from './io/import-track';
export { trackToTransformsJson, transformsJsonToTrack, type TransformsJson } from './io/transforms-json';
export { colmapToTrack, readColmapFiles, trackToColmap } from './io/colmap-track';
export { importLlffPosesBounds, exportLlffPosesBounds } from './io/llff';
export { readNpy, writeNpy } from './io/npy';
export { createDust3rBackend, type Dust3rBackend } from './dust3r/dust3r-backend';
export { isDust3rInstalled } from './dust3r/dust3r-models';
