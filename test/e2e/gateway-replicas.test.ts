import { JobState, type GatewayClient, type JobSpec } from '@vanelia/proto';
import { downloadResult, gatewayClient, specFromArgs, startLocalMesh, submitJob, watchJob, type LocalMesh } from '@vanelia/cli';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../../services/gateway/test/helpers/fake-kube-api';
import { makeTestVideo, probeStreams } from '../helpers/video';
import { eventually, metricValue, spawnService, type ExtraService } from './gateway-helpers';

const passThrough = (): JobSpec => ({ ...specFromArgs({ 'no-refine': true }), poseBackend: 'none' });
const NS = 'vanelia-test';
const addr = (service: string): string => `dns:///vanelia-${service}.${NS}.svc.cluster.local:50099`;
const portOf = (address: string): number => Number(address.split(':').pop());

/**
 * The gateway finds every replica through the Kubernetes API (EndpointSlices of each stage's Service,
 * served here by a fake API server on loopback) and spreads a job's batches over them.
 */
describe('gateway over several replicas of a stage (EndpointSlice discovery)', () => {
  let dir: string;
  let api: FakeKubeApi;
  let mesh: LocalMesh;
  let second: ExtraService | undefined;
  let client: GatewayClient;
  let video: string;

  const compositorFrames = async (metricsPort: number): Promise<number> => metricValue(metricsPort, 'vanelia_stage_frames_total', { stage: 'composite' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-gw-replicas-'));
    video = join(dir, 'in.mp4');
    await makeTestVideo(video, { widthPx: 320, heightPx: 240, fps: '25', frames: 160 });
    api = await FakeKubeApi.start();
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(kubeconfig, api.kubeConfigYaml(NS));
    mesh = await startLocalMesh({
      storageRoot: join(dir, 'storage'),
      env: { VANELIA_LOG_LEVEL: 'warn' },
      serviceEnv: {
        gateway: {
          VANELIA_DISCOVERY: 'endpointslices',
          KUBECONFIG: kubeconfig,
          VANELIA_NAMESPACE: NS,
          VANELIA_DECODER_ADDR: addr('decoder'),
          VANELIA_POSE_ADDR: addr('pose'),
          VANELIA_COMPOSITOR_ADDR: addr('compositor'),
          VANELIA_INPAINT_ADDR: addr('inpaint'),
          VANELIA_BATCH_SIZE: '4',
          VANELIA_SEGMENT_FRAMES: '48',
          VANELIA_BATCH_TIMEOUT_MS: '20000',
        },
      },
    });
    // The mesh's own replicas, as the control plane would publish them.
    for (const service of ['decoder', 'pose', 'compositor', 'inpaint'] as const) {
      api.setSlice(NS, `vanelia-${service}-a`, `vanelia-${service}`, portOf(mesh.services[service].address), ['127.0.0.1']);
    }
    second = await spawnService('compositor', { VANELIA_STORAGE_ROOT: join(dir, 'storage') });
    client = gatewayClient(mesh.gatewayAddress);
  });

  afterAll(async () => {
    client?.close();
    await second?.stop();
    await mesh?.stop();
    await api?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('two replicas of the compositor share one job\'s batches, found through EndpointSlices', async () => {
    // Scale up: a second slice of the compositor Service appears.
    api.setSlice(NS, 'vanelia-compositor-b', 'vanelia-compositor', portOf(second!.address), ['127.0.0.1']);
    const gatewayMetrics = mesh.services.gateway.metricsPort;
    await eventually('the gateway to see two serving compositors', async () => (await metricValue(gatewayMetrics, 'vanelia_stage_replicas', { service: 'compositor', serving: 'true' })) === 2);
    const job = await submitJob(client, passThrough(), { videoPath: video });
    const last = await watchJob(client, job.id, () => undefined);
    expect([last.error?.message ?? '', last.state]).toEqual(['', JobState.JOB_STATE_SUCCEEDED]);
    const [a, b] = [await compositorFrames(mesh.services.compositor.metricsPort), await compositorFrames(second!.metricsPort)];
    expect(a).toBeGreaterThanOrEqual(16);
    expect(b).toBeGreaterThanOrEqual(16);
    expect(a + b).toBe(160);
    const output = join(dir, 'shared.mp4');
    await downloadResult(client, job.id, output);
    expect((await probeStreams(output)).frames).toBe(160);
  });

  it('a replica killed mid-job loses nothing: its batches are sent again to the other, the job finishes whole', async () => {
    api.setSlice(NS, 'vanelia-compositor-b', 'vanelia-compositor', portOf(second!.address), ['127.0.0.1']);
    const gatewayMetrics = mesh.services.gateway.metricsPort;
    await eventually('two serving compositors', async () => (await metricValue(gatewayMetrics, 'vanelia_stage_replicas', { service: 'compositor', serving: 'true' })) === 2);
    const before = await compositorFrames(mesh.services.compositor.metricsPort);
    const secondBefore = await compositorFrames(second!.metricsPort);
    const job = await submitJob(client, passThrough(), { videoPath: video });
    // Kill the second replica once it is doing this job's work.
    let killed = false;
    const killer = eventually('the second replica to take batches of the job', async () => (await compositorFrames(second!.metricsPort)) - secondBefore >= 8, 30_000).then(() => {
      killed = second!.process.kill('SIGKILL');
    });
    const last = await watchJob(client, job.id, () => undefined);
    await killer;
    expect(killed).toBe(true);
    expect([last.error?.message ?? '', last.state]).toEqual(['', JobState.JOB_STATE_SUCCEEDED]);
    const output = join(dir, 'survived.mp4');
    await downloadResult(client, job.id, output);
    expect((await probeStreams(output)).frames).toBe(160);
    // The survivor did everything after the kill, and what the dead one had in flight.
    expect((await compositorFrames(mesh.services.compositor.metricsPort)) - before).toBeGreaterThan(80);
    await eventually('the dead replica to be marked not serving', async () => (await metricValue(gatewayMetrics, 'vanelia_stage_replicas', { service: 'compositor', serving: 'true' })) === 1);
    // Scale down: its slice goes; the gateway forgets it.
    api.deleteSlice(NS, 'vanelia-compositor-b');
    await eventually('the gateway to drop the replica', async () => (await metricValue(gatewayMetrics, 'vanelia_stage_replicas', { service: 'compositor' })) === 1);
  });
});
