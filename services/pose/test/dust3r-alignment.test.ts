import { describe, expect, it } from 'vitest';
import { mat3Multiply, mat3Transpose, mat4FromRotationTranslation, mat4Rotation, mat4Translation, procrustes, rotationDistanceDeg, type Mat4 } from '../src/geometry';
import { dust3rObjective, refineWithAdam } from '../src/dust3r/adam-reference';
import { normaliseScale } from '../src/dust3r/alignment-state';
import { initialiseFromSpanningTree } from '../src/dust3r/mst-init';
import { solveEnvelopeCholesky } from '../src/dust3r/envelope-cholesky';
import { alignGlobally, alignGloballyAsync } from '../src/dust3r/global-alignment';
import { observePair, sampleGrid } from '../src/dust3r/pair-observations';
import { makePairs } from '../src/dust3r/scene-graph';
import { syntheticPredictions, syntheticScene } from '../src/dust3r/synthetic-scene';

/** Worst rotation error over all camera pairs (gauge-free). */
function worstRelativeRotationDeg(estimated: readonly Mat4[], truth: readonly Mat4[]): number {
  let worst = 0;
  for (let i = 0; i < truth.length; i++) {
    for (let j = i + 1; j < truth.length; j++) {
      const e = mat3Multiply(mat3Transpose(mat4Rotation(estimated[i])), mat4Rotation(estimated[j]));
      const t = mat3Multiply(mat3Transpose(mat4Rotation(truth[i])), mat4Rotation(truth[j]));
      worst = Math.max(worst, rotationDistanceDeg(e, t));
    }
  }
  return worst;
}

/** Largest camera-centre error after the best similarity, relative to the trajectory's extent. */
function worstCentreError(estimated: readonly Mat4[], truth: readonly Mat4[]): number {
  const centres = (ms: readonly Mat4[]) => Float64Array.from(ms.flatMap((m) => Array.from(mat4Translation(m))));
  const a = centres(estimated);
  const b = centres(truth);
  const sim = procrustes(a, b);
  let extent = 0;
  let worst = 0;
  for (let i = 0; i < truth.length; i++) {
    for (let j = 0; j < truth.length; j++) extent = Math.max(extent, Math.hypot(b[3 * i] - b[3 * j], b[3 * i + 1] - b[3 * j + 1], b[3 * i + 2] - b[3 * j + 2]));
    const p = [0, 1, 2].map((k) => sim.scale * (sim.rotation[k * 3] * a[3 * i] + sim.rotation[k * 3 + 1] * a[3 * i + 1] + sim.rotation[k * 3 + 2] * a[3 * i + 2]) + sim.translation[k]);
    worst = Math.max(worst, Math.hypot(p[0] - b[3 * i], p[1] - b[3 * i + 1], p[2] - b[3 * i + 2]));
  }
  return worst / extent;
}

function setup(frames: number, noise: number, graph = 'swin-3-noncyclic') {
  const scene = syntheticScene({ frames, shape: { heightPx: 48, widthPx: 64 }, focalPx: 58 });
  const predictions = syntheticPredictions(scene, makePairs(graph, frames), { noise });
  const grids = scene.cameras.map(() => sampleGrid(scene.shape, 512));
  return { scene, grids, observations: predictions.map((p) => observePair(p, grids)) };
}

