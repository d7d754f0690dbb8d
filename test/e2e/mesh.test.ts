import { JobState, type JobSpec } from '@vanelia/proto';
import { checkHealth } from '@vanelia/runtime';
import { sharedDataFile } from '@vanelia/runtime/test-data';
import { downloadResult, gatewayClient, specFromArgs, startLocalMesh, submitJob, watchJob, type LocalMesh } from '@vanelia/cli';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAllRgb, makeTestVideo, probeStreams, psnr } from '../helpers/video';
import { metricValue } from './gateway-helpers';

/** A job without a product: the walking skeleton's pass-through path (decode -> compositor -> encode). */
const passThroughSpec = (): JobSpec => ({ ...specFromArgs({ 'no-refine': true }), poseBackend: 'none' });

describe('the mesh as five processes', () => {
  let dir: string;
  let mesh: LocalMesh;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-e2e-'));
    mesh = await startLocalMesh({ storageRoot: join(dir, 'storage'), env: { VANELIA_LOG_LEVEL: 'warn', VANELIA_SHUTDOWN_GRACE_MS: '60000' } });
  });

  afterAll(async () => {
    const frameMemoryDir = mesh?.frameMemoryDir;
    await mesh?.stop();
    await rm(dir, { recursive: true, force: true });
    if (frameMemoryDir) expect(existsSync(frameMemoryDir), 'the mesh removes its frame memory folder').toBe(false);
  });

  async function roundTrip(input: string, output: string): Promise<void> {
    const client = gatewayClient(mesh.gatewayAddress);
    const job = await submitJob(client, passThroughSpec(), { videoPath: input });
    const last = await watchJob(client, job.id, () => undefined);
    expect(last.error?.message ?? '').toBe('');
    expect(last.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    await downloadResult(client, job.id, output);
    client.close();
  }

  async function expectFaithful(input: string, output: string): Promise<void> {
    const [source, result] = [await probeStreams(input), await probeStreams(output)];
    const upright = Math.abs(source.rotationDeg) % 180 === 90 ? { w: source.heightPx, h: source.widthPx } : { w: source.widthPx, h: source.heightPx };
    expect(result.frames).toBe(source.frames);
    expect(result.fps).toBe(source.fps);
    expect([result.widthPx, result.heightPx]).toEqual([upright.w, upright.h]);
    expect(result.rotationDeg).toBe(0);
    const a = await decodeAllRgb(input);
    const b = await decodeAllRgb(output);
    expect(b.frames.length).toBe(a.frames.length);
    const whole = psnr(Buffer.concat(a.frames), Buffer.concat(b.frames));
    expect(whole).toBeGreaterThan(40);
  }

  it('every service answers health SERVING', async () => {
    for (const service of Object.values(mesh.services)) {
      await expect(checkHealth(service.address)).resolves.toBe('SERVING');
    }
  });

  it('returns a real video with the same frames, fps and size (PSNR > 40 dB)', async () => {
    const input = sharedDataFile('video-apple-orbit-cotracker', 'apple.mp4');
    const output = join(dir, 'apple.out.mp4');
    await roundTrip(input, output);
    await expectFaithful(input, output);
  });

  it('moved those frames between the services through shared memory, none inline', async () => {
    expect(mesh.frameMemoryDir).toMatch(/^\/dev\/shm\/vanelia-frames-/);
    const source = await probeStreams(sharedDataFile('video-apple-orbit-cotracker', 'apple.mp4'));
    const frameBytes = source.frames * source.widthPx * source.heightPx * 1.5; // I420
    const sent = (service: keyof LocalMesh['services'], transport: string) => metricValue(mesh.services[service].metricsPort, 'vanelia_frame_bytes_total', { transport });
    // decoder -> gateway -> compositor -> gateway -> decoder (encode): every frame four times.
    expect(await sent('decoder', 'memory')).toBeGreaterThanOrEqual(frameBytes);
    expect(await sent('gateway', 'memory')).toBeGreaterThanOrEqual(2 * frameBytes);
    expect(await sent('compositor', 'memory')).toBeGreaterThanOrEqual(frameBytes);
    for (const service of ['decoder', 'gateway', 'compositor'] as const) expect(await sent(service, 'inline')).toBe(0);
    // Every file was read: what is left in the folder is handed-back files waiting for reuse.
    const left = (await readdir(join(mesh.frameMemoryDir, 'frames'), { recursive: true })).filter((f) => /\/\d+$/.test(f));
    expect(left).toEqual([]);
  });

  it('keeps NTSC fps and audio, and delivers rotated video upright', async () => {
    const input = join(dir, 'rotated.mp4');
    await makeTestVideo(input, { widthPx: 480, heightPx: 270, fps: '30000/1001', frames: 45, audio: true, rotationDeg: 90 });
    const output = join(dir, 'rotated.out.mp4');
    await roundTrip(input, output);
    await expectFaithful(input, output);
    expect((await probeStreams(output)).audioCodec).toBe('aac');
  });

  it('drains a job when a stage gets SIGTERM mid-job: no frame is lost', async () => {
    const input = join(dir, 'long.mp4');
    await makeTestVideo(input, { widthPx: 640, heightPx: 360, fps: '25', frames: 150 });
    const client = gatewayClient(mesh.gatewayAddress);
    const job = await submitJob(client, passThroughSpec(), { videoPath: input });
    const compositor = mesh.services.compositor.process;
    const exited = new Promise<number | null>((resolve) => compositor.once('exit', (code) => resolve(code)));
    let signalled = false;
    const last = await watchJob(client, job.id, (event) => {
      const composited = event.stages.find((s) => s.stage === 'composite')?.framesDone ?? 0;
      if (!signalled && composited > 0 && composited < event.framesTotal) {
        signalled = true;
        compositor.kill('SIGTERM');
      }
    });
    expect(signalled).toBe(true);
    expect(last.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(await exited).toBe(0);
    const output = join(dir, 'long.out.mp4');
    await downloadResult(client, job.id, output);
    expect((await probeStreams(output)).frames).toBe(150);
    client.close();
    await mesh.restart('compositor');
  }, 180_000); // a whole job plus a drain: minutes when the machine is busy

  it('fails a job on a file that is not a video with a clear error, and keeps serving', async () => {
    const client = gatewayClient(mesh.gatewayAddress);
    const job = await submitJob(client, passThroughSpec(), { videoPath: new URL(import.meta.url).pathname });
    const last = await watchJob(client, job.id, () => undefined);
    expect(last.state).toBe(JobState.JOB_STATE_FAILED);
    expect(last.error?.stage).toBe('decoder');
    expect(last.error?.message).toMatch(/^decoder: cannot read .* as a video/);
    await expect(checkHealth(mesh.services.decoder.address)).resolves.toBe('SERVING');
    client.close();
  });
});

