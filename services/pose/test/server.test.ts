import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { PoseClient, type CameraTrack, type ImportTrackRequest, type TrackEvent, type TrackRequest } from '@vanelia/proto';
import { createMeshClient, frameBatch, rgbFrame, silentLogger, startService, type RunningService } from '@vanelia/runtime';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPoseConfig } from '../src/config';
import { evaluateTrajectory } from '../src/geometry/pose-error';
import { poseService } from '../src/server';
import { renderSyntheticFrame, syntheticVideo } from './fixtures/synthetic-scene';

// The gRPC adapter end to end: Track over a bidi stream (tracker backend, no model installed) and ImportTrack.

let service: RunningService;
let client: PoseClient;

beforeAll(async () => {
  const config = loadPoseConfig({ VANELIA_PORT: '0', VANELIA_METRICS_PORT: '0', VANELIA_HOST: '127.0.0.1' });
  service = await startService({ name: 'pose', config, logger: silentLogger, services: [poseService({ logger: silentLogger, modelDir: config.VANELIA_POSE_MODEL_DIR })], handleSignals: false });
  client = createMeshClient(PoseClient, `127.0.0.1:${service.port}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await service?.stop(1000);
});

function track(messages: TrackRequest[]): Promise<TrackEvent[]> {
  return new Promise((resolve, reject) => {
    const call = client.track();
    const events: TrackEvent[] = [];
    call.on('data', (e: TrackEvent) => events.push(e));
    call.on('error', reject);
    call.on('end', () => resolve(events));
    for (const m of messages) call.write(m);
    call.end();
  });
}

describe('pose gRPC service', () => {
  it('tracks streamed frame batches and answers with progress, then the track with its anchor', async () => {
    const video = syntheticVideo(20, 320, 180);
    const frames = Array.from({ length: 20 }, (_, i) => rgbFrame(i, 320, 180, renderSyntheticFrame(video, i)));
    const events = await track([
      { payload: { $case: 'config', value: { jobId: 'j1', backend: '', video: undefined, placement: { frameIndex: 2, hasPixel: false, pixelX: 0, pixelY: 0, productHeightM: 0.25, cameraHeightM: 0 }, sceneGraph: '', pairBatchSize: 0, wantDepth: false } } },
      ...[0, 8, 16].map((s): TrackRequest => ({ payload: { $case: 'batch', value: frameBatch('j1', frames.slice(s, s + 8)) } })),
    ]);
    const last = events[events.length - 1].payload;
    expect(last?.$case).toBe('track');
    const result = (last as { value: CameraTrack }).value;
    expect(result.backend).toBe('tracker');
    expect(result.cameras.map((c) => c.frameIndex)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(result.anchor?.frameIndex).toBe(2);
    expect(result.anchor?.metresPerUnit).toBeGreaterThan(0);
    const steps = events.filter((e) => e.payload?.$case === 'progress').map((e) => (e.payload as { value: { step: string } }).value.step);
    expect(new Set(steps)).toEqual(new Set(['features', 'alignment', 'anchor']));
    const err = evaluateTrajectory(result.cameras.map((c) => Float64Array.from(c.cameraToWorldOpencv)), video.cameras.map((c) => c.cameraToWorldOpenCv));
    expect(err.rmseRelative).toBeLessThan(0.01);
  }, 120_000);

  it("takes a job's camera height as the scene's metric scale, else the service's default (1.4 m)", async () => {
    const video = syntheticVideo(12, 320, 180);
    const frames = Array.from({ length: 12 }, (_, i) => rgbFrame(i, 320, 180, renderSyntheticFrame(video, i)));
    const anchorWith = async (cameraHeightM: number) => {
      const events = await track([
        { payload: { $case: 'config', value: { jobId: `h${cameraHeightM}`, backend: 'tracker', video: undefined, placement: { frameIndex: 0, hasPixel: false, pixelX: 0, pixelY: 0, productHeightM: 0, cameraHeightM }, sceneGraph: '', pairBatchSize: 0, wantDepth: false } } },
        { payload: { $case: 'batch', value: frameBatch(`h${cameraHeightM}`, frames) } },
      ]);
      return (events[events.length - 1].payload as { value: CameraTrack }).value.anchor!;
    };
    const [byDefault, lower] = await Promise.all([anchorWith(0), anchorWith(0.7)]);
    // The same reconstruction: only the metres a reconstruction unit stands for change, in proportion.
    expect(byDefault.metresPerUnit).toBeGreaterThan(0);
    expect(lower.metresPerUnit / byDefault.metresPerUnit).toBeCloseTo(0.5, 6);
  }, 120_000);

  it('imports an LLFF track and reports protocol and input errors as statuses', async () => {
    const importTrack = (request: Partial<ImportTrackRequest>) =>
      new Promise<CameraTrack>((resolve, reject) =>
        client.importTrack({ format: '', content: Buffer.alloc(0), files: {}, widthPx: 0, heightPx: 0, ...request }, (error, response) => (error ? reject(error) : resolve(response!))),
      );
    const llff = await importTrack({ content: readFileSync(join(sharedDataDir(), 'images-fern-llff', 'poses_bounds.npy')), widthPx: 504, heightPx: 378 });
    expect(llff.backend).toBe('import:llff');
    expect(llff.cameras).toHaveLength(20);
    expect(llff.cameras[0].intrinsics?.fxPx).toBeCloseTo(407.57, 1);
    await expect(importTrack({ content: Buffer.from('nonsense') })).rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: expect.stringMatching(/^pose: the camera track format could not be recognised/) });

    const early = await track([{ payload: { $case: 'batch', value: frameBatch('j2', [rgbFrame(0, 8, 8, new Uint8Array(192))]) } }]).catch((e: ServiceError) => e);
    expect(early).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, details: 'pose: Track got frames before its config.' });
    const dust3r = await track([{ payload: { $case: 'config', value: { jobId: 'j3', backend: 'dust3r', video: undefined, placement: undefined, sceneGraph: '', pairBatchSize: 0, wantDepth: false } } }]).catch((e: ServiceError) => e);
    expect(dust3r).toMatchObject({ code: GrpcStatus.FAILED_PRECONDITION, details: expect.stringMatching(/^pose: the dust3r backend was asked for/) });
  }, 60_000);
});
