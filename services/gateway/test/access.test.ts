import { Metadata } from '@grpc/grpc-js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiTokens, authorize, bearerToken } from '../src/access';

describe('API access', () => {
  const call = (authorization?: string): Metadata => {
    const m = new Metadata();
    if (authorization !== undefined) m.set('authorization', authorization);
    return m;
  };

  it('reads bearer tokens from metadata', () => {
    expect(bearerToken(call('Bearer abc'))).toBe('abc');
    expect(bearerToken(call('bearer  abc '))).toBe('abc');
    expect(bearerToken(call('Basic abc'))).toBe('');
    expect(bearerToken(call())).toBe('');
  });

  it('lets anyone in with no tokens and no TLS; otherwise asks for a listed token', () => {
    const open = { tokens: new ApiTokens([]), mutualTls: false, plainRefused: false };
    expect(() => authorize(call(), open)).not.toThrow();
    const guarded = { ...open, tokens: new ApiTokens(['one', 'two']) };
    expect(() => authorize(call('Bearer two'), guarded)).not.toThrow();
    expect(() => authorize(call('Bearer three'), guarded)).toThrow('gateway: the token is not valid.');
    expect(() => authorize(call(), guarded)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => authorize(call(), { ...open, mutualTls: true, tokens: new ApiTokens(['one']) })).not.toThrow();
    expect(() => authorize(call('Bearer one'), { ...open, plainRefused: true })).toThrow(/use the TLS port/);
  });

  it('reads a token file and follows its changes (rotation without a restart)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vanelia-tokens-'));
    try {
      const file = join(dir, 'tokens');
      await writeFile(file, '# team tokens\nalpha\n\n beta \n');
      const tokens = new ApiTokens(['env-token'], file);
      expect(['alpha', 'beta', 'env-token', 'gamma'].map((t) => tokens.accepts(t))).toEqual([true, true, true, false]);
      await writeFile(file, 'gamma\n');
      await new Promise((r) => setTimeout(r, 2100)); // re-read at most every 2 s
      expect(['alpha', 'gamma', 'env-token'].map((t) => tokens.accepts(t))).toEqual([false, true, true]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
