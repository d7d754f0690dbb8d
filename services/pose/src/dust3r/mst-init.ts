import { VaneliaError } from '@vanelia/runtime';
import { estimateFocalWeiszfeld, procrustes, type SimilarityTransform } from '../geometry';
import type { AlignmentState } from './alignment-state';
import type { PairObservation, SampleGrid } from './pair-observations';

/** Focal range DUSt3R allows, as multiples of the focal of a 60° field of view over the long side. */
export const FOCAL_RANGE = { min: 0.5, max: 3.5 } as const;

export function focalBasePx(grid: SampleGrid): number {
  return Math.max(grid.shape.widthPx, grid.shape.heightPx) / (2 * Math.tan(Math.PI / 6));
}

function transformPoints(sim: SimilarityTransform, points: Float64Array): Float64Array {
  const { scale: s, rotation: r, translation: t } = sim;
  const out = new Float64Array(points.length);
  for (let k = 0; k < points.length; k += 3) {
    const x = points[k];
    const y = points[k + 1];
    const z = points[k + 2];
    out[k] = s * (r[0] * x + r[1] * y + r[2] * z) + t[0];
    out[k + 1] = s * (r[3] * x + r[4] * y + r[5] * z) + t[1];
    out[k + 2] = s * (r[6] * x + r[7] * y + r[8] * z) + t[2];
  }
  return out;
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Kruskal on the edge scores (strongest first): the maximum spanning tree's edge indices, strongest first. */
function maximumSpanningTree(observations: readonly PairObservation[], frameCount: number): number[] {
  const parent = Array.from({ length: frameCount }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  const order = observations.map((_, e) => e).sort((a, b) => observations[b].score - observations[a].score);
  const tree: number[] = [];
  for (const e of order) {
    const a = find(observations[e].first);
    const b = find(observations[e].second);
    if (a === b) continue;
    parent[a] = b;
    tree.push(e);
  }
  if (tree.length !== frameCount - 1) {
    throw new VaneliaError('pose', 'DISCONNECTED_PAIRS', `the image pairs do not connect all ${frameCount} frames.`);
  }
  return tree;
}

/**
 * DUSt3R's initialisation: walk the maximum spanning tree of edge scores from its strongest edge, placing
 * each new frame's pointmap into the world by confidence-weighted scaled Procrustes on the frame it shares
 * with the placed part; then per frame a focal (Weiszfeld, from its most confident view-1 pointmap), a pose
 * and depths (Procrustes of that pointmap onto the frame's world points), and per pair the similarity that
 * best carries both its pointmaps onto the world points.
 */
export function initialiseFromSpanningTree(grids: readonly SampleGrid[], observations: readonly PairObservation[]): AlignmentState {
  const n = grids.length;
  const tree = maximumSpanningTree(observations, n);
  const world: Array<Float64Array | undefined> = new Array(n);
  const root = observations[tree[0]];
  world[root.first] = Float64Array.from(root.pts1);
  world[root.second] = Float64Array.from(root.pts2);
  const todo = tree.slice(1);
  while (todo.length > 0) {
    const at = todo.findIndex((e) => (world[observations[e].first] === undefined) !== (world[observations[e].second] === undefined));
    const o = observations[todo.splice(at, 1)[0]];
    const placedFirst = world[o.first] !== undefined;
    const sim = placedFirst
      ? procrustes(o.pts1, world[o.first]!, { weights: o.weight1 })
      : procrustes(o.pts2, world[o.second]!, { weights: o.weight2 });
    if (placedFirst) world[o.second] = transformPoints(sim, o.pts2);
    else world[o.first] = transformPoints(sim, o.pts1);
  }

  // Each frame's most confident pair in which it is view 1 gives its focal, pose and depths.
  const best = new Array<number>(n).fill(-1);
  observations.forEach((o, e) => {
    if (best[o.first] < 0 || o.score > observations[best[o.first]].score) best[o.first] = e;
  });
  const rotation = [];
  const translation = [];
  const focalPx = new Float64Array(n);
  const depth: Float64Array[] = [];
  for (let f = 0; f < n; f++) {
    const grid = grids[f];
    const x = world[f]!;
    if (best[f] < 0) {
      throw new VaneliaError('pose', 'FRAME_NEVER_FIRST', `frame ${f} is never view 1 of a pair; use a symmetric scene graph.`, {
        code: 'INTERNAL',
      });
    }
    const o = observations[best[f]];
    const base = focalBasePx(grid);
    const estimate = estimateFocalWeiszfeld(o.pts1, grid.centred, { weights: o.weight1 });
    focalPx[f] = Number.isFinite(estimate) ? Math.min(Math.max(estimate, FOCAL_RANGE.min * base), FOCAL_RANGE.max * base) : base;
    const sim = procrustes(o.pts1, x, { weights: o.weight1 });
    rotation.push(sim.rotation);
    translation.push(Float64Array.from(sim.translation));
    const r = sim.rotation;
    const t = sim.translation;
    const d = new Float64Array(grid.pixelIndex.length);
    for (let p = 0; p < d.length; p++) {
      const dx = x[3 * p] - t[0];
      const dy = x[3 * p + 1] - t[1];
      const dz = x[3 * p + 2] - t[2];
      // z of Rᵀ (X − t): the third column of R dotted with the offset.
      d[p] = Math.max(r[2] * dx + r[5] * dy + r[8] * dz, 1e-6);
    }
    depth.push(d);
  }

  const edgeScale = new Float64Array(observations.length);
  const edgeRotation = [];
  const edgeTranslation = [];
  for (let e = 0; e < observations.length; e++) {
    const o = observations[e];
    const sim = procrustes(concat(o.pts1, o.pts2), concat(world[o.first]!, world[o.second]!), {
      weights: concat(o.weight1, o.weight2),
    });
    edgeScale[e] = sim.scale > 0 ? sim.scale : 1;
    edgeRotation.push(sim.rotation);
    edgeTranslation.push(Float64Array.from(sim.translation));
  }
  return { grids, observations, rotation, translation, focalPx, depth, edgeScale, edgeRotation, edgeTranslation };
}
