import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, deploymentsOf, envOf, named, ofKind, renderChart, REPO_ROOT, VALUE_SETS, type Deployment } from './chart';
import { exportedMetrics } from './metric-names';
import type { K8sObject } from './k8s-schema';

interface PoolValues {
  variant?: string;
  providers?: string[];
  batchSize?: number;
  gpu?: { resource?: string; count: number; memoryGiB?: number };
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, string>[];
  autoscaling?: { enabled: boolean; minReplicas?: number; maxReplicas?: number };
}

type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's layering: maps merge key by key, null deletes an inherited key, anything else replaces. */
function layer(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else out[key] = isMap(value) && isMap(base[key]) ? layer(base[key], value) : value;
  }
  return out;
}

/** The pools of the model stages once `files` are layered on the chart's defaults. */
function poolsFor(files: string[]): Record<'pose' | 'inpaint', Record<string, PoolValues>> {
  const values = [join(CHART_DIR, 'values.yaml'), ...files].map((f) => parse(readFileSync(f, 'utf8')) as Values).reduce(layer);
  const services = values.services as Record<'pose' | 'inpaint', { pools: Record<string, PoolValues> }>;
  return { pose: services.pose.pools, inpaint: services.inpaint.pools };
}

const ENV_PREFIX = { pose: 'VANELIA_POSE', inpaint: 'VANELIA_INPAINT' } as const;
const isGpuToleration = (t: { key?: string }) => t.key === 'nvidia.com/gpu';

function checkPools(set: string, objects: K8sObject[]): number {
  let gpuPools = 0;
  const pools = poolsFor(VALUE_SETS[set]);
  for (const stage of ['pose', 'inpaint'] as const) {
    const deployments = deploymentsOf(objects, stage);
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(pools[stage]).map((p) => `vanelia-${stage}-${p}`).sort());
    for (const [poolName, pool] of Object.entries(pools[stage])) {
      const d = named<Deployment>(objects, 'Deployment', `vanelia-${stage}-${poolName}`);
      const pod = d.spec.template.spec;
      const container = pod.containers[0];
      const env = envOf(container);
      const where = `${set} ${d.metadata.name}`;
      expect(env[`${ENV_PREFIX[stage]}_BATCH_SIZE`], where).toBe(pool.batchSize === undefined ? undefined : String(pool.batchSize));
      expect(env[`${ENV_PREFIX[stage]}_MODEL_DIR`], where).toMatch(/^\//);
      if (pool.gpu) {
        gpuPools++;
        const resource = pool.gpu.resource ?? 'nvidia.com/gpu';
        expect(Number(container.resources?.limits?.[resource]), where).toBe(pool.gpu.count);
        expect(pod.nodeSelector, where).toEqual(pool.nodeSelector);
        expect(pod.tolerations, where).toEqual(pool.tolerations);
        expect(pod.tolerations?.some(isGpuToleration), where).toBe(true);
        expect(container.image, where).toMatch(/-cuda12$/);
        expect(env[`${ENV_PREFIX[stage]}_PROVIDERS`], where).toBe((pool.providers ?? ['cuda', 'cpu']).join(','));
        if (stage === 'inpaint') expect(env.VANELIA_INPAINT_DEVICE_MEMORY_GIB, where).toBe(pool.gpu.memoryGiB?.toString());
        expect(d.metadata.labels?.['vanelia.dev/accelerator']).toBe('gpu');
      } else {
        expect(JSON.stringify(container.resources), where).not.toContain('nvidia.com/gpu');
        expect(container.image, where).not.toMatch(/-cuda12$/);
        expect(env[`${ENV_PREFIX[stage]}_PROVIDERS`], where).toBe('cpu');
      }
      if (pool.autoscaling?.enabled) {
        const hpa = named<K8sObject & { spec: Record<string, any> }>(objects, 'HorizontalPodAutoscaler', d.metadata.name);
        expect([hpa.spec.minReplicas, hpa.spec.maxReplicas], where).toEqual([pool.autoscaling.minReplicas, pool.autoscaling.maxReplicas]);
      }
    }
  }
  return gpuPools;
}

