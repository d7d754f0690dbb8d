/**
 * Batch size: chosen from the provider and the device memory unless set, and halved on out-of-memory with the
 * failed chunk retried, so no frame is lost or done twice.
 */
import { isVaneliaError, type Logger } from '@vanelia/runtime';

export interface BatchSizeHints {
  /** Provider that runs the UNet ('cpu', 'webgpu', 'cuda', 'tensorrt'). */
  provider: string;
  /** Device memory in GiB; 0 when unknown. */
  deviceMemoryGiB: number;
}

/** 1 on the CPU (batching does not help there), 8 on cards of 70 GiB or more, 4 otherwise. */
export function chooseBatchSize(hints: BatchSizeHints): number {
  if (hints.provider === 'cpu') return 1;
  return hints.deviceMemoryGiB >= 70 ? 8 : 4;
}

export function isOutOfMemory(error: unknown): boolean {
  return isVaneliaError(error) && error.reason === 'OUT_OF_MEMORY';
}

/**
 * Runs `work` over `items` in chunks of `state.batchSize`; on out-of-memory halves the size (down to 1) and
 * retries the same chunk. Results come back in item order. `state.batchSize` keeps the reduced size for later
 * calls; `warnings` gets one line per reduction.
 */
export async function runInChunks<T, R>(
  items: readonly T[],
  state: { batchSize: number },
  work: (chunk: readonly T[], batchSize: number) => Promise<R[]>,
  warnings: string[],
  logger: Logger,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  while (next < items.length) {
    const size = state.batchSize;
    const chunk = items.slice(next, next + size);
    try {
      const out = await work(chunk, size);
      if (out.length !== chunk.length) throw new RangeError(`a chunk of ${chunk.length} gave ${out.length} results`);
      results.push(...out);
      next += chunk.length;
    } catch (error) {
      if (!isOutOfMemory(error) || size <= 1) throw error;
      state.batchSize = Math.max(1, Math.floor(size / 2));
      const line = `out of device memory at batch ${size}; retrying at batch ${state.batchSize}`;
      warnings.push(line);
      logger.warn(line, { error });
    }
  }
  return results;
}
