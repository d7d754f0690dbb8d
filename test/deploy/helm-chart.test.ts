import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHART_DIR,
  deploymentsOf,
  envOf,
  helm,
  named,
  ofKind,
  renderChart,
  REPO_ROOT,
  selects,
  SERVICES,
  VALUE_SETS,
  type Deployment,
} from './chart';
import { validateObject, type K8sObject } from './k8s-schema';
import { recordedStages } from './metric-names';

const rendered = new Map<string, K8sObject[]>();
function render(set: string): K8sObject[] {
  if (!rendered.has(set)) rendered.set(set, renderChart({ values: VALUE_SETS[set] }));
  return rendered.get(set)!;
}

describe('helm lint', () => {
  for (const set of ['default', 'cpu-only', 'multi-gpu-pools']) {
    it(`passes --strict with the ${set} values`, () => {
      const args = ['lint', '--strict', CHART_DIR];
      for (const file of VALUE_SETS[set]) args.push('--values', file);
      const result = helm(args);
      expect(result.stdout + result.stderr).not.toMatch(/\[(ERROR|WARNING)\]/);
      expect(result.status).toBe(0);
    });
  }
});

describe.each(Object.keys(VALUE_SETS))('helm template with the %s values', (set) => {
  it('renders objects that all validate against the Kubernetes API schemas', () => {
    const objects = render(set);
    expect(objects.length).toBeGreaterThan(20);
    expect(objects.flatMap(validateObject)).toEqual([]);
  });

  it('gives every service a headless Service selecting all its pools and a PDB covering them', () => {
    const objects = render(set);
    const pdbs = ofKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(objects, 'PodDisruptionBudget');
    for (const service of SERVICES) {
      const deployments = deploymentsOf(objects, service);
      expect(deployments.length, service).toBeGreaterThan(0);
      const headless = named<K8sObject & { spec: Record<string, any> }>(objects, 'Service', `vanelia-${service}`);
      expect(headless.spec.clusterIP).toBe('None');
      for (const d of deployments) {
        const podLabels = d.spec.template.metadata.labels;
        expect(selects(headless.spec.selector, podLabels), d.metadata.name).toBe(true);
        expect(selects(d.spec.selector.matchLabels, podLabels), d.metadata.name).toBe(true);
        expect(pdbs.filter((p) => selects(p.spec.selector.matchLabels, podLabels)).length, d.metadata.name).toBe(1);
        const grpc = d.spec.template.spec.containers[0].ports?.find((p) => p.name === 'grpc')?.containerPort;
        expect(headless.spec.ports.find((p: { name: string }) => p.name === 'grpc').port).toBe(grpc);
      }
    }
  });

  it('runs every pod non-root on a read-only root filesystem with all capabilities dropped', () => {
    for (const d of ofKind<Deployment>(render(set), 'Deployment')) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext, d.metadata.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of pod.containers) {
        expect(c.securityContext, d.metadata.name).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        expect(Number(c.securityContext?.runAsUser)).toBeGreaterThan(0);
        expect(c.volumeMounts?.map((m) => m.mountPath)).toContain('/tmp');
        for (const kind of ['requests', 'limits'] as const) {
          expect(Object.keys(c.resources?.[kind] ?? {}), `${d.metadata.name} ${kind}`).toEqual(expect.arrayContaining(['cpu', 'memory']));
        }
      }
    }
  });

  it('probes each stage with native gRPC health checks on its port and waits out the drain', () => {
    for (const d of ofKind<Deployment>(render(set), 'Deployment')) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      const env = envOf(c);
      const port = c.ports?.find((p) => p.name === 'grpc')?.containerPort;
      expect(Number(env.VANELIA_PORT)).toBe(port);
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe?.grpc?.port).toBe(port);
      const preStopSeconds = Number(c.lifecycle?.preStop?.exec?.command.at(-1));
      const drainSeconds = Math.ceil(Number(env.VANELIA_SHUTDOWN_GRACE_MS) / 1000);
      expect(drainSeconds).toBeGreaterThan(0);
      // Kubernetes kills at terminationGracePeriodSeconds: the sleep and the whole drain must fit, with margin.
      expect(pod.terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThan(preStopSeconds + drainSeconds);
      expect(pod.terminationGracePeriodSeconds).toBeLessThanOrEqual(preStopSeconds + drainSeconds + 60);
    }
  });

  it('autoscales every pool it does not pin: CPU stages on CPU, inpaint on its queue', () => {
    const objects = render(set);
    for (const hpa of ofKind<K8sObject & { spec: Record<string, any> }>(objects, 'HorizontalPodAutoscaler')) {
      const target = named<Deployment>(objects, 'Deployment', hpa.spec.scaleTargetRef.name);
      // The HPA owns the replica count; a fixed one would fight it on every upgrade.
      expect(target.spec.replicas, target.metadata.name).toBeUndefined();
      expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
      const component = target.metadata.labels?.['app.kubernetes.io/component'];
      const types = hpa.spec.metrics.map((m: { type: string }) => m.type);
      for (const m of hpa.spec.metrics.filter((m: { type: string }) => m.type === 'External')) {
        // The queue a pool scales on is the one its own service's code records.
        const stages = recordedStages(component!);
        expect(stages.length, component).toBeGreaterThan(0);
        expect(m.external.metric.selector.matchExpressions[0].values, hpa.metadata.name).toEqual(stages);
      }
      if (component === 'inpaint') {
        const external = hpa.spec.metrics.find((m: { type: string }) => m.type === 'External').external;
        expect(external.metric).toEqual({
          name: 'vanelia_stage_queue_depth',
          selector: { matchExpressions: [{ key: 'stage', operator: 'In', values: recordedStages('inpaint') }] },
        });
        expect(external.target.type).toBe('AverageValue');
      } else if (!target.metadata.labels?.['vanelia.dev/accelerator']) {
        expect(types, target.metadata.name).toContain('Resource');
      }
    }
    for (const d of ofKind<Deployment>(objects, 'Deployment')) {
      const scaled = ofKind<K8sObject & { spec: Record<string, any> }>(objects, 'HorizontalPodAutoscaler').some(
        (h) => h.spec.scaleTargetRef.name === d.metadata.name,
      );
      expect(scaled || d.spec.replicas !== undefined, d.metadata.name).toBe(true);
    }
  });

  it('puts every pod behind a NetworkPolicy; stages accept gRPC only from the release', () => {
    const objects = render(set);
    const policies = ofKind<K8sObject & { spec: Record<string, any> }>(objects, 'NetworkPolicy');
    for (const d of ofKind<Deployment>(objects, 'Deployment')) {
      const labels = d.spec.template.metadata.labels;
      const covering = policies.filter((p) => selects(p.spec.podSelector.matchLabels, labels));
      expect(covering.length, d.metadata.name).toBe(1);
      const grpcRule = covering[0].spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === 'grpc'));
      if (labels['app.kubernetes.io/component'] !== 'gateway') {
        expect(grpcRule.from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vanelia', 'app.kubernetes.io/instance': 'vanelia' } } }]);
      }
    }
  });

  it('points the gateway at every stage through its headless Service', () => {
    const objects = render(set);
    const [gateway] = deploymentsOf(objects, 'gateway');
    const env = envOf(gateway.spec.template.spec.containers[0]);
    for (const stage of ['decoder', 'pose', 'compositor', 'inpaint'] as const) {
      const [d] = deploymentsOf(objects, stage);
      const port = d.spec.template.spec.containers[0].ports?.find((p) => p.name === 'grpc')?.containerPort;
      expect(env[`VANELIA_${stage.toUpperCase()}_ADDR`]).toBe(`dns:///vanelia-${stage}.vanelia.svc.cluster.local:${port}`);
    }
    expect(env.VANELIA_JOB_STORE).toMatch(/^(sqlite:\/\/\/|redis:\/\/)/);
    const tokens = gateway.spec.template.spec.containers[0].env?.find((e) => e.name === 'VANELIA_API_TOKENS');
    expect(tokens?.valueFrom).toMatchObject({ secretKeyRef: { key: 'tokens' } });
  });

  it('scrapes every headless Service and ships the dashboard from deploy/grafana', () => {
    const objects = render(set);
    const monitor = named<K8sObject & { spec: Record<string, any> }>(objects, 'ServiceMonitor', 'vanelia');
    for (const service of SERVICES) {
      const headless = named<K8sObject & { spec: Record<string, any> }>(objects, 'Service', `vanelia-${service}`);
      expect(selects(monitor.spec.selector.matchLabels, headless.metadata.labels), service).toBe(true);
      expect(headless.spec.ports.map((p: { name: string }) => p.name)).toContain(monitor.spec.endpoints[0].port);
    }
    const publicService = named<K8sObject>(objects, 'Service', 'vanelia-gateway-public');
    expect(selects(monitor.spec.selector.matchLabels, publicService.metadata.labels)).toBe(false);
    const dashboard = named<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap', 'vanelia-dashboard');
    expect(dashboard.data['vanelia.json']).toBe(readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'vanelia.json'), 'utf8').trimEnd());
  });
});

