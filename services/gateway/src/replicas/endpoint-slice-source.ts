import { DiscoveryV1Api, KubeConfig, makeInformer, type V1EndpointSlice } from '@kubernetes/client-node';
import type { Logger } from '@vanelia/runtime';
import { EndpointList, formatAddress, type EndpointSource } from './endpoint-source';

export interface EndpointSliceSourceOptions {
  /** Namespace of the Service. */
  namespace: string;
  /** Name of the Service whose EndpointSlices are watched (label kubernetes.io/service-name). */
  service: string;
  /** Port name in the slices (the chart names the gRPC port "grpc"); a slice with one port uses it whatever its name. */
  portName?: string;
  /** Port used when a slice names none. */
  fallbackPort: number;
  /** Cluster access (default: in-cluster service account, or KUBECONFIG). */
  kubeConfig?: KubeConfig;
  /** Wait before watching again after the API failed. */
  retryMs?: number;
  logger?: Logger;
}

/** Addresses of the endpoints of some slices that take traffic (ready, or with no readiness reported). */
export function addressesOfSlices(slices: readonly V1EndpointSlice[], portName: string, fallbackPort: number): string[] {
  const out: string[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const ports = slice.ports ?? [];
    const port = (ports.find((p) => p.name === portName) ?? (ports.length === 1 ? ports[0] : undefined))?.port ?? fallbackPort;
    for (const endpoint of slice.endpoints ?? []) {
      const conditions = endpoint.conditions ?? {};
      // Kubernetes: a nil `ready` means ready; terminating endpoints are not ready.
      if (conditions.ready === false || conditions.terminating === true) continue;
      // Every address of one endpoint is the same pod: one is enough.
      const address = endpoint.addresses?.[0];
      if (address) out.push(formatAddress(address, port));
    }
  }
  return out;
}

/**
 * Every ready replica of a Service, from its EndpointSlices watched through the Kubernetes API (an
 * informer: list, then watch from that version, again after the API closes or fails). Changes arrive
 * as the control plane sees them, faster than DNS records expire.
 */
export function endpointSliceSource(options: EndpointSliceSourceOptions): EndpointSource {
  const kubeConfig = options.kubeConfig ?? defaultKubeConfig();
  const api = kubeConfig.makeApiClient(DiscoveryV1Api);
  const labelSelector = `kubernetes.io/service-name=${options.service}`;
  const informer = makeInformer<V1EndpointSlice>(
    kubeConfig,
    `/apis/discovery.k8s.io/v1/namespaces/${options.namespace}/endpointslices`,
    () => api.listNamespacedEndpointSlice({ namespace: options.namespace, labelSelector }),
    labelSelector,
  );
  const list = new EndpointList();
  const recompute = (): void => list.set(addressesOfSlices(informer.list(options.namespace), options.portName ?? 'grpc', options.fallbackPort));
  informer.on('add', recompute);
  informer.on('update', recompute);
  informer.on('delete', recompute);
  informer.on('connect', () => undefined);
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const start = (): void => {
    informer.start().then(recompute, (error: unknown) => onError(error));
  };
  const onError = (error: unknown): void => {
    if (closed) return;
    options.logger?.warn('endpointslice watch failed; retrying', { service: options.service, error: String(error) });
    list.fail(error);
    retry = setTimeout(start, options.retryMs ?? 5000);
    retry.unref();
  };
  informer.on('error', onError);
  start();
  const close = list.close.bind(list);
  list.close = () => {
    closed = true;
    if (retry) clearTimeout(retry);
    void informer.stop();
    close();
  };
  return list;
}

/** In a pod: its service account; elsewhere: KUBECONFIG or ~/.kube/config. */
function defaultKubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  return config;
}
