import { CompositorClient, DecoderClient, InpaintClient, PoseClient } from '@vanelia/proto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@vanelia/runtime';
import type { MeshReplicas } from '../pipeline';
import { dnsSource } from './dns-source';
import { endpointSliceSource } from './endpoint-slice-source';
import { formatAddress, parseStageTarget, staticSource, type EndpointSource } from './endpoint-source';
import { StageReplicas } from './stage-replicas';

export interface DiscoverySettings {
  /** dns: resolve dns:/// names again and again; endpointslices: watch the Services' EndpointSlices. */
  mode: 'dns' | 'endpointslices';
  refreshMs: number;
  /** Namespace of the Services ('' = the second label of the dns:/// name, else "default"). */
  namespace: string;
  /** Cluster access for endpointslices (default: in-cluster service account, or KUBECONFIG). */
  kubeConfig?: KubeConfig;
  logger?: Logger;
}

/**
 * Where one stage's replicas come from, given its configured address: a fixed list for host:port
 * addresses, and for dns:///<service>.<namespace>.svc…:port either DNS or the EndpointSlices of <service>.
 */
export function endpointSourceFor(address: string, settings: DiscoverySettings): EndpointSource {
  const target = parseStageTarget(address);
  if (!target.resolve) return staticSource(target.hosts.map((h) => formatAddress(h.host, h.port)));
  const { host, port } = target.hosts[0];
  if (settings.mode === 'endpointslices') {
    const [service, fromName] = host.split('.');
    return endpointSliceSource({ namespace: settings.namespace || fromName || 'default', service, fallbackPort: port, kubeConfig: settings.kubeConfig, logger: settings.logger });
  }
  return dnsSource(host, port, { refreshMs: settings.refreshMs, logger: settings.logger });
}

/** The four stages' replicas from their configured addresses. */
export function createMeshReplicas(addresses: Record<keyof MeshReplicas, string>, settings: DiscoverySettings): MeshReplicas {
  const options = { logger: settings.logger };
  return {
    decoder: new StageReplicas('decoder', endpointSourceFor(addresses.decoder, settings), StageReplicas.forClient(DecoderClient), options),
    pose: new StageReplicas('pose', endpointSourceFor(addresses.pose, settings), StageReplicas.forClient(PoseClient), options),
    compositor: new StageReplicas('compositor', endpointSourceFor(addresses.compositor, settings), StageReplicas.forClient(CompositorClient), options),
    inpaint: new StageReplicas('inpaint', endpointSourceFor(addresses.inpaint, settings), StageReplicas.forClient(InpaintClient), options),
  };
}
