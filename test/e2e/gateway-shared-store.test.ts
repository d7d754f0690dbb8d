import { JobState, type GatewayClient, type JobSpec } from '@vanelia/proto';
import { cancelJob, downloadResult, gatewayClient, getJob, listJobs, specFromArgs, startLocalMesh, submitJob, watchJob, type LocalMesh } from '@vanelia/cli';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../services/gateway/test/helpers/redis-server';
import { makeTestVideo, probeStreams } from '../helpers/video';
import { eventually, metricValue, spawnService, type ExtraService } from './gateway-helpers';

const passThrough = (): JobSpec => ({ ...specFromArgs({ 'no-refine': true }), poseBackend: 'none' });

/** Two gateway replicas on one Redis job store (a real redis-server), over the same stages. */
describe('two gateways sharing a Redis job store', () => {
  let dir: string;
  let redis: RedisServer;
  let mesh: LocalMesh;
  let gatewayB: ExtraService;
  let a: GatewayClient;
  let b: GatewayClient;
  let video: string;
  const storeEnv = (): Record<string, string> => ({
    VANELIA_JOB_STORE: redis.url,
    VANELIA_MAX_CONCURRENT_JOBS: '1',
    VANELIA_JOB_LEASE_MS: '1500',
    VANELIA_JOB_POLL_MS: '200',
    VANELIA_SEGMENT_FRAMES: '24',
  });
  const gateways = (): Array<{ metricsPort: number; kill: () => void }> => [
    { metricsPort: mesh.services.gateway.metricsPort, kill: () => mesh.services.gateway.process.kill('SIGKILL') },
    { metricsPort: gatewayB.metricsPort, kill: () => gatewayB.process.kill('SIGKILL') },
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-gw-shared-'));
    video = join(dir, 'in.mp4');
    await makeTestVideo(video, { widthPx: 640, heightPx: 360, fps: '25', frames: 240 });
    redis = await startRedisServer();
    const storage = join(dir, 'storage');
    mesh = await startLocalMesh({ storageRoot: storage, env: { VANELIA_LOG_LEVEL: 'warn' }, serviceEnv: { gateway: storeEnv() } });
    gatewayB = await spawnService('gateway', {
      ...storeEnv(),
      VANELIA_STORAGE_ROOT: storage,
      VANELIA_DECODER_ADDR: mesh.services.decoder.address,
      VANELIA_POSE_ADDR: mesh.services.pose.address,
      VANELIA_COMPOSITOR_ADDR: mesh.services.compositor.address,
      VANELIA_INPAINT_ADDR: mesh.services.inpaint.address,
    });
    a = gatewayClient(mesh.gatewayAddress);
    b = gatewayClient(gatewayB.address);
  });

  afterAll(async () => {
    a?.close();
    b?.close();
    await gatewayB?.stop();
    await mesh?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a job submitted to one gateway is watched, listed and fetched through the other; both take work', async () => {
    const jobs = [await submitJob(a, passThrough(), { videoPath: video }), await submitJob(a, passThrough(), { videoPath: video })];
    const last = await Promise.all(jobs.map((j) => watchJob(b, j.id, () => undefined)));
    expect(last.map((e) => e.state)).toEqual([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_SUCCEEDED]);
    // One job each: every gateway runs one job at a time here.
    const done = await Promise.all(gateways().map((g) => metricValue(g.metricsPort, 'vanelia_jobs_total', { outcome: 'succeeded' })));
    expect(done).toEqual([1, 1]);
    expect((await listJobs(b, 10, '', JobState.JOB_STATE_SUCCEEDED)).jobs.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    const output = join(dir, 'via-b.mp4');
    await downloadResult(b, jobs[0].id, output);
    expect((await probeStreams(output)).frames).toBe(240);
  });

  it('cancelling through one gateway stops the job on the gateway that runs it', async () => {
    const job = await submitJob(a, passThrough(), { videoPath: video });
    await eventually('the job to run', async () => (await getJob(b, job.id)).framesDone > 0);
    const cancelled = await cancelJob(b, job.id);
    expect(cancelled.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect((await watchJob(a, job.id, () => undefined)).state).toBe(JobState.JOB_STATE_CANCELLED);
    await eventually('both gateways to be idle', async () => {
      const running = await Promise.all(gateways().map((g) => metricValue(g.metricsPort, 'vanelia_jobs_running')));
      const streams = await Promise.all(gateways().map((g) => metricValue(g.metricsPort, 'vanelia_stage_streams_open')));
      return running.every((n) => n === 0) && streams.every((n) => n === 0);
    });
  });

  it('when the gateway running a job dies, the other continues it from its checkpoint', async () => {
    const job = await submitJob(b, passThrough(), { videoPath: video });
    await eventually('a checkpoint', async () => (await getJob(b, job.id)).framesCheckpointed >= 48, 60_000);
    const running = await Promise.all(gateways().map((g) => metricValue(g.metricsPort, 'vanelia_jobs_running')));
    const runner = running.indexOf(1);
    expect(runner).toBeGreaterThanOrEqual(0);
    gateways()[runner].kill();
    const survivor = runner === 0 ? b : a;
    const last = await watchJob(survivor, job.id, () => undefined);
    expect([last.error?.message ?? '', last.state, last.attempts]).toEqual(['', JobState.JOB_STATE_SUCCEEDED, 2]);
    const output = join(dir, 'continued.mp4');
    await downloadResult(survivor, job.id, output);
    expect((await probeStreams(output)).frames).toBe(240);
  }, 120_000);
});
