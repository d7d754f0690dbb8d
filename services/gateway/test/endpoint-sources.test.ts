import { afterEach, describe, expect, it } from 'vitest';
import { dnsSource } from '../src/replicas/dns-source';
import { endpointSliceSource } from '../src/replicas/endpoint-slice-source';
import { parseStageTarget, type EndpointSource } from '../src/replicas/endpoint-source';
import { endpointSourceFor } from '../src/replicas/mesh-replicas';
import { FakeKubeApi } from './helpers/fake-kube-api';

const sources: EndpointSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
});
const keep = <T extends EndpointSource>(s: T): T => (sources.push(s), s);

/** Resolves when `source` lists exactly `addresses` (sorted), or fails after `ms`. */
async function until(source: EndpointSource, addresses: string[], ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (JSON.stringify(source.current()) !== JSON.stringify([...addresses].sort())) {
    if (Date.now() > deadline) throw new Error(`addresses are ${JSON.stringify(source.current())}, expected ${JSON.stringify(addresses)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('stage targets', () => {
  it('reads host:port, lists, IPv6 and dns:/// names, and refuses the rest with a sentence', () => {
    expect(parseStageTarget('127.0.0.1:5')).toEqual({ hosts: [{ host: '127.0.0.1', port: 5 }], resolve: false });
    expect(parseStageTarget('a:1, b:2').hosts).toEqual([{ host: 'a', port: 1 }, { host: 'b', port: 2 }]);
    expect(parseStageTarget('[::1]:7').hosts).toEqual([{ host: '::1', port: 7 }]);
    expect(parseStageTarget('dns:///vanelia-decoder.prod.svc.cluster.local:50051')).toEqual({ hosts: [{ host: 'vanelia-decoder.prod.svc.cluster.local', port: 50051 }], resolve: true });
    expect(() => parseStageTarget('decoder')).toThrow(/gateway: stage address "decoder" is not host:port/);
  });
});

describe('DNS source', () => {
  it('follows the records of a name (a headless Service): replicas join and leave, "no such name" empties it', async () => {
    let records: string[] | Error = ['10.0.0.2', '10.0.0.1'];
    const source = keep(
      dnsSource('vanelia-compositor.ns.svc', 50053, {
        refreshMs: 30,
        resolveAll: async () => {
          if (records instanceof Error) throw records;
          return records;
        },
      }),
    );
    await source.ready();
    expect(source.current()).toEqual(['10.0.0.1:50053', '10.0.0.2:50053']);
    const changes: string[][] = [];
    source.onChange((a) => changes.push(a));
    records = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
    await until(source, ['10.0.0.1:50053', '10.0.0.2:50053', '10.0.0.3:50053']);
    // A failed lookup keeps what was known.
    records = Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
    await new Promise((r) => setTimeout(r, 100));
    expect(source.current()).toHaveLength(3);
    records = Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    await until(source, []);
    expect(changes).toHaveLength(2);
  });
});

describe('EndpointSlice source (through @kubernetes/client-node, against a fake API server)', () => {
  let api: FakeKubeApi | undefined;
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  it('lists the ready endpoints of the Service, then follows changes from the watch', async () => {
    api = await FakeKubeApi.start();
    api.setSlice('prod', 'vanelia-compositor-abc', 'vanelia-compositor', 50053, ['10.1.0.1', '10.1.0.2', '10.1.0.9'], ['10.1.0.9']);
    api.setSlice('prod', 'vanelia-decoder-abc', 'vanelia-decoder', 50051, ['10.1.0.5']);
    const source = keep(endpointSliceSource({ namespace: 'prod', service: 'vanelia-compositor', fallbackPort: 1, kubeConfig: api.kubeConfig('prod'), retryMs: 100 }));
    await source.ready();
    expect(source.current()).toEqual(['10.1.0.1:50053', '10.1.0.2:50053']);
    expect(api.requests.some((r) => r.includes('labelSelector=kubernetes.io%2Fservice-name%3Dvanelia-compositor'))).toBe(true);
    // Scale up in a second slice, a pod turning ready, then one going away.
    api.setSlice('prod', 'vanelia-compositor-def', 'vanelia-compositor', 50053, ['10.1.0.3']);
    await until(source, ['10.1.0.1:50053', '10.1.0.2:50053', '10.1.0.3:50053']);
    api.setSlice('prod', 'vanelia-compositor-abc', 'vanelia-compositor', 50053, ['10.1.0.2', '10.1.0.9']);
    await until(source, ['10.1.0.2:50053', '10.1.0.3:50053', '10.1.0.9:50053']);
    // The API server ends the watch; the informer watches again from its version and misses nothing.
    api.closeWatches();
    api.deleteSlice('prod', 'vanelia-compositor-def');
    await until(source, ['10.1.0.2:50053', '10.1.0.9:50053']);
  });

  it('is chosen for dns:/// addresses in endpointslices mode, the Service and namespace read from the name', async () => {
    api = await FakeKubeApi.start();
    api.setSlice('staging', 'vanelia-inpaint-x', 'vanelia-inpaint', 50054, ['10.2.0.7']);
    const source = keep(
      endpointSourceFor('dns:///vanelia-inpaint.staging.svc.cluster.local:50054', { mode: 'endpointslices', refreshMs: 1000, namespace: '', kubeConfig: api.kubeConfig() }),
    );
    await until(source, ['10.2.0.7:50054']);
  });
});
