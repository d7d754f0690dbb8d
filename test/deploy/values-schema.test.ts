import { describe, expect, it } from 'vitest';
import { deploymentsOf, envOf, named, renderChart, renderError, type Deployment } from './chart';

const INPAINT_POOL = 'services.inpaint.pools.a100-80gb';
const volumesOf = (d: Deployment): { name: string; hostPath?: unknown }[] => (d.spec.template.spec as { volumes?: { name: string; hostPath?: unknown }[] }).volumes ?? [];

describe('values.schema.json and the chart refuse values that cannot work, saying where', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['an unknown execution provider', { [`${INPAINT_POOL}.providers`]: '{cuda,rocm}' }, /inpaint\/pools\/a100-80gb\/providers\/1.*one of/],
    ['a misspelt pool field', { [`${INPAINT_POOL}.nodeselector.a`]: 'b' }, /a100-80gb.*'nodeselector' not allowed/],
    ['a GPU pool on the CPU image', { [`${INPAINT_POOL}.variant`]: 'cpu' }, /a100-80gb\/variant/],
    ['the CUDA provider without a GPU', { 'services.decoder.pools.cpu.providers': '{cuda}' }, /decoder\/pools\/cpu.*gpu/],
    ['zero GPUs', { [`${INPAINT_POOL}.gpu.count`]: '0' }, /gpu\/count.*minimum|gpu\/count.*>= 1/],
    ['a batch of 0', { [`${INPAINT_POOL}.batchSize`]: '0' }, /batchSize/],
    ['a pool without memory limits', { [`${INPAINT_POOL}.resources.limits.memory`]: 'null' }, /a100-80gb\/resources\/limits.*memory/],
    ['a job store that is neither sqlite nor redis', { 'services.gateway.jobStore': 'postgres://db/jobs' }, /jobStore/],
    ['a malformed image digest', { 'image.digests.inpaint-cuda12': 'sha256:abc' }, /digests/],
    ['an unknown discovery mode', { 'services.gateway.discovery': 'consul' }, /discovery/],
    ['mutual TLS without a certificate Secret', { 'services.gateway.tls.enabled': 'true' }, /gateway\/tls\/secretName/],
    [
      'two gateways on the sqlite store',
      { 'services.gateway.pools.cpu.replicas': '2' },
      /sqlite job store serves one gateway replica; set services.gateway.jobStore to redis/,
    ],
    [
      'two gateway pools on the sqlite store',
      {
        'services.gateway.pools.spare.replicas': '1',
        ...Object.fromEntries(['requests', 'limits'].flatMap((k) => [[`services.gateway.pools.spare.resources.${k}.cpu`, '1'], [`services.gateway.pools.spare.resources.${k}.memory`, '1Gi']])),
      },
      /sqlite job store serves one gateway replica/,
    ],
    [
      'an autoscaler with nothing to scale on',
      { 'services.decoder.pools.cpu.autoscaling.targetCPUUtilizationPercentage': 'null' },
      /services.decoder.pools.cpu.autoscaling: set targetCPUUtilizationPercentage or queue.targetAverageDepth/,
    ],
    [
      'EndpointSlice discovery without the gateway ServiceAccount',
      { 'services.gateway.discovery': 'endpointslices', 'serviceAccount.create': 'false' },
      /endpointslices needs serviceAccount.create=true/,
    ],
  ];
  it.each(cases)('%s', (_name, set, message) => {
    expect(renderError({ set })).toMatch(message);
  });
});

describe('values that change the rendering', () => {
  it('pin an image by digest and keep the tag elsewhere', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const objects = renderChart({ set: { 'image.digests.inpaint-cuda12': digest, 'image.tag': '1.2.3' } });
    expect(named<Deployment>(objects, 'Deployment', 'vanelia-inpaint-a100-80gb').spec.template.spec.containers[0].image).toBe(
      `registry.example.com/vanelia/inpaint@${digest}`,
    );
    expect(named<Deployment>(objects, 'Deployment', 'vanelia-pose-a100').spec.template.spec.containers[0].image).toBe(
      'registry.example.com/vanelia/pose:1.2.3-cuda12',
    );
  });

  it('let a pool override the drain, and the grace period follows it', () => {
    const objects = renderChart({ set: { [`${INPAINT_POOL}.shutdownGraceMs`]: '300500' } });
    const [inpaint] = deploymentsOf(objects, 'inpaint');
    expect(envOf(inpaint.spec.template.spec.containers[0]).VANELIA_SHUTDOWN_GRACE_MS).toBe('300500');
    // 5 s preStop + 301 s drain (rounded up) + 10 s margin.
    expect(inpaint.spec.template.spec.terminationGracePeriodSeconds).toBe(316);
  });

  it('run several gateways once the job store is shared', () => {
    const objects = renderChart({ set: { 'services.gateway.jobStore': 'redis://redis:6379', 'services.gateway.pools.cpu.replicas': '3' } });
    const [gateway] = deploymentsOf(objects, 'gateway');
    expect(gateway.spec.replicas).toBe(3);
    expect(envOf(gateway.spec.template.spec.containers[0]).VANELIA_JOB_STORE).toBe('redis://redis:6379');
  });

  it('ask for nvidia.com/gpu when a pool names no GPU resource', () => {
    const objects = renderChart({ set: { [`${INPAINT_POOL}.gpu.resource`]: 'null' } });
    const [inpaint] = deploymentsOf(objects, 'inpaint');
    expect(inpaint.spec.template.spec.containers[0].resources?.limits?.['nvidia.com/gpu']).toBe(1);
  });

  it('share frames through the node tmpfs only when frameMemory is on, in every stage pod', () => {
    const off = renderChart();
    for (const d of off.filter((o): o is Deployment => o.kind === 'Deployment')) {
      expect(envOf(d.spec.template.spec.containers[0]).VANELIA_FRAME_MEMORY_DIR).toBeUndefined();
      expect(JSON.stringify(volumesOf(d))).not.toContain('hostPath');
    }
    const on = renderChart({ set: { 'frameMemory.enabled': 'true', 'frameMemory.maxAgeMs': '120000' } });
    const deployments = on.filter((o): o is Deployment => o.kind === 'Deployment');
    expect(new Set(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']))).toEqual(new Set(['decoder', 'pose', 'compositor', 'inpaint', 'gateway']));
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const env = envOf(pod.containers[0]);
      expect(env.VANELIA_FRAME_MEMORY_DIR).toBe('/var/run/vanelia/frame-memory/vanelia');
      expect(env.VANELIA_FRAME_MEMORY_MAX_AGE_MS).toBe('120000');
      expect(env.VANELIA_FRAME_MEMORY_CALL_BYTES).toBe('134217728');
      expect(volumesOf(d).find((v) => v.name === 'frame-memory')?.hostPath).toEqual({ path: '/dev/shm', type: 'Directory' });
      expect(pod.containers[0].volumeMounts?.find((m) => m.name === 'frame-memory')?.mountPath).toBe('/var/run/vanelia/frame-memory');
    }
    expect(renderError({ set: { 'frameMemory.hostPath': 'dev/shm' } })).toMatch(/frameMemory\/hostPath/);
  });
});
