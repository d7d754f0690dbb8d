import type { ClientDuplexStream, ClientReadableStream, ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { VaneliaError, vaneliaErrorFrom, writeMessage, type StageName } from '@vanelia/runtime';

/** Yields a server stream's messages; a cancelled `signal` cancels the call. */
export async function* readServerStream<T>(stage: StageName, call: ClientReadableStream<T>, signal?: AbortSignal): AsyncGenerator<T> {
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

function asStageError(stage: StageName, error: unknown, signal?: AbortSignal): VaneliaError {
  if (signal?.aborted) return new VaneliaError('gateway', 'CANCELLED', 'the job was cancelled.', { code: 'CANCELLED', cause: error });
  return vaneliaErrorFrom(error, stage);
}

export interface BidiOptions {
  /** Messages written but not yet answered, at most (bounds memory: each holds a frame batch). */
  maxInFlight?: number;
  signal?: AbortSignal;
}

/**
 * Runs a bidi stage that answers each request message (after the first, its config) with one response:
 * a pump writes `first` then `input` while responses are read, so the stage works while the next batch
 * travels; at most `maxInFlight` batches are outstanding.
 */
export async function* pipeBidi<Req, Res>(
  stage: StageName,
  call: ClientDuplexStream<Req, Res>,
  first: Req,
  input: AsyncIterable<Req>,
  options: BidiOptions = {},
): AsyncGenerator<Res> {
  const maxInFlight = options.maxInFlight ?? 3;
  let inFlight = 0;
  let wakePump: (() => void) | undefined;
  let pumpError: unknown;
  const onAbort = (): void => call.cancel();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const pump = (async () => {
    await writeMessage(call, first);
    for await (const message of input) {
      while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (wakePump = resolve));
      inFlight += 1;
      await writeMessage(call, message);
    }
    call.end();
  })().catch((error: unknown) => {
    pumpError = error;
    call.cancel();
  });

  try {
    for await (const response of call as AsyncIterable<Res>) {
      inFlight -= 1;
      wakePump?.();
      wakePump = undefined;
      yield response;
    }
    await pump;
    if (pumpError) throw pumpError;
  } catch (error) {
    // A failing input (an upstream stage) cancels this call: report the upstream cause, not the cancel.
    throw pumpError !== undefined ? pumpError : asStageError(stage, error, options.signal);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    call.cancel();
    wakePump?.();
  }
}

/** Streams `first` then `input` into a client-streaming call and returns its single response. */
export async function pipeClientStream<Req, Res>(
  stage: StageName,
  open: (callback: (error: ServiceError | null, response?: Res) => void) => ClientWritableStream<Req>,
  first: Req,
  input: AsyncIterable<Req>,
  signal?: AbortSignal,
): Promise<Res> {
  let call: ClientWritableStream<Req> | undefined;
  const result = new Promise<Res>((resolve, reject) => {
    call = open((error, response) => (error ? reject(error) : resolve(response as Res)));
  });
  result.catch(() => undefined); // observed below; avoids an unhandled rejection while the pump runs
  const onAbort = (): void => call?.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await writeMessage(call!, first);
    for await (const message of input) await writeMessage(call!, message);
    call!.end();
    return await result;
  } catch (error) {
    call?.cancel();
    // Prefer the server's own status when it failed first (it explains why the writes stopped).
    const serverError = await result.then(() => undefined, (e: unknown) => e);
    throw asStageError(stage, serverError ?? error, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