describe('multi-cluster values', () => {
  it('set each cluster its own registry, storage class and metric labels', () => {
    const seen = new Set<string>();
    for (const set of ['eu-west-1-eks', 'us-central1-gke', 'ap-southeast-onprem']) {
      const objects = render(set);
      const registries = new Set(ofKind<Deployment>(objects, 'Deployment').map((d) => d.spec.template.spec.containers[0].image.replace(/\/[a-z]+[:@].*$/, '')));
      expect(registries.size, set).toBe(1);
      const [registry] = registries;
      expect(seen.has(registry)).toBe(false);
      seen.add(registry);
      const claim = named<K8sObject & { spec: Record<string, any> }>(objects, 'PersistentVolumeClaim', 'vanelia-storage');
      expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
      expect(claim.spec.storageClassName).toBeTruthy();
      const relabel = named<K8sObject & { spec: Record<string, any> }>(objects, 'ServiceMonitor', 'vanelia').spec.endpoints[0].relabelings;
      expect(relabel.map((r: { targetLabel: string }) => r.targetLabel)).toEqual(expect.arrayContaining(['cluster', 'region']));
    }
  });

  it('serves mutual TLS on its own port when a cluster asks (EKS), from a mounted Secret', () => {
    const objects = render('eu-west-1-eks');
    const [gateway] = deploymentsOf(objects, 'gateway');
    const pod = gateway.spec.template.spec as typeof gateway.spec.template.spec & { volumes: any[] };
    const container = pod.containers[0];
    const env = envOf(container);
    const tlsPort = container.ports?.find((p) => p.name === 'grpc-tls')?.containerPort;
    expect(Number(env.VANELIA_TLS_PORT)).toBe(tlsPort);
    const mount = container.volumeMounts?.find((m) => m.name === 'tls');
    expect(pod.volumes.find((v) => v.name === 'tls').secret.secretName).toBe('vanelia-gateway-tls');
    for (const file of [env.VANELIA_TLS_CERT_FILE, env.VANELIA_TLS_KEY_FILE, env.VANELIA_TLS_CLIENT_CA_FILE]) {
      expect(file?.startsWith(`${mount?.mountPath}/`), file).toBe(true);
    }
    const publicService = named<K8sObject & { spec: Record<string, any> }>(objects, 'Service', 'vanelia-gateway-public');
    expect(publicService.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['grpc', 'grpc-tls']);
    const policy = named<K8sObject & { spec: Record<string, any> }>(objects, 'NetworkPolicy', 'vanelia-gateway');
    expect(policy.spec.ingress[0].ports.map((p: { port: string }) => p.port)).toEqual(['grpc', 'grpc-tls']);
    expect(deploymentsOf(render('default'), 'gateway')[0].spec.template.spec.containers[0].ports?.map((p) => p.name)).toEqual(['grpc', 'metrics']);
  });

  it('gives the gateway a Role on EndpointSlices only when it discovers through them', () => {
    const gke = render('us-central1-gke');
    const role = named<K8sObject & { rules: any[] }>(gke, 'Role', 'vanelia-endpointslice-reader');
    expect(role.rules).toEqual([{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] }]);
    const binding = named<K8sObject & { subjects: any[] }>(gke, 'RoleBinding', 'vanelia-endpointslice-reader');
    const [gateway] = deploymentsOf(gke, 'gateway');
    expect(binding.subjects[0].name).toBe(gateway.spec.template.spec.serviceAccountName);
    expect(gateway.spec.template.spec.automountServiceAccountToken).toBe(true);
    expect(ofKind(render('default'), 'Role')).toEqual([]);
    for (const d of ofKind<Deployment>(render('default'), 'Deployment')) {
      expect(d.spec.template.spec.automountServiceAccountToken, d.metadata.name).toBe(false);
    }
  });

  it('sizes the compositor frame pool from its CPU request unless told (node counts the node, not the pod)', () => {
    const workers = (set: Record<string, string>): string | undefined =>
      envOf(deploymentsOf(renderChart({ set }), 'compositor')[0].spec.template.spec.containers[0]).VANELIA_COMPOSITOR_WORKERS;
    expect(envOf(deploymentsOf(render('default'), 'compositor')[0].spec.template.spec.containers[0]).VANELIA_COMPOSITOR_WORKERS).toBe('3');
    expect(workers({ 'services.compositor.pools.cpu.resources.requests.cpu': '2500m' })).toBe('1');
    expect(workers({ 'services.compositor.pools.cpu.resources.requests.cpu': '500m' })).toBe('0');
    expect(workers({ 'services.compositor.pools.cpu.frameWorkers': '0' })).toBe('0');
    expect(workers({ 'services.compositor.pools.cpu.frameWorkers': '6' })).toBe('6');
    expect(workers({ 'services.compositor.env.VANELIA_COMPOSITOR_WORKERS': '2' })).toBe('2');
  });
});