describe('DUSt3R global alignment', () => {
  it('recovers exact poses and focals from exact pointmaps of known cameras', () => {
    const { scene, grids, observations } = setup(8, 0);
    const result = alignGlobally(grids, observations);
    const estimated = result.cameras.map((c) => c.cameraToWorldOpenCv);
    expect(worstRelativeRotationDeg(estimated, scene.cameras)).toBeLessThan(1e-3);
    expect(worstCentreError(estimated, scene.cameras)).toBeLessThan(1e-4);
    for (const camera of result.cameras) expect(camera.focalPx / scene.focalPx).toBeCloseTo(1, 4);
    expect(result.finalLoss).toBeLessThan(1e-5);
  });

  it('refines noisy pairwise predictions beyond the spanning-tree start and lowers DUSt3R loss', () => {
    const { scene, grids, observations } = setup(16, 0.01);
    const init = alignGlobally(grids, observations, { initOnly: true });
    const refined = alignGlobally(grids, observations);
    expect(refined.finalLoss).toBeLessThan(init.finalLoss * 0.95);
    const initError = worstRelativeRotationDeg(init.cameras.map((c) => c.cameraToWorldOpenCv), scene.cameras);
    const refinedError = worstRelativeRotationDeg(refined.cameras.map((c) => c.cameraToWorldOpenCv), scene.cameras);
    expect(refinedError).toBeLessThan(initError);
    expect(refinedError).toBeLessThan(0.6);
    const refinedCentres = worstCentreError(refined.cameras.map((c) => c.cameraToWorldOpenCv), scene.cameras);
    expect(refinedCentres).toBeLessThan(0.03);
    for (const camera of refined.cameras) expect(Math.abs(camera.focalPx / scene.focalPx - 1)).toBeLessThan(0.02);
    // Converged: more iterations change the loss by less than 0.1 %.
    const longer = alignGlobally(grids, observations, { maxIterations: 60, tolerance: 0 });
    expect(Math.abs(longer.finalLoss - refined.finalLoss)).toBeLessThan(1e-3 * refined.finalLoss);
  });

  it('works with the complete graph (dense reduced system) and one reference frame', () => {
    for (const graph of ['complete', 'oneref-2']) {
      const { scene, grids, observations } = setup(6, 0.002, graph);
      const result = alignGlobally(grids, observations);
      expect(worstRelativeRotationDeg(result.cameras.map((c) => c.cameraToWorldOpenCv), scene.cameras)).toBeLessThan(0.3);
    }
  });

  it('gives the same result asynchronously, and stops when cancelled', async () => {
    const { grids, observations } = setup(6, 0.005);
    const sync = alignGlobally(grids, observations);
    const async = await alignGloballyAsync(grids, observations);
    expect(async.finalLoss).toBe(sync.finalLoss);
    expect(Array.from(async.cameras[3].cameraToWorldOpenCv)).toEqual(Array.from(sync.cameras[3].cameraToWorldOpenCv));
    const controller = new AbortController();
    const running = alignGloballyAsync(grids, observations, {}, controller.signal);
    controller.abort();
    await expect(running).rejects.toThrow(/pose: tracking was cancelled/);
  });

  it('rejects pairs that leave frames disconnected', () => {
    const { grids, observations } = setup(4, 0, 'swin-1-noncyclic');
    const cut = observations.filter((o) => !(Math.min(o.first, o.second) === 1 && Math.max(o.first, o.second) === 2));
    expect(() => alignGlobally(grids, cut)).toThrow(/pose: the image pairs do not connect all 4 frames/);
  });
});

describe('envelope Cholesky', () => {
  it('solves banded and dense SPD systems like the definition', () => {
    const n = 9;
    for (const band of [1, 3, n]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) if (Math.abs(i - j) <= band) a[i * n + j] = i === j ? 10 + i : 1 / (1 + i + j);
      }
      const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
      const b = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i] += a[i * n + j] * x[j];
      const solved = solveEnvelopeCholesky(a, b, n)!;
      for (let i = 0; i < n; i++) expect(solved[i]).toBeCloseTo(x[i], 10);
    }
    expect(solveEnvelopeCholesky(Float64Array.of(1, 2, 2, 1), Float64Array.of(1, 1), 2)).toBeUndefined();
  });
});

describe("DUSt3R's Adam refinement (reference)", () => {
  it('has an analytic gradient that matches finite differences', () => {
    const { grids, observations } = setup(3, 0.01, 'complete');
    const start = initialiseFromSpanningTree(grids, observations);
    normaliseScale(start, 0.5);
    const objective = dust3rObjective(start);
    const x = Float64Array.from(objective.x0, (v, i) => v + 0.01 * Math.sin(i));
    const grad = new Float64Array(x.length);
    objective.evaluate(x, grad);
    const scratch = new Float64Array(x.length);
    const indices = [0, 1, 3, 4, 6, 7, 8, 20, 9 + start.depth[0].length, x.length - 8, x.length - 5, x.length - 1];
    for (const i of indices) {
      const h = 1e-6;
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[i] += h;
      minus[i] -= h;
      const numeric = (objective.evaluate(plus, scratch) - objective.evaluate(minus, scratch)) / (2 * h);
      expect(grad[i]).toBeCloseTo(numeric, 6);
    }
  });

  it('ends no lower than our solver from the same start (300 Adam steps vs a few of ours)', () => {
    const { scene, grids, observations } = setup(8, 0.01);
    const start = initialiseFromSpanningTree(grids, observations);
    normaliseScale(start, 0.5);
    const adam = refineWithAdam(start);
    const ours = alignGlobally(grids, observations);
    expect(ours.finalLoss).toBeLessThanOrEqual(adam.loss);
    expect(ours.iterations).toBeLessThan(20);
    const adamPoses = adam.state.rotation.map((r, n) => mat4FromRotationTranslation(r, adam.state.translation[n]));
    // Both land at the noise level of the pointmaps (1 %): well under a degree between any two cameras.
    expect(worstRelativeRotationDeg(ours.cameras.map((c) => c.cameraToWorldOpenCv), scene.cameras)).toBeLessThan(0.6);
    expect(worstRelativeRotationDeg(adamPoses, scene.cameras)).toBeLessThan(0.6);
  });
});
