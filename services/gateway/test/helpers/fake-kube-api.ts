import { KubeConfig, type V1EndpointSlice } from '@kubernetes/client-node';
import { createServer, type Server, type ServerResponse } from 'node:http';

interface Watcher {
  res: ServerResponse;
  namespace: string;
  service: string;
}

type Event = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: V1EndpointSlice };

/**
 * A Kubernetes API server on loopback that serves EndpointSlices the way the real one does for list and
 * watch (`?watch=true&resourceVersion=N`: events after N as JSON lines on a held-open response).
 */
export class FakeKubeApi {
  readonly requests: string[] = [];
  private readonly slices = new Map<string, V1EndpointSlice>();
  private readonly history: Array<Event & { rv: number }> = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  private server!: Server;
  port = 0;

  static async start(): Promise<FakeKubeApi> {
    const api = new FakeKubeApi();
    api.server = createServer((req, res) => api.handle(req.url ?? '', res));
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.port = (api.server.address() as { port: number }).port;
    return api;
  }

  /** A slice of `service` in `namespace` with these endpoints ("ip", ready unless listed in notReady). */
  setSlice(namespace: string, name: string, service: string, port: number, ips: string[], notReady: string[] = []): void {
    const slice: V1EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service }, resourceVersion: String(++this.rv) },
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port, protocol: 'TCP' }, { name: 'metrics', port: 9464, protocol: 'TCP' }],
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: !notReady.includes(ip), serving: true, terminating: false } })),
    };
    const key = `${namespace}/${name}`;
    const type = this.slices.has(key) ? 'MODIFIED' : 'ADDED';
    this.slices.set(key, slice);
    this.emit({ type, object: slice });
  }

  deleteSlice(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const slice = this.slices.get(key);
    if (!slice) return;
    this.slices.delete(key);
    this.emit({ type: 'DELETED', object: { ...slice, metadata: { ...slice.metadata, resourceVersion: String(++this.rv) } } });
  }

  /** Ends every open watch (as an API server does on its timeout); clients watch again from their version. */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  kubeConfig(namespace = 'default'): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'gateway', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'gateway', namespace }],
      currentContext: 'fake',
    });
    return config;
  }

  /** The same as a kubeconfig file's text (for KUBECONFIG in another process). */
  kubeConfigYaml(namespace = 'default'): string {
    return this.kubeConfig(namespace).exportConfig();
  }

  async stop(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private emit(event: Event): void {
    const rv = Number(event.object.metadata!.resourceVersion);
    this.history.push({ ...event, rv });
    for (const w of this.watchers) this.send(w, event);
  }

  private send(w: Watcher, event: Event): void {
    const slice = event.object;
    if (slice.metadata?.namespace !== w.namespace || slice.metadata.labels?.['kubernetes.io/service-name'] !== w.service) return;
    w.res.write(`${JSON.stringify(event)}\n`);
  }

  private handle(rawUrl: string, res: ServerResponse): void {
    this.requests.push(rawUrl);
    const url = new URL(rawUrl, 'http://fake');
    const match = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(url.pathname);
    const selector = /^kubernetes\.io\/service-name=(.+)$/.exec(url.searchParams.get('labelSelector') ?? '');
    if (!match || !selector) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 }));
      return;
    }
    const [namespace, service] = [match[1], selector[1]];
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      const w = { res, namespace, service };
      const since = Number(url.searchParams.get('resourceVersion') ?? 0);
      for (const event of this.history.filter((e) => e.rv > since)) this.send(w, event);
      this.watchers.add(w);
      res.on('close', () => this.watchers.delete(w));
      return;
    }
    const items = [...this.slices.values()].filter((s) => s.metadata?.namespace === namespace && s.metadata.labels?.['kubernetes.io/service-name'] === service);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSliceList', metadata: { resourceVersion: String(this.rv) }, items }));
  }
}
