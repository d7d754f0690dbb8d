import {
  Metadata,
  status as GrpcStatus,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { ErrorDetail } from '@vanelia/proto';
import { once } from 'node:events';
import { VaneliaError, isVaneliaError, type StageName } from './errors';
import type { Logger } from './logger';
import { rpcDuration, rpcRequests } from './metrics';

/** Metadata key carrying an encoded vanelia.v1.ErrorDetail on failed calls. */
export const ERROR_DETAIL_KEY = 'vanelia-error-detail-bin';

/** Turns any thrown value into a gRPC ServiceError; unknown errors are logged, never sent to the client. */
export function toServiceError(stage: StageName, error: unknown, logger: Logger): ServiceError {
  const metadata = new Metadata();
  if (isVaneliaError(error)) {
    metadata.set(
      ERROR_DETAIL_KEY,
      Buffer.from(
        ErrorDetail.encode({ stage: error.stage, reason: error.reason, message: error.message, retryable: error.retryable }).finish(),
      ),
    );
    return Object.assign(new Error(error.message), { code: error.grpcCode, details: error.message, metadata });
  }
  const maybe = error as Partial<ServiceError> | undefined;
  if (maybe && typeof maybe.code === 'number' && maybe.metadata instanceof Metadata) {
    return maybe as ServiceError; // already a gRPC error from a downstream call: pass its status on
  }
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    // The peer went away mid-stream (cancelled or disconnected): not a fault of this service.
    logger.debug('stream closed by the peer', { error });
    const cancelled = `${stage}: the call was cancelled.`;
    return Object.assign(new Error(cancelled), { code: GrpcStatus.CANCELLED, details: cancelled, metadata });
  }
  logger.error('unhandled error', { error });
  const message = `${stage}: internal error.`;
  return Object.assign(new Error(message), { code: GrpcStatus.INTERNAL, details: message, metadata });
}

/** Reads the ErrorDetail a failed call carries, or makes one from its status. */
export function errorDetailOf(error: unknown, fallbackStage: StageName): ErrorDetail {
  const serviceError = error as Partial<ServiceError>;
  const raw = serviceError?.metadata?.get?.(ERROR_DETAIL_KEY)?.[0];
  if (raw instanceof Buffer) return ErrorDetail.decode(raw);
  if (isVaneliaError(error)) {
    return { stage: error.stage, reason: error.reason, message: error.message, retryable: error.retryable };
  }
  const code = typeof serviceError?.code === 'number' ? GrpcStatus[serviceError.code] : 'UNKNOWN';
  const retryable = serviceError?.code === GrpcStatus.UNAVAILABLE || serviceError?.code === GrpcStatus.RESOURCE_EXHAUSTED;
  return { stage: fallbackStage, reason: code, message: serviceError?.details ?? (error as Error)?.message ?? String(error), retryable };
}

/** Rebuilds a VaneliaError from a downstream call's failure (keeps its stage and reason). */
export function vaneliaErrorFrom(error: unknown, fallbackStage: StageName): VaneliaError {
  if (isVaneliaError(error)) return error;
  const detail = errorDetailOf(error, fallbackStage);
  const code = (error as Partial<ServiceError>)?.code;
  const statusName = (typeof code === 'number' ? GrpcStatus[code] : 'INTERNAL') as VaneliaError['code'];
  const sentence = detail.message.replace(/^[a-z]+: /, '');
  return new VaneliaError((detail.stage || fallbackStage) as StageName, detail.reason, sentence, {
    code: statusName in GrpcStatus ? statusName : 'INTERNAL',
    retryable: detail.retryable,
    cause: error,
  });
}

/** Writes one message, waiting for the stream to drain when its buffer is full (backpressure). */
export async function writeMessage<T>(stream: { write(message: T): boolean } & NodeJS.EventEmitter, message: T): Promise<void> {
  if (stream.write(message)) return;
  const ac = new AbortController();
  try {
    await Promise.race([
      once(stream, 'drain', { signal: ac.signal }),
      once(stream, 'cancelled', { signal: ac.signal }).then(() => {
        throw new VaneliaError('gateway', 'CANCELLED', 'the peer cancelled the stream.', { code: 'CANCELLED' });
      }),
      once(stream, 'close', { signal: ac.signal }),
    ]);
  } finally {
    ac.abort();
  }
}

export interface RpcContext {
  stage: StageName;
  logger: Logger;
}

function record(ctx: RpcContext, method: string, started: number, code: number): void {
  rpcRequests.inc({ service: ctx.stage, method, code: GrpcStatus[code] ?? String(code) });
  rpcDuration.observe({ service: ctx.stage, method }, (performance.now() - started) / 1000);
}

/** Answers a unary-response call from `work`: errors become statuses; the call is counted and timed. */
function answer<Res>(ctx: RpcContext, method: string, started: number, work: Promise<Res>, callback: sendUnaryData<Res>): void {
  work.then(
    (response) => {
      record(ctx, method, started, GrpcStatus.OK);
      callback(null, response);
    },
    (error: unknown) => {
      const serviceError = toServiceError(ctx.stage, error, ctx.logger);
      record(ctx, method, started, serviceError.code);
      callback(serviceError);
    },
  );
}

/** Adapts an async unary handler: errors become statuses, calls are counted and timed. */
export function unaryHandler<Req, Res>(ctx: RpcContext, method: string, fn: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const started = performance.now();
    answer(ctx, method, started, fn(call.request, call), callback);
  };
}

/** Adapts an async client-streaming handler. */
export function clientStreamHandler<Req, Res>(ctx: RpcContext, method: string, fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>): void => {
    const started = performance.now();
    answer(ctx, method, started, fn(call), callback);
  };
}

/**
 * `for await` over a Node stream destroys it when the loop ends, which on a bidi call would also close
 * the response side before the handler has sent its last messages and status; iterate without that.
 */
function keepOpenAfterReading(call: object): void {
  const readable = call as { iterator?: (options: { destroyOnReturn: boolean }) => AsyncIterator<unknown> };
  if (typeof readable.iterator === 'function') {
    Object.defineProperty(call, Symbol.asyncIterator, { value: () => readable.iterator!({ destroyOnReturn: false }), configurable: true });
  }
}

/** Adapts an async server-streaming or bidi handler: it writes with `writeMessage`, the adapter ends the stream. */
export function streamHandler<Call extends ServerWritableStream<any, any> | ServerDuplexStream<any, any>>(
  ctx: RpcContext,
  method: string,
  fn: (call: Call) => Promise<void>,
) {
  return (call: Call): void => {
    const started = performance.now();
    keepOpenAfterReading(call);
    fn(call).then(
      () => {
        record(ctx, method, started, GrpcStatus.OK);
        call.end();
      },
      (error: unknown) => {
        const serviceError = toServiceError(ctx.stage, error, ctx.logger);
        record(ctx, method, started, serviceError.code);
        // grpc-js turns an 'error' event into the call's final status.
        if (!call.cancelled) call.emit('error', serviceError);
      },
    );
  };
}
