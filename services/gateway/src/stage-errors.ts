import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { VaneliaError, errorDetailOf, isVaneliaError, vaneliaErrorFrom, type StageName } from '@vanelia/runtime';

/** Status codes after which the same batch may succeed elsewhere or a moment later. */
const RETRYABLE_CODES = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.ABORTED, GrpcStatus.CANCELLED]);

/** gRPC status name of a failed call or a VaneliaError ("UNAVAILABLE", …; "UNKNOWN" for anything else). */
export function statusNameOf(error: unknown): string {
  if (isVaneliaError(error)) return error.code;
  const code = (error as Partial<ServiceError>)?.code;
  return typeof code === 'number' ? (GrpcStatus[code] ?? 'UNKNOWN') : 'UNKNOWN';
}

/**
 * Whether a stage failure may pass on a retry: a replica that went away, a missed deadline, an
 * overloaded device, a stream cut by a draining server, or an error the stage itself marks retryable.
 * A bad input (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, …) fails the same way every time.
 */
export function isRetryable(error: unknown, stage: StageName): boolean {
  if (isVaneliaError(error)) return error.retryable || RETRYABLE_CODES.has(error.grpcCode);
  const code = (error as Partial<ServiceError>)?.code;
  if (typeof code === 'number' && RETRYABLE_CODES.has(code)) return true;
  return errorDetailOf(error, stage).retryable;
}

/** The failure as a VaneliaError of `stage`, retryable when a retry may pass. */
export function stageFailure(error: unknown, stage: StageName): VaneliaError {
  const failure = vaneliaErrorFrom(error, stage);
  if (failure.retryable || !isRetryable(error, stage)) return failure;
  const sentence = failure.message.slice(failure.stage.length + 2);
  return new VaneliaError(failure.stage, failure.reason, sentence, { code: failure.code, retryable: true, cause: error });
}
