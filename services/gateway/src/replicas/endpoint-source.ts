import { VaneliaError } from '@vanelia/runtime';

/**
 * Where the replicas of one stage are: a list of "host:port" addresses that changes as replicas come and
 * go. Sources: a fixed list, DNS of a headless Service (every ready pod's address), or the Service's
 * EndpointSlices watched through the Kubernetes API.
 */
export interface EndpointSource {
  /** Addresses known now ("host:port"), sorted. */
  current(): string[];
  /** Calls `listener` with the new list on every change; returns the unsubscribe function. */
  onChange(listener: (addresses: string[]) => void): () => void;
  /** Resolves once the first list is known (possibly empty), or rejects with the reason it cannot be. */
  ready(): Promise<void>;
  close(): void;
}

/** A stage address as configured: `host:port`, `a:1,b:2`, or `dns:///name:port` (a name with several addresses). */
export interface StageTarget {
  /** Host names or addresses with their ports. */
  hosts: Array<{ host: string; port: number }>;
  /** True for `dns:///` targets: resolve the name again and again (a headless Service). */
  resolve: boolean;
}

function hostPort(text: string, original: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text.trim());
  if (!match || match[1] === '') {
    throw new VaneliaError('gateway', 'INVALID_CONFIG', `stage address ${JSON.stringify(original)} is not host:port, a comma-separated list of them, or dns:///name:port.`, {
      code: 'FAILED_PRECONDITION',
    });
  }
  return { host: match[1], port: Number(match[2]) };
}

export function parseStageTarget(address: string): StageTarget {
  if (address.startsWith('dns:')) {
    const rest = address.replace(/^dns:(\/\/[^/]*\/)?/, '').replace(/^\/+/, '');
    return { hosts: [hostPort(rest, address)], resolve: true };
  }
  return { hosts: address.split(',').filter((s) => s.trim() !== '').map((s) => hostPort(s, address)), resolve: false };
}

/** "host:port", bracketing IPv6 hosts. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A base for sources: keeps the list, tells listeners when it really changed. */
export class EndpointList implements EndpointSource {
  private addresses: string[] = [];
  private readonly listeners = new Set<(addresses: string[]) => void>();
  private readonly first: Promise<void>;
  private settle!: { resolve: () => void; reject: (error: unknown) => void };
  private settled = false;

  constructor() {
    this.first = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.first.catch(() => undefined);
  }

  current(): string[] {
    return this.addresses;
  }

  /** Replaces the list (duplicates dropped, sorted); listeners hear of it only when it differs. */
  set(addresses: string[]): void {
    const next = [...new Set(addresses)].sort();
    this.markReady();
    if (next.length === this.addresses.length && next.every((a, i) => a === this.addresses[i])) return;
    this.addresses = next;
    for (const listener of this.listeners) listener(next);
  }

  /** The first list could not be had. */
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(error);
  }

  protected markReady(): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.resolve();
  }

  onChange(listener: (addresses: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  ready(): Promise<void> {
    return this.first;
  }

  close(): void {
    this.listeners.clear();
  }
}

/** A fixed list (local mesh, tests, or a static set of replicas). */
export function staticSource(addresses: string[]): EndpointSource {
  const list = new EndpointList();
  list.set(addresses);
  return list;
}
