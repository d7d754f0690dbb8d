import { parentPort } from 'node:worker_threads';
import { isVaneliaError } from '@vanelia/runtime';
import { finishFrame, finishedTransferables, type FinishTask } from './frame-finish';

/**
 * Entry of a frame-pool worker (node:worker_threads): finishes frames (assemble, composite, inpaint mask,
 * I420 conversions) one message at a time and answers with the result, its buffers transferred. Errors go
 * back as data (a VaneliaError's fields, or a message), so one bad frame fails its job, not the worker.
 * Bundled next to the service's bundle as frame-worker.mjs (see frame-pool.ts).
 */

export interface WorkerRequest {
  id: number;
  task: FinishTask;
}

export type WorkerReply =
  | { id: number; ok: true; result: ReturnType<typeof finishFrame> }
  | { id: number; ok: false; error: { message: string; stage?: string; reason?: string; code?: string; retryable?: boolean } };

const port = parentPort;
if (!port) throw new Error('frame-worker runs only as a worker thread');

port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const result = finishFrame(request.task);
    transfer = finishedTransferables(result);
    reply = { id: request.id, ok: true, result };
  } catch (error) {
    const e = error as Error;
    reply = isVaneliaError(error)
      ? { id: request.id, ok: false, error: { message: error.message, stage: error.stage, reason: error.reason, code: error.code, retryable: error.retryable } }
      : { id: request.id, ok: false, error: { message: e?.message ?? String(error) } };
  }
  port.postMessage(reply, transfer);
});
port.postMessage({ ready: true });
