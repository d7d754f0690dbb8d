import { lookup } from 'node:dns/promises';
import type { Logger } from '@vanelia/runtime';
import { EndpointList, formatAddress, type EndpointSource } from './endpoint-source';

export interface DnsSourceOptions {
  /** How often the name is resolved again (a headless Service's records follow its ready pods). */
  refreshMs?: number;
  /** Every address of a name (default: the system resolver, `getaddrinfo` with all results). */
  resolveAll?: (host: string) => Promise<string[]>;
  logger?: Logger;
}

export const DNS_SOURCE_DEFAULTS: Required<Omit<DnsSourceOptions, 'logger'>> = {
  refreshMs: 5000,
  resolveAll: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
};

/** Errors meaning "no such name now": a headless Service with no ready pod has no records. */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * Every address a name resolves to, refreshed on a timer: with a headless Service that is every ready
 * replica of the stage. A failed lookup keeps the last list; "no such name" empties it.
 */
export function dnsSource(host: string, port: number, options: DnsSourceOptions = {}): EndpointSource {
  const o = { ...DNS_SOURCE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<DnsSourceOptions>;
  const list = new EndpointList();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const refresh = async (): Promise<void> => {
    try {
      const addresses = await o.resolveAll(host);
      list.set(addresses.map((a) => formatAddress(a, port)));
    } catch (error) {
      if (NO_RECORDS.has((error as NodeJS.ErrnoException).code ?? '')) list.set([]);
      else {
        options.logger?.warn('dns lookup failed; keeping the last replicas', { host, error });
        list.set(list.current());
      }
    }
    if (!closed) timer = setTimeout(() => void refresh(), o.refreshMs).unref();
  };
  void refresh();
  const close = list.close.bind(list);
  list.close = () => {
    closed = true;
    if (timer) clearTimeout(timer);
    close();
  };
  return list;
}
