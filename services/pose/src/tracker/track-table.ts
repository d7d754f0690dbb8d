import type { FeatureTracks } from './feature-tracker';

/**
 * Tracks indexed by id: each is observed in consecutive frames first..first+length−1, positions packed
 * xy (continuous pixels). Rejected observations (found to be outliers) are flagged per track.
 */
export interface TrackTable {
  frameCount: number;
  widthPx: number;
  heightPx: number;
  first: Int32Array;
  length: Int32Array;
  xy: Float32Array[];
  rejected: Uint8Array[];
}

export function buildTrackTable(tracks: FeatureTracks): TrackTable {
  const n = tracks.trackCount;
  const first = new Int32Array(n).fill(-1);
  const length = new Int32Array(n);
  tracks.frames.forEach((frame, f) => {
    for (const id of frame.ids) {
      if (first[id] < 0) first[id] = f;
      length[id] = f - first[id] + 1;
    }
  });
  const xy = Array.from({ length: n }, (_, t) => new Float32Array(2 * length[t]));
  tracks.frames.forEach((frame, f) => {
    frame.ids.forEach((id, k) => {
      const at = 2 * (f - first[id]);
      xy[id][at] = frame.xy[2 * k];
      xy[id][at + 1] = frame.xy[2 * k + 1];
    });
  });
  return {
    frameCount: tracks.frames.length,
    widthPx: tracks.widthPx,
    heightPx: tracks.heightPx,
    first,
    length,
    xy,
    rejected: Array.from({ length: n }, (_, t) => new Uint8Array(length[t])),
  };
}

/** Whether track t has a usable observation in frame f. */
export function observes(table: TrackTable, t: number, f: number): boolean {
  const k = f - table.first[t];
  return k >= 0 && k < table.length[t] && !table.rejected[t][k];
}

/** Observation of track t in frame f as [u, v] (call `observes` first). */
export function observation(table: TrackTable, t: number, f: number): [number, number] {
  const k = 2 * (f - table.first[t]);
  return [table.xy[t][k], table.xy[t][k + 1]];
}

/** Ids of the tracks with a usable observation in frame f. */
export function tracksInFrame(table: TrackTable, f: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < table.first.length; t++) if (observes(table, t, f)) out.push(t);
  return out;
}

/** Packed correspondences between frames a and b: track ids and pixels in each. */
export function correspondences(table: TrackTable, a: number, b: number): { ids: number[]; xa: Float64Array; xb: Float64Array } {
  const ids: number[] = [];
  for (let t = 0; t < table.first.length; t++) if (observes(table, t, a) && observes(table, t, b)) ids.push(t);
  const xa = new Float64Array(2 * ids.length);
  const xb = new Float64Array(2 * ids.length);
  ids.forEach((t, k) => {
    xa.set(observation(table, t, a), 2 * k);
    xb.set(observation(table, t, b), 2 * k);
  });
  return { ids, xa, xb };
}
