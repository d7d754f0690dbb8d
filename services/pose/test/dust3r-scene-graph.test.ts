import { describe, expect, it } from 'vitest';
import { batchPairs } from '../src/dust3r/pair-batches';
import { observePair, sampleGrid } from '../src/dust3r/pair-observations';
import { makePairs, pairsConnectAll, parseSceneGraph } from '../src/dust3r/scene-graph';

const undirected = (pairs: Array<{ first: number; second: number }>): string[] =>
  [...new Set(pairs.map((p) => `${Math.min(p.first, p.second)}-${Math.max(p.first, p.second)}`))].sort();

describe('DUSt3R scene graphs', () => {
  it('complete: every pair in both directions', () => {
    const pairs = makePairs('complete', 4);
    expect(pairs).toHaveLength(12);
    expect(undirected(pairs)).toEqual(['0-1', '0-2', '0-3', '1-2', '1-3', '2-3']);
    for (const p of pairs) expect(pairs.some((q) => q.first === p.second && q.second === p.first)).toBe(true);
  });

  it('swin-k wraps around unless -noncyclic', () => {
    expect(undirected(makePairs('swin-2', 5))).toEqual(['0-1', '0-2', '0-3', '0-4', '1-2', '1-3', '2-3', '2-4', '3-4', '1-4'].sort());
    expect(undirected(makePairs('swin-2-noncyclic', 5))).toEqual(['0-1', '0-2', '1-2', '1-3', '2-3', '2-4', '3-4']);
    // 100 frames, window 4, no wrap: 4·100 − (1+2+3+4) undirected pairs, twice that directed.
    expect(makePairs('swin-4-noncyclic', 100)).toHaveLength(2 * 390);
  });

  it('logwin-k pairs each frame with offsets 1, 2, 4 … both ways', () => {
    const pairs = undirected(makePairs('logwin-3-noncyclic', 9));
    expect(pairs).toContain('0-4');
    expect(pairs).toContain('4-8');
    expect(pairs).not.toContain('0-3');
    expect(pairs).not.toContain('0-8');
    expect(undirected(makePairs('logwin-2', 6))).toContain('0-5');
  });

  it('oneref-r pairs the reference with every other frame', () => {
    expect(undirected(makePairs('oneref-1', 4))).toEqual(['0-1', '1-2', '1-3']);
    expect(() => makePairs('oneref-7', 4)).toThrow(/pose: oneref-7 names a reference frame past the last of 4 frames/);
  });

  it('rejects unknown names and too few frames with clear errors', () => {
    expect(() => parseSceneGraph('sliding-3')).toThrow(/pose: scene graph "sliding-3" is not recognised/);
    expect(() => parseSceneGraph('complete-3')).toThrow(/takes no number/);
    expect(() => parseSceneGraph('oneref-1-noncyclic')).toThrow(/cannot be -noncyclic/);
    expect(() => parseSceneGraph('swin-0')).toThrow(/at least 1/);
    expect(() => makePairs('complete', 1)).toThrow(/at least 2 frames/);
    expect(parseSceneGraph('swin')).toEqual({ kind: 'swin', k: 3, cyclic: true });
  });

  it('tells whether pairs connect all frames', () => {
    expect(pairsConnectAll(makePairs('swin-1-noncyclic', 6), 6)).toBe(true);
    expect(pairsConnectAll([{ first: 0, second: 1 }, { first: 2, second: 3 }], 4)).toBe(false);
  });
});

describe('pair batches', () => {
  it('batches only pairs of the same view sizes, at most batchSize each, in order', () => {
    const pairs = makePairs('complete', 5);
    const shape = (f: number) => (f < 3 ? { heightPx: 288, widthPx: 512 } : { heightPx: 384, widthPx: 512 });
    const batches = batchPairs(pairs, shape, 3);
    expect(batches.flatMap((b) => b.pairs)).toHaveLength(pairs.length);
    for (const batch of batches) {
      expect(batch.pairs.length).toBeGreaterThan(0);
      expect(batch.pairs.length).toBeLessThanOrEqual(3);
      for (const p of batch.pairs) {
        expect(shape(p.first)).toEqual(batch.first);
        expect(shape(p.second)).toEqual(batch.second);
      }
    }
    // Four size combinations: (small, small) has 6 pairs → 2 batches; (large, large) 2 pairs → 1 batch;
    // each mixed combination 6 pairs → 2 batches.
    expect(batches).toHaveLength(7);
  });

  it('defaults to 8 pairs a batch and rejects bad sizes', () => {
    const shape = () => ({ heightPx: 288, widthPx: 512 });
    expect(batchPairs(makePairs('swin-2-noncyclic', 10), shape).map((b) => b.pairs.length)).toEqual([8, 8, 8, 8, 2]);
    expect(() => batchPairs([], shape, 0)).toThrow(/pose: pair batch size must be a positive integer, got 0/);
  });
});

describe('pair observations', () => {
  it('samples an even grid, weights by log confidence and rejects maps without finite points', () => {
    const shape = { heightPx: 8, widthPx: 16 };
    const grid = sampleGrid(shape, 32);
    expect(grid.pixelIndex.length).toBe(32);
    expect([grid.centred[0], grid.centred[1]]).toEqual([1.5 - 8, 1.5 - 4]);
    const n = 128;
    const pts = Float32Array.from({ length: 3 * n }, (_, i) => (i % 3 === 2 ? 2 : 0.1 * (i % 7)));
    const conf = Float32Array.from({ length: n }, (_, i) => (i % 2 ? Math.E : 1));
    const obs = observePair({ first: 0, second: 1, pts1: pts, conf1: conf, pts2: pts, conf2: conf }, [grid, grid]);
    expect(obs.score).toBeCloseTo(((1 + Math.E) / 2) ** 2, 6);
    const k = 3;
    const pixel = grid.pixelIndex[k];
    expect(obs.weight1[k]).toBeCloseTo(pixel % 2 ? 1 : 1e-6, 6);
    const broken = Float32Array.from(pts).fill(Number.NaN);
    expect(() => observePair({ first: 0, second: 1, pts1: broken, conf1: conf, pts2: pts, conf2: conf }, [grid, grid])).toThrow(
      /pose: DUSt3R pair 0→1 view 1 has 0 finite points among 32 samples/,
    );
  });
});
