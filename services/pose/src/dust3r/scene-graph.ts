import { VaneliaError } from '@vanelia/runtime';

/** One directed image pair: `first` is DUSt3R's view 1 (the frame both pointmaps are expressed in). */
export interface ImagePair {
  first: number;
  second: number;
}

/** A parsed scene graph name. */
export interface SceneGraphSpec {
  kind: 'complete' | 'swin' | 'logwin' | 'oneref';
  /** Window size (swin, logwin) or reference frame (oneref); 0 for complete. */
  k: number;
  /** Whether windows wrap around the end of the sequence (swin, logwin); DUSt3R's default is true. */
  cyclic: boolean;
}

/** Default for videos: a sliding window of 4 frames each side, without wrapping the end onto the start. */
export const DEFAULT_SCENE_GRAPH = 'swin-4-noncyclic';

const PATTERN = /^(complete|swin|logwin|oneref)(?:-(\d+))?(-noncyclic)?$/;

/**
 * Parses DUSt3R's scene-graph names: `complete`, `swin-K`, `logwin-K`, `oneref-R`, with `-noncyclic` allowed
 * after swin and logwin. Throws a VaneliaError (INVALID_SCENE_GRAPH) on anything else.
 */
export function parseSceneGraph(name: string): SceneGraphSpec {
  const m = PATTERN.exec(name.trim());
  const bad = (why: string): VaneliaError =>
    new VaneliaError('pose', 'INVALID_SCENE_GRAPH', `scene graph "${name}" ${why}; use complete, swin-K, logwin-K or oneref-R (K ≥ 1, optionally -noncyclic).`);
  if (!m) throw bad('is not recognised');
  const kind = m[1] as SceneGraphSpec['kind'];
  const cyclic = m[3] === undefined;
  if (!cyclic && kind !== 'swin' && kind !== 'logwin') throw bad('cannot be -noncyclic');
  if (kind === 'complete') {
    if (m[2] !== undefined) throw bad('takes no number');
    return { kind, k: 0, cyclic: false };
  }
  const k = m[2] === undefined ? (kind === 'oneref' ? 0 : 3) : Number(m[2]);
  if (kind !== 'oneref' && k < 1) throw bad('needs a window of at least 1');
  return { kind, k, cyclic: kind === 'oneref' ? false : cyclic };
}

function undirectedEdges(spec: SceneGraphSpec, frameCount: number): Array<[number, number]> {
  const n = frameCount;
  const seen = new Set<number>();
  const out: Array<[number, number]> = [];
  const add = (a: number, b: number): void => {
    if (a === b) return;
    const [i, j] = a < b ? [a, b] : [b, a];
    const key = i * n + j;
    if (seen.has(key)) return;
    seen.add(key);
    out.push([i, j]);
  };
  const wrap = (j: number): number | undefined => {
    if (spec.cyclic) return ((j % n) + n) % n;
    return j >= 0 && j < n ? j : undefined;
  };
  switch (spec.kind) {
    case 'complete':
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) add(i, j);
      break;
    case 'swin':
      for (let i = 0; i < n; i++) {
        for (let d = 1; d <= spec.k; d++) {
          const j = wrap(i + d);
          if (j !== undefined) add(i, j);
        }
      }
      break;
    case 'logwin':
      for (let i = 0; i < n; i++) {
        for (let p = 0; p < spec.k; p++) {
          for (const j of [wrap(i - 2 ** p), wrap(i + 2 ** p)]) if (j !== undefined) add(i, j);
        }
      }
      break;
    case 'oneref':
      if (spec.k >= n) {
        throw new VaneliaError('pose', 'INVALID_SCENE_GRAPH', `oneref-${spec.k} names a reference frame past the last of ${n} frames.`);
      }
      for (let j = 0; j < n; j++) add(spec.k, j);
      break;
  }
  return out;
}

/**
 * The directed pairs DUSt3R infers for `frameCount` frames: every undirected edge of the scene graph in
 * both directions (DUSt3R's symmetrisation), so every frame is view 1 of at least one pair. Sorted by
 * (first, second) so batches walk the video in order.
 */
export function makePairs(sceneGraph: string | SceneGraphSpec, frameCount: number): ImagePair[] {
  if (!Number.isInteger(frameCount) || frameCount < 2) {
    throw new VaneliaError('pose', 'TOO_FEW_FRAMES', `DUSt3R needs at least 2 frames, got ${frameCount}.`);
  }
  const spec = typeof sceneGraph === 'string' ? parseSceneGraph(sceneGraph) : sceneGraph;
  const pairs: ImagePair[] = [];
  for (const [i, j] of undirectedEdges(spec, frameCount)) {
    pairs.push({ first: i, second: j }, { first: j, second: i });
  }
  pairs.sort((a, b) => a.first - b.first || a.second - b.second);
  return pairs;
}

/** Whether the pairs connect all frames (the alignment needs one connected graph). */
export function pairsConnectAll(pairs: readonly ImagePair[], frameCount: number): boolean {
  const parent = Array.from({ length: frameCount }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  for (const p of pairs) parent[find(p.first)] = find(p.second);
  const root = find(0);
  for (let i = 1; i < frameCount; i++) if (find(i) !== root) return false;
  return true;
}
