import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleKustomizeFiles } from '../../tools/helm/render-kustomize';
import { deploymentsOf, envOf, getTools, named, ofKind, parseObjects, REPO_ROOT, run, selects, SERVICES, type Deployment } from './chart';
import { validateObject, type K8sObject } from './k8s-schema';

function kustomize(overlay: string): K8sObject[] {
  const result = run(getTools().kubectl, ['kustomize', join(REPO_ROOT, 'k8s', 'overlays', overlay)]);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${overlay} failed: ${result.stderr}`);
  return parseObjects(result.stdout);
}

describe('kustomize', () => {
  it('k8s/base and k8s/components match what the chart renders today', () => {
    expect(staleKustomizeFiles(), 'run: npx tsx tools/helm/render-kustomize.ts').toEqual([]);
  });

  describe.each(['cpu-only', 'gpu'])('overlay %s', (overlay) => {
    const objects = kustomize(overlay);

    it('builds objects that validate against the Kubernetes API schemas, all in namespace vanelia', () => {
      expect(objects.flatMap(validateObject)).toEqual([]);
      for (const o of objects) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('vanelia');
      expect(ofKind(objects, 'ServiceMonitor')).toHaveLength(1);
      expect(ofKind(objects, 'PrometheusRule')).toHaveLength(1);
    });

    it('runs one pool of every service behind its headless Service, PDB and NetworkPolicy', () => {
      for (const service of SERVICES) {
        const deployments = deploymentsOf(objects, service);
        expect(deployments, service).toHaveLength(1);
        const labels = deployments[0].spec.template.metadata.labels;
        for (const kind of ['Service', 'PodDisruptionBudget', 'NetworkPolicy']) {
          const owner = named<K8sObject & { spec: Record<string, any> }>(objects, kind, `vanelia-${service}`);
          const selector = owner.spec.selector?.matchLabels ?? owner.spec.podSelector?.matchLabels ?? owner.spec.selector;
          expect(selects(selector, labels), `${kind} ${service}`).toBe(true);
        }
      }
    });
  });

  it('gpu puts pose and inpaint on A100 80 GB nodes with one GPU each; cpu-only asks for none', () => {
    const gpu = kustomize('gpu');
    for (const stage of ['pose', 'inpaint'] as const) {
      const [d] = deploymentsOf(gpu, stage);
      const pod = d.spec.template.spec;
      expect(pod.containers[0].resources?.limits?.['nvidia.com/gpu'], stage).toBe(1);
      expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
      expect(pod.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(pod.containers[0].image).toMatch(/-cuda12$/);
      const env = envOf(pod.containers[0]);
      expect(env[`VANELIA_${stage.toUpperCase()}_PROVIDERS`]).toBe('cuda,cpu');
      expect(env[`VANELIA_${stage.toUpperCase()}_BATCH_SIZE`]).toBe('8');
    }
    const inpaintHpa = named<K8sObject & { spec: Record<string, any> }>(gpu, 'HorizontalPodAutoscaler', 'vanelia-inpaint-a100-80gb');
    expect(inpaintHpa.spec.metrics[0].external.metric.name).toBe('vanelia_stage_queue_depth');
    const cpuOnly = kustomize('cpu-only');
    expect(JSON.stringify(cpuOnly)).not.toContain('nvidia.com/gpu');
    for (const d of ofKind<Deployment>(cpuOnly, 'Deployment')) expect(d.spec.template.spec.containers[0].image).not.toMatch(/cuda/);
  });
});
