import { JobState, type GatewayClient, type JobEvent, type JobSpec } from '@vanelia/proto';
import { cancelJob, downloadPreview, downloadResult, gatewayClient, getJob, listJobs, specFromArgs, startLocalMesh, submitJob, watchJob, type LocalMesh } from '@vanelia/cli';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewFrameIndices } from '../../services/gateway/src/preview';
import { decodeAllRgb, makeTestVideo, probeStreams, psnr } from '../helpers/video';
import { childCommands, eventually, metricValue } from './gateway-helpers';

/** Jobs without a product: decode → compositor (pass-through) → encode, the path every stage build has. */
const passThrough = (over: Partial<JobSpec> = {}): JobSpec => ({ ...specFromArgs({ 'no-refine': true }), poseBackend: 'none', ...over });
const TOKEN = 'tok-b';

describe('gateway jobs through the mesh (SQLite store, tokens)', () => {
  let dir: string;
  let mesh: LocalMesh;
  let client: GatewayClient;
  const videos: Record<string, string> = {};
  const finished: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-gw-jobs-'));
    const make = async (name: string, o: Parameters<typeof makeTestVideo>[1]): Promise<void> => {
      videos[name] = join(dir, `${name}.mp4`);
      await makeTestVideo(videos[name], o);
    };
    await Promise.all([
      make('a', { widthPx: 320, heightPx: 240, fps: '25', frames: 48 }),
      make('b', { widthPx: 240, heightPx: 160, fps: '30000/1001', frames: 72, audio: true }),
      make('c', { widthPx: 320, heightPx: 180, fps: '24', frames: 60 }),
      make('long', { widthPx: 640, heightPx: 360, fps: '25', frames: 400 }),
      make('resume', { widthPx: 640, heightPx: 360, fps: '25', frames: 320, audio: true }),
      make('many', { widthPx: 64, heightPx: 48, fps: '25', frames: 510 }),
      make('wide', { widthPx: 1344, heightPx: 64, fps: '25', frames: 5 }),
    ]);
    mesh = await startLocalMesh({
      storageRoot: join(dir, 'storage'),
      env: { VANELIA_LOG_LEVEL: 'warn' },
      serviceEnv: {
        gateway: {
          VANELIA_API_TOKENS: `tok-a,${TOKEN}`,
          VANELIA_MAX_CONCURRENT_JOBS: '3',
          VANELIA_SEGMENT_FRAMES: '24',
          VANELIA_JOB_LEASE_MS: '1500',
          VANELIA_JOB_POLL_MS: '200',
          VANELIA_MAX_FRAMES: '500',
          VANELIA_MAX_SIDE_PX: '1280',
          VANELIA_MAX_VIDEO_BYTES: String(8 * 1024 * 1024),
          VANELIA_MAX_PROMPT_CHARS: '200',
        },
      },
    });
    client = gatewayClient(mesh.gatewayAddress, { token: TOKEN });
  });

  afterAll(async () => {
    client?.close();
    await mesh?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs three jobs at once to completion, each with its own frames, fps and audio', async () => {
    const names = ['a', 'b', 'c'];
    const jobs = await Promise.all(names.map((n) => submitJob(client, passThrough({ labels: { name: n } }), { videoPath: videos[n] })));
    const events = await Promise.all(jobs.map((job) => watchJob(client, job.id, () => undefined)));
    for (const last of events) expect([last.error?.message ?? '', JobState[last.state]]).toEqual(['', 'JOB_STATE_SUCCEEDED']);
    const stored = await Promise.all(jobs.map((j) => getJob(client, j.id)));
    // They ran at the same time: each started before any of them finished.
    expect(Math.max(...stored.map((j) => j.startedUnixMs))).toBeLessThan(Math.min(...stored.map((j) => j.finishedUnixMs)));
    for (const [i, job] of jobs.entries()) {
      const output = join(dir, `${names[i]}.out.mp4`);
      await downloadResult(client, job.id, output);
      const [source, result] = [await probeStreams(videos[names[i]]), await probeStreams(output)];
      expect([result.frames, result.fps, result.widthPx, result.audioCodec]).toEqual([source.frames, source.fps, source.widthPx, source.audioCodec]);
      expect(psnr(Buffer.concat((await decodeAllRgb(videos[names[i]])).frames), Buffer.concat((await decodeAllRgb(output)).frames))).toBeGreaterThan(38);
      expect(stored[i]).toMatchObject({ attempts: 1, framesDone: source.frames, framesCheckpointed: source.frames, spec: { labels: { name: names[i] } } });
      finished.push(job.id);
    }
  });

  it('lists jobs by state, newest first, in pages', async () => {
    const first = await listJobs(client, 2, '', JobState.JOB_STATE_SUCCEEDED);
    expect(first.jobs).toHaveLength(2);
    expect(first.nextPageToken).not.toBe('');
    const second = await listJobs(client, 2, first.nextPageToken, JobState.JOB_STATE_SUCCEEDED);
    expect(new Set([...first.jobs, ...second.jobs].map((j) => j.id))).toEqual(new Set(finished));
    expect(first.jobs[0].createdUnixMs).toBeGreaterThanOrEqual(first.jobs[1].createdUnixMs);
    expect((await listJobs(client, 10, '', JobState.JOB_STATE_RUNNING)).jobs).toEqual([]);
  });

  it('serves a before/after contact sheet of sampled source and result frames', async () => {
    const sheetPath = join(dir, 'a.preview.png');
    await downloadPreview(client, finished[0], sheetPath);
    const sheet = sharp(await readFile(sheetPath));
    const meta = await sheet.metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([8 + 4 * (320 + 8), 8 * 3 + 240 * 2]);
    const raw = await sheet.removeAlpha().raw().toBuffer();
    const tile = (column: number, row: number): Buffer => {
      const out = Buffer.alloc(320 * 240 * 3);
      for (let y = 0; y < 240; y++) {
        const start = ((8 + row * 248 + y) * meta.width! + 8 + column * 328) * 3;
        raw.copy(out, y * 320 * 3, start, start + 320 * 3);
      }
      return out;
    };
    const source = await decodeAllRgb(videos.a);
    const indices = previewFrameIndices(48);
    for (let column = 0; column < 4; column++) {
      expect(psnr(tile(column, 0), source.frames[indices[column]])).toBeGreaterThan(40); // before: the source frame
      expect(psnr(tile(column, 1), source.frames[indices[column]])).toBeGreaterThan(35); // after: the encoded result
    }
    expect(psnr(tile(0, 0), tile(1, 0))).toBeLessThan(30); // different frames
  });

  it('refuses calls without a valid token, with a sentence', async () => {
    for (const token of ['', 'wrong']) {
      const anonymous = gatewayClient(mesh.gatewayAddress, { token });
      const error = await getJob(anonymous, finished[0]).catch((e: unknown) => e);
      anonymous.close();
      expect(error).toMatchObject({ code: 'UNAUTHENTICATED', message: token ? 'gateway: the token is not valid.' : expect.stringMatching(/^gateway: the call carries no token/) });
    }
    const other = gatewayClient(mesh.gatewayAddress, { token: 'tok-a' });
    expect((await getJob(other, finished[0])).id).toBe(finished[0]);
    other.close();
  });

  it('refuses jobs over the limits with clear errors, and keeps nothing of them', async () => {
    const refused = async (spec: JobSpec, videoPath: string): Promise<{ code: string; message: string }> => submitJob(client, spec, { videoPath }).then(() => ({ code: 'OK', message: '' }), (e: { code: string; message: string }) => e);
    expect(await refused(passThrough(), videos.many)).toEqual(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: 'gateway: the video has 510 frames; the limit is 500.' }));
    expect(await refused(passThrough(), videos.wide)).toEqual(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: 'gateway: the video is 1344x64; its longest side may be 1280 pixels.' }));
    const prompt = passThrough({ refine: { ...passThrough().refine!, prompt: 'x'.repeat(201) } });
    expect(await refused(prompt, videos.a)).toEqual(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'gateway: the prompt has 201 characters; the limit is 200.' }));
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(9 * 1024 * 1024));
    expect(await refused(passThrough(), big)).toEqual(expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: `gateway: the video is ${9 * 1024 * 1024} bytes; the upload limit is ${8 * 1024 * 1024}.` }));
    expect(await refused(passThrough({ poseBackend: 'colmap' }), videos.a)).toEqual(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const anchored = passThrough({ placement: { frameIndex: 0, hasPixel: true, pixelX: 400, pixelY: 10, productHeightM: 0, productYawDeg: 0, cameraHeightM: 0 } });
    expect((await refused(anchored, videos.a)).message).toBe('gateway: the anchor pixel (400, 10) is outside the 320x240 frame.');
    // Nothing was queued and no upload was kept.
    expect((await listJobs(client, 50)).jobs.map((j) => j.id).sort()).toEqual([...finished].sort());
  });

  it('returns the first job for a repeated idempotency key', async () => {
    const spec = passThrough({ idempotencyKey: 'same-key' });
    const first = await submitJob(client, spec, { videoPath: videos.c });
    const second = await submitJob(client, spec, { videoPath: videos.c });
    expect(second.id).toBe(first.id);
    expect((await watchJob(client, first.id, () => undefined)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    finished.push(first.id);
  });

  it('cancel stops the work and frees its resources (calls, ffmpeg processes, files)', async () => {
    const job = await submitJob(client, passThrough(), { videoPath: videos.long });
    let cancelled: Promise<unknown> | undefined;
    const last = await watchJob(client, job.id, (event) => {
      if (!cancelled && event.framesDone > 0 && event.state === JobState.JOB_STATE_RUNNING) cancelled = cancelJob(client, job.id);
    });
    const answer = (await cancelled) as { state: JobState };
    expect(answer.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(last.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(last.framesDone).toBeLessThan(400);
    const gateway = mesh.services.gateway.metricsPort;
    await eventually('the gateway to close its stage calls', async () => (await metricValue(gateway, 'vanelia_stage_streams_open')) === 0 && (await metricValue(gateway, 'vanelia_jobs_running')) === 0);
    await eventually('the decoder to end its ffmpeg processes', () => !childCommands(mesh.services.decoder.process.pid!).includes('ffmpeg'));
    expect(existsSync(join(dir, 'storage', 'jobs', job.id))).toBe(false);
    expect(await metricValue(gateway, 'vanelia_jobs_total', { outcome: 'cancelled' })).toBe(1);
    const stored = await getJob(client, job.id);
    expect(stored.state).toBe(JobState.JOB_STATE_CANCELLED);
    // Cancelling again changes nothing; a finished job cannot be cancelled.
    expect((await cancelJob(client, job.id)).finishedUnixMs).toBe(stored.finishedUnixMs);
    expect((await cancelJob(client, finished[0])).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const error = await downloadResult(client, job.id, join(dir, 'nothing.mp4')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FAILED_PRECONDITION', message: `gateway: job ${job.id} has no result (state CANCELLED).` });
  });

  it('finishes a job with the same output after the gateway is killed (SIGKILL) mid-job and restarted', async () => {
    const job = await submitJob(client, passThrough(), { videoPath: videos.resume });
    let killedAt = -1;
    const seen: JobEvent[] = [];
    const last = await watchJob(
      client,
      job.id,
      (event) => {
        seen.push(event);
        if (killedAt < 0 && event.framesCheckpointed >= 48 && event.framesCheckpointed < 320) {
          killedAt = event.framesCheckpointed;
          mesh.services.gateway.process.kill('SIGKILL');
          void mesh.restart('gateway');
        }
      },
      { reconnectMs: 60_000 },
    );
    expect(killedAt).toBeGreaterThanOrEqual(48);
    expect([last.error?.message ?? '', last.state]).toEqual(['', JobState.JOB_STATE_SUCCEEDED]);
    expect(last.attempts).toBe(2);
    // The second attempt started from its checkpoint, not from frame 0.
    const resumed = seen.find((e) => e.attempts === 2 && e.stages.some((s) => s.stage === 'encode'))!;
    expect(resumed.stages.find((s) => s.stage === 'encode')!.framesDone).toBeGreaterThanOrEqual(killedAt);
    expect(last.warnings.some((w) => w.startsWith('continued by a gateway'))).toBe(true);

    const reference = await submitJob(client, passThrough(), { videoPath: videos.resume });
    expect((await watchJob(client, reference.id, () => undefined)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const [resumedOut, referenceOut] = [join(dir, 'resumed.mp4'), join(dir, 'reference.mp4')];
    await downloadResult(client, job.id, resumedOut);
    await downloadResult(client, reference.id, referenceOut);
    const [a, b] = [await decodeAllRgb(resumedOut), await decodeAllRgb(referenceOut)];
    expect(a.frames).toHaveLength(320);
    expect(psnr(Buffer.concat(a.frames), Buffer.concat(b.frames))).toBe(Infinity);
    expect((await probeStreams(resumedOut)).audioCodec).toBe('aac');
    expect(Buffer.compare(await readFile(resumedOut), await readFile(referenceOut))).toBe(0);
  }, 240_000);

  it('answers NOT_FOUND for unknown jobs', async () => {
    const error = await getJob(client, 'no-such-job').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'gateway: no job has id "no-such-job".' });
  });
});
