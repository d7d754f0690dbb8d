import { status as GrpcStatus } from '@grpc/grpc-js';

/** Pipeline stages, as named in errors, metrics and progress. */
export type StageName = 'decoder' | 'pose' | 'compositor' | 'inpaint' | 'gateway' | 'cli';

/** gRPC status names a domain error may map to. */
export type StatusName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'UNIMPLEMENTED'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'INTERNAL';

export interface VaneliaErrorOptions {
  /** gRPC status the error maps to at the RPC boundary (default INVALID_ARGUMENT). */
  code?: StatusName;
  /** Whether the same request may succeed when retried. */
  retryable?: boolean;
  /** Underlying error, kept for logs, never sent to clients. */
  cause?: unknown;
}

/**
 * An error a person can act on: `stage: sentence.` plus a machine-readable reason and a gRPC status.
 * Domain code throws these; servers turn them into statuses with an ErrorDetail.
 */
export class VaneliaError extends Error {
  readonly stage: StageName;
  readonly reason: string;
  readonly code: StatusName;
  readonly retryable: boolean;

  constructor(stage: StageName, reason: string, sentence: string, options: VaneliaErrorOptions = {}) {
    super(`${stage}: ${sentence}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VaneliaError';
    this.stage = stage;
    this.reason = reason;
    this.code = options.code ?? 'INVALID_ARGUMENT';
    this.retryable = options.retryable ?? false;
  }

  get grpcCode(): GrpcStatus {
    return GrpcStatus[this.code];
  }
}

export function isVaneliaError(error: unknown): error is VaneliaError {
  return error instanceof VaneliaError;
}
