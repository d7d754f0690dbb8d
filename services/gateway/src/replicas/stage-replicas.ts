import { credentials, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { HealthClient, VaneliaError, createMeshClient, type Logger, type StageName } from '@vanelia/runtime';
import { stageReplicas } from '../metrics';
import type { EndpointSource } from './endpoint-source';

/** One replica of a stage as the gateway sees it. */
export interface Replica<C> {
  address: string;
  client: C;
  /** Calls this gateway has open on it. */
  active: number;
  /** Its health service says SERVING (true until it says otherwise; false while it drains). */
  serving: boolean;
  /** A call on it failed: avoided until this time (epoch ms) while others are available. */
  avoidUntilMs: number;
}

export interface StageReplicasOptions {
  /** Follow each replica's grpc.health.v1 Watch, so draining replicas get no new calls. */
  watchHealth?: boolean;
  /** How long a replica whose call failed is avoided. */
  failureBackoffMs?: number;
  logger?: Logger;
}


/**
 * A client of one replica: the mesh's codec, limits and 64 MiB receive window (`createMeshClient`; at the
 * 64 KiB default a 50 MB batch waits on ~800 window updates).
 */
export function createStageClient<C extends Client>(Ctor: new (address: string, ...rest: never[]) => C, address: string): C {
  return createMeshClient(Ctor as unknown as Parameters<typeof createMeshClient<C>>[0], address);
}
type HealthWatch = (request: { service: string }) => ClientReadableStream<{ status: string | number }>;
type HealthCheck = (request: { service: string }, options: { deadline: number }, callback: (error: ServiceError | null, response?: { status: string | number }) => void) => void;

/**
 * Every replica of one stage with a client (own channel) each, kept in step with an EndpointSource, and a
 * choice of replica per call: serving, not recently failed, fewest calls open. Work is spread per call;
 * the batch dispatcher opens several calls at once to spread one job's batches.
 */
export class StageReplicas<C extends Client> {
  private readonly replicas = new Map<string, Replica<C> & { health?: Client; closed?: boolean }>();
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: () => void;
  private turn = 0;

  constructor(
    readonly service: Exclude<StageName, 'cli' | 'gateway'>,
    private readonly source: EndpointSource,
    private readonly makeClient: (address: string) => C,
    private readonly options: StageReplicasOptions = {},
  ) {
    this.sync(source.current());
    this.unsubscribe = source.onChange((addresses) => this.sync(addresses));
  }

  /** Clients of a stage service for its replicas (see `createStageClient`). */
  static forClient<C extends Client>(Ctor: new (address: string, ...rest: never[]) => C): (address: string) => C {
    return (address) => createStageClient(Ctor, address);
  }

  list(): Replica<C>[] {
    return [...this.replicas.values()];
  }

  /** The best replica for a new call now, or undefined when none is known and serving. */
  tryPick(avoid: ReadonlySet<string> = new Set()): Replica<C> | undefined {
    const now = Date.now();
    const serving = this.list().filter((r) => r.serving);
    // A replica whose call just failed is used only when no other serves at all (not when the others are busy).
    const healthy = serving.filter((r) => r.avoidUntilMs <= now);
    const pool = (healthy.length > 0 ? healthy : serving).filter((r) => !avoid.has(r.address));
    if (pool.length === 0) return undefined;
    const least = Math.min(...pool.map((r) => r.active));
    const tied = pool.filter((r) => r.active === least);
    this.turn = (this.turn + 1) % 1_000_000;
    return tied[this.turn % tied.length];
  }

  /** Waits for a serving replica (up to `timeoutMs`), then returns the best one. */
  async pick(timeoutMs: number, signal?: AbortSignal): Promise<Replica<C>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const replica = this.tryPick();
      if (replica) return replica;
      if (signal?.aborted) throw new VaneliaError('gateway', 'CANCELLED', 'the job was cancelled.', { code: 'CANCELLED' });
      const left = deadline - Date.now();
      if (left <= 0) {
        const known = this.replicas.size;
        throw new VaneliaError('gateway', 'NO_REPLICA', `no ${this.service} replica is serving (${known} known) after ${Math.round(timeoutMs / 1000)} s.`, {
          code: 'UNAVAILABLE',
          retryable: true,
        });
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 500));
        this.waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Counts a call open on `replica` until the returned function is called. */
  acquire(replica: Replica<C>): () => void {
    replica.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      replica.active -= 1;
      this.wake();
    };
  }

  /** A call on `replica` failed: prefer others for a while. */
  markFailed(replica: Replica<C>): void {
    replica.avoidUntilMs = Date.now() + (this.options.failureBackoffMs ?? 2000);
  }

  /** Calls `listener` on every change of replicas, their health or their load; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe();
    this.source.close();
    for (const replica of this.replicas.values()) this.drop(replica);
    this.replicas.clear();
    this.report();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
    for (const listener of [...this.listeners]) listener();
  }

  private sync(addresses: string[]): void {
    for (const [address, replica] of this.replicas) {
      if (!addresses.includes(address)) {
        this.drop(replica);
        this.replicas.delete(address);
      }
    }
    for (const address of addresses) {
      if (this.replicas.has(address)) continue;
      const replica: Replica<C> & { health?: Client; closed?: boolean } = { address, client: this.makeClient(address), active: 0, serving: true, avoidUntilMs: 0 };
      this.replicas.set(address, replica);
      if (this.options.watchHealth ?? true) this.watchHealth(replica);
    }
    this.options.logger?.info('replicas', { service: this.service, addresses });
    this.report();
    this.wake();
  }

  private drop(replica: Replica<C> & { health?: Client; closed?: boolean }): void {
    replica.closed = true;
    replica.serving = false;
    replica.health?.close();
    // Calls still open keep their channel until they end; the client is closed after that.
    const close = (): void => (replica.active > 0 ? void setTimeout(close, 1000).unref() : replica.client.close());
    close();
  }

  /**
   * Follows a replica's health: a Watch stream while it serves; when it says NOT_SERVING the stream is
   * cancelled at once (an open stream would hold the replica's drain until its grace period ends) and a
   * Check is asked every second until it serves again.
   */
  private watchHealth(replica: Replica<C> & { health?: Client; closed?: boolean }): void {
    const health = new HealthClient(replica.address, credentials.createInsecure()) as unknown as Client & { watch: HealthWatch; check: HealthCheck };
    replica.health = health;
    replica.serving = false; // until its health service says so
    const isServing = (status: string | number | undefined): boolean => status === 'SERVING' || status === 1;
    const set = (serving: boolean): void => {
      if (replica.serving === serving) return;
      replica.serving = serving;
      this.options.logger?.info('replica health', { service: this.service, address: replica.address, serving });
      this.report();
      this.wake();
    };
    const poll = (): void => {
      if (replica.closed) return;
      health.check({ service: '' }, { deadline: Date.now() + 2000 }, (error, response) => {
        if (replica.closed) return;
        if (!error && isServing(response?.status)) {
          set(true);
          watch();
        } else {
          set(false);
          setTimeout(poll, 1000).unref();
        }
      });
    };
    const watch = (): void => {
      if (replica.closed) return;
      const call = health.watch({ service: '' });
      call.on('data', (message: { status: string | number }) => {
        const serving = isServing(message.status);
        set(serving);
        if (!serving) call.cancel();
      });
      call.on('error', () => undefined);
      // The watch ended (cancelled above, replica stopped or unreachable): ask with Check from now on.
      call.on('status', () => {
        set(false);
        if (!replica.closed) setTimeout(poll, 500).unref();
      });
    };
    poll();
  }

  private report(): void {
    const all = this.list();
    stageReplicas.set({ service: this.service, serving: 'true' }, all.filter((r) => r.serving).length);
    stageReplicas.set({ service: this.service, serving: 'false' }, all.filter((r) => !r.serving).length);
  }
}
