import { Metadata, type ClientReadableStream, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { VaneliaError, type StageName } from '@vanelia/runtime';
import { once } from 'node:events';
import { stageFailure } from './stage-errors';

/**
 * Metadata for stage calls. `waitForReady` waits for the chosen replica's connection instead of failing at
 * once: right for single calls (decode, encode, pose), whose failure costs a restart from the checkpoint;
 * batch calls fail fast instead, since their batches just go to another replica.
 */
export function stageMetadata(waitForReady = true): Metadata {
  return new Metadata({ waitForReady });
}

/** Call options for a stage call: its deadline. */
export function stageCallOptions(deadlineMs: number): { deadline: number } {
  return { deadline: Date.now() + deadlineMs };
}

/**
 * grpc-js streams buffer up to 16 messages each way (Node's object-mode default); a message here is a frame
 * batch (50 MB at 1080p). Lower the read buffer so a slow consumer holds back the sender after `messages`.
 */
export function limitReadBuffer<T extends object>(call: T, messages = 1): T {
  const state = (call as { _readableState?: { highWaterMark: number } })._readableState;
  if (state) state.highWaterMark = messages;
  return call;
}

const pendingWrites = new WeakMap<object, { count: number; wake?: () => void }>();

/**
 * Writes one message and returns once at most `maxPending` of this call's messages are still on their
 * way out (grpc-js calls back when a message is handed to HTTP/2, whose flow control follows the peer):
 * the next batch travels while the peer works on one, and no more than that waits in memory.
 */
export async function writeBounded<T>(call: ClientWritableStream<T> | { write(message: T, cb: (error?: unknown) => void): boolean; on: ClientWritableStream<T>['on']; once: ClientWritableStream<T>['once'] }, message: T, maxPending = 2): Promise<void> {
  let entry = pendingWrites.get(call);
  if (!entry) {
    entry = { count: 0 };
    pendingWrites.set(call, entry);
  }
  const e = entry;
  e.count += 1;
  call.write(message, () => {
    e.count -= 1;
    e.wake?.();
  });
  while (e.count > maxPending) {
    const ac = new AbortController();
    try {
      await Promise.race([
        new Promise<void>((resolve) => (e.wake = resolve)),
        // The call ended (its status arrived) or closed while messages were still queued: stop waiting.
        Promise.race([once(call as never, 'status', { signal: ac.signal }), once(call as never, 'close', { signal: ac.signal })]).then(() => {
          throw new VaneliaError('gateway', 'STREAM_CLOSED', 'the stage call ended while frames were being sent.', { code: 'UNAVAILABLE', retryable: true });
        }),
      ]);
    } finally {
      ac.abort();
      e.wake = undefined;
    }
  }
}

/** Yields a server stream's messages (one buffered at most); a cancelled `signal` cancels the call. */
export async function* readServerStream<T>(stage: StageName, call: ClientReadableStream<T>, signal?: AbortSignal): AsyncGenerator<T> {
  limitReadBuffer(call);
  const onAbort = (): void => call.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const message of call as AsyncIterable<T>) yield message;
  } catch (error) {
    throw asStageError(stage, error, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    call.cancel(); // no-op once the call has ended; frees it when the consumer stopped early
  }
}

/** A failed call as the job's error: "cancelled" when the job's signal did it, else the stage's own. */
export function asStageError(stage: StageName, error: unknown, signal?: AbortSignal): VaneliaError {
  if (signal?.aborted) return new VaneliaError('gateway', 'CANCELLED', 'the job was cancelled.', { code: 'CANCELLED', cause: error });
  return stageFailure(error, stage);
}

/** A client-streaming call and its single response. */
export interface ClientStreamCall<Req, Res> {
  call: ClientWritableStream<Req>;
  result: Promise<Res>;
}

export function openClientStream<Req, Res>(open: (callback: (error: ServiceError | null, response?: Res) => void) => ClientWritableStream<Req>): ClientStreamCall<Req, Res> {
  let call!: ClientWritableStream<Req>;
  const result = new Promise<Res>((resolve, reject) => {
    call = open((error, response) => (error ? reject(error) : resolve(response as Res)));
  });
  result.catch(() => undefined); // observed by the caller; avoids an unhandled rejection meanwhile
  return { call, result };
}
