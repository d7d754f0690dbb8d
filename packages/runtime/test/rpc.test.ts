import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { VaneliaError } from '../src/errors';
import { silentLogger } from '../src/logger';
import { errorDetailOf, toServiceError, vaneliaErrorFrom } from '../src/rpc';

describe('errors at the RPC boundary', () => {
  it('carries a VaneliaError across as status + ErrorDetail and back', () => {
    const original = new VaneliaError('compositor', 'INVALID_GLB', 'GLB chunk 1 is truncated.', { code: 'INVALID_ARGUMENT' });
    const wire = toServiceError('compositor', original, silentLogger);
    expect(wire.code).toBe(status.INVALID_ARGUMENT);
    expect(errorDetailOf(wire, 'gateway')).toEqual({ stage: 'compositor', reason: 'INVALID_GLB', message: 'compositor: GLB chunk 1 is truncated.', retryable: false });
    const back = vaneliaErrorFrom(wire, 'gateway');
    expect(back.message).toBe('compositor: GLB chunk 1 is truncated.');
    expect(back.code).toBe('INVALID_ARGUMENT');
  });

  it('hides unknown errors from clients', () => {
    const wire = toServiceError('pose', new Error('secret stack detail'), silentLogger);
    expect(wire.code).toBe(status.INTERNAL);
    expect(wire.details).toBe('pose: internal error.');
  });

  it('reports a stream the peer closed early as cancelled, not as an internal error', () => {
    const closed = Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    const wire = toServiceError('compositor', closed, silentLogger);
    expect(wire.code).toBe(status.CANCELLED);
    expect(wire.details).toBe('compositor: the call was cancelled.');
  });

  it('describes plain gRPC failures of a stage', () => {
    const failure = Object.assign(new Error('14 UNAVAILABLE: down'), { code: status.UNAVAILABLE, details: 'down', metadata: new Metadata() });
    expect(errorDetailOf(failure, 'inpaint')).toMatchObject({ stage: 'inpaint', reason: 'UNAVAILABLE', retryable: true });
  });
});
