import type { Metadata } from '@grpc/grpc-js';
import { VaneliaError, type Logger } from '@vanelia/runtime';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/**
 * API tokens: from VANELIA_API_TOKENS (comma-separated) and/or a file (one a line, `#` comments; read
 * again when it changes, so tokens rotate without a restart). Compared by SHA-256 in constant time.
 */
export class ApiTokens {
  private fileDigests: Buffer[] = [];
  private fileMtimeMs = -1;
  private checkedAtMs = 0;
  private readonly envDigests: Buffer[];

  constructor(
    tokens: string[],
    private readonly file = '',
    private readonly logger?: Logger,
  ) {
    this.envDigests = tokens.filter(Boolean).map(digest);
    this.reload();
  }

  /** True when any token is configured: calls must then carry one. */
  get enabled(): boolean {
    this.reload();
    return this.envDigests.length + this.fileDigests.length > 0;
  }

  /** Whether `token` is one of the configured tokens. */
  accepts(token: string): boolean {
    this.reload();
    const d = digest(token);
    let ok = false;
    for (const known of [...this.envDigests, ...this.fileDigests]) ok = timingSafeEqual(known, d) || ok;
    return ok;
  }

  private reload(): void {
    if (!this.file || Date.now() - this.checkedAtMs < 2000) return;
    this.checkedAtMs = Date.now();
    try {
      const mtime = statSync(this.file).mtimeMs;
      if (mtime === this.fileMtimeMs) return;
      this.fileMtimeMs = mtime;
      this.fileDigests = readFileSync(this.file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map(digest);
    } catch (error) {
      this.logger?.warn('cannot read the API token file; keeping the tokens read before', { file: this.file, error: (error as Error).message });
    }
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The bearer token of a call's `authorization` metadata ('' when none). */
export function bearerToken(metadata: Metadata): string {
  const value = String(metadata.get('authorization')[0] ?? '');
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match ? match[1].trim() : '';
}

export interface AccessPolicy {
  tokens: ApiTokens;
  /** This listener checks client certificates (mTLS): a verified certificate is enough. */
  mutualTls: boolean;
  /** Tokens are off but an mTLS listener exists: this plain listener refuses the API. */
  plainRefused: boolean;
}

/** Throws UNAUTHENTICATED unless the call may use the API on this listener. */
export function authorize(metadata: Metadata, policy: AccessPolicy): void {
  if (policy.mutualTls) return;
  if (!policy.tokens.enabled) {
    if (policy.plainRefused) {
      throw new VaneliaError('gateway', 'UNAUTHENTICATED', 'this port takes no API calls; use the TLS port with a client certificate.', { code: 'UNAUTHENTICATED' });
    }
    return;
  }
  const token = bearerToken(metadata);
  if (!token) throw new VaneliaError('gateway', 'UNAUTHENTICATED', 'the call carries no token; send metadata "authorization: Bearer <token>".', { code: 'UNAUTHENTICATED' });
  if (!policy.tokens.accepts(token)) throw new VaneliaError('gateway', 'UNAUTHENTICATED', 'the token is not valid.', { code: 'UNAUTHENTICATED' });
}