describe('the mesh with frames inline in the gRPC messages (as between pods on different nodes)', () => {
  it('returns the same video, every frame sent inline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vanelia-e2e-inline-'));
    const mesh = await startLocalMesh({ storageRoot: join(dir, 'storage'), env: { VANELIA_LOG_LEVEL: 'warn' }, frameMemory: false });
    try {
      expect(mesh.frameMemoryDir).toBe('');
      const input = join(dir, 'small.mp4');
      await makeTestVideo(input, { widthPx: 320, heightPx: 180, fps: '25', frames: 30 });
      const client = gatewayClient(mesh.gatewayAddress);
      const job = await submitJob(client, passThroughSpec(), { videoPath: input });
      const last = await watchJob(client, job.id, () => undefined);
      expect(last.state).toBe(JobState.JOB_STATE_SUCCEEDED);
      const output = join(dir, 'small.out.mp4');
      await downloadResult(client, job.id, output);
      client.close();
      expect((await probeStreams(output)).frames).toBe(30);
      expect(psnr(Buffer.concat((await decodeAllRgb(input)).frames), Buffer.concat((await decodeAllRgb(output)).frames))).toBeGreaterThan(40);
      expect(await metricValue(mesh.services.gateway.metricsPort, 'vanelia_frame_bytes_total', { transport: 'inline' })).toBe(2 * 30 * 320 * 180 * 1.5);
      expect(await metricValue(mesh.services.gateway.metricsPort, 'vanelia_frame_bytes_total', { transport: 'memory' })).toBe(0);
    } finally {
      await mesh.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