describe('GPU pools', () => {
  it('by default run inpaint and pose on one A100 80 GB each, inpaint batching 8', () => {
    const objects = renderChart();
    expect(checkPools('default', objects)).toBe(2);
    const inpaint = named<Deployment>(objects, 'Deployment', 'vanelia-inpaint-a100-80gb');
    expect(inpaint.spec.template.spec.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
    expect(envOf(inpaint.spec.template.spec.containers[0]).VANELIA_INPAINT_BATCH_SIZE).toBe('8');
    expect(inpaint.spec.template.spec.containers[0].resources?.limits?.['nvidia.com/gpu']).toBe(1);
  });

  it('with several pools give each its own Deployment, selector, tolerations, limit, batch and HPA', () => {
    const objects = renderChart({ values: VALUE_SETS['multi-gpu-pools'] });
    expect(checkPools('multi-gpu-pools', objects)).toBe(5);
    // One headless Service still spans every inpaint pool, so the gateway balances over all of them.
    const service = named<K8sObject & { spec: { selector: Record<string, string> } }>(objects, 'Service', 'vanelia-inpaint');
    expect(service.spec.selector).not.toHaveProperty('vanelia.dev/pool');
  });

  it('follow each cluster file (L40S pool on-premises, instance types on EKS, GKE accelerator label)', () => {
    for (const set of ['eu-west-1-eks', 'us-central1-gke', 'ap-southeast-onprem']) {
      expect(checkPools(set, renderChart({ values: VALUE_SETS[set] })), set).toBeGreaterThan(0);
    }
  });

  it('are absent from the cpu-only values, and CPU stages never ask for a GPU', () => {
    const cpuOnly = renderChart({ values: VALUE_SETS['cpu-only'] });
    expect(checkPools('cpu-only', cpuOnly)).toBe(0);
    for (const objects of [cpuOnly, renderChart()]) {
      for (const d of ofKind<Deployment>(objects, 'Deployment')) {
        const component = d.metadata.labels?.['app.kubernetes.io/component'];
        if (component === 'pose' || component === 'inpaint') continue;
        expect(JSON.stringify(d.spec.template.spec.containers[0].resources), d.metadata.name).not.toContain('nvidia.com/gpu');
        expect(d.spec.template.spec.tolerations?.some(isGpuToleration) ?? false, d.metadata.name).toBe(false);
      }
    }
    expect(JSON.stringify(cpuOnly)).not.toContain('nvidia.com/gpu');
  });

  it('replace GPU pods in place on rollout (no surge onto a card that is not there)', () => {
    for (const d of ofKind<Deployment & { spec: { strategy: any } }>(renderChart({ values: VALUE_SETS['multi-gpu-pools'] }), 'Deployment')) {
      const gpu = d.metadata.labels?.['vanelia.dev/accelerator'] === 'gpu';
      expect(d.spec.strategy.rollingUpdate.maxSurge, d.metadata.name).toBe(gpu ? 0 : 1);
    }
  });

  it('scale on a metric the prometheus-adapter values serve and the code exports', () => {
    const adapter = parse(readFileSync(join(REPO_ROOT, 'tools', 'helm', 'prometheus-adapter-values.yaml'), 'utf8'));
    const served = new Set<string>(adapter.rules.external.map((r: { name: { as: string } }) => r.name.as));
    const exported = exportedMetrics().series;
    for (const set of Object.keys(VALUE_SETS)) {
      for (const hpa of ofKind<K8sObject & { spec: Record<string, any> }>(renderChart({ values: VALUE_SETS[set] }), 'HorizontalPodAutoscaler')) {
        for (const metric of hpa.spec.metrics.filter((m: { type: string }) => m.type === 'External')) {
          expect(served.has(metric.external.metric.name), `${set} ${hpa.metadata.name}`).toBe(true);
          expect(exported.has(metric.external.metric.name), metric.external.metric.name).toBe(true);
        }
      }
    }
  });
});

