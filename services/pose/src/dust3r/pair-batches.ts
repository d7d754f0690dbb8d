import { VaneliaError } from '@vanelia/runtime';
import type { ImagePair } from './scene-graph';

/** Height and width of a frame at the model's input size (pixels). */
export interface ModelShape {
  heightPx: number;
  widthPx: number;
}

/** Pairs that run through the decoder together: all share the shapes of view 1 and of view 2. */
export interface PairBatch {
  pairs: ImagePair[];
  first: ModelShape;
  second: ModelShape;
}

/** Default pairs per decoder batch. */
export const DEFAULT_PAIR_BATCH_SIZE = 8;

/**
 * Groups pairs into decoder batches of at most `batchSize`, only pairs with the same (view 1, view 2)
 * sizes together (a batch is one tensor). Keeps the pairs' order inside each size group; groups come in
 * the order their first pair appears.
 */
export function batchPairs(
  pairs: readonly ImagePair[],
  shapeOf: (frame: number) => ModelShape,
  batchSize = DEFAULT_PAIR_BATCH_SIZE,
): PairBatch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new VaneliaError('pose', 'INVALID_BATCH_SIZE', `pair batch size must be a positive integer, got ${batchSize}.`);
  }
  const groups = new Map<string, { first: ModelShape; second: ModelShape; pairs: ImagePair[] }>();
  for (const pair of pairs) {
    const first = shapeOf(pair.first);
    const second = shapeOf(pair.second);
    const key = `${first.heightPx}x${first.widthPx}|${second.heightPx}x${second.widthPx}`;
    let group = groups.get(key);
    if (!group) {
      group = { first, second, pairs: [] };
      groups.set(key, group);
    }
    group.pairs.push(pair);
  }
  const batches: PairBatch[] = [];
  for (const group of groups.values()) {
    for (let start = 0; start < group.pairs.length; start += batchSize) {
      batches.push({ first: group.first, second: group.second, pairs: group.pairs.slice(start, start + batchSize) });
    }
  }
  return batches;
}
