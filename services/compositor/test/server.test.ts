import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CompositorClient, type CompositeConfig, type CompositeRequest, type CompositeResponse } from '@vanelia/proto';
import { baseServiceSchema, createMeshClient, loadConfig, rgbFrame, silentLogger, startService, type RunningService } from '@vanelia/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProductSession } from '../src/job-session';
import { createRendererProvider, type RendererProvider } from '../src/renderer-provider';
import { compositorService } from '../src/server';
import { fixtureIo, glbBytes, shapeDocument, tempDir, testCamera, triangleGltf } from './fixtures';

// The gRPC adapter end to end: one process, one shared renderer, several jobs (good and bad).

const W = 160;
const H = 90;
const storage = tempDir('vanelia-compositor-storage-');
let service: RunningService;
let client: CompositorClient;
let renderers: RendererProvider;
/** Every renderer handed to a job: one for the whole process is the point. */
const seen = new Set<unknown>();

beforeAll(async () => {
  const { document } = shapeDocument('box', { scale: 0.4 });
  writeFileSync(join(storage.path, 'box.glb'), await (await fixtureIo()).writeBinary(document));
  const broken = glbBytes(triangleGltf().json, triangleGltf().bin);
  writeFileSync(join(storage.path, 'broken.glb'), broken.subarray(0, broken.length - 8));
  const provider = createRendererProvider({ backend: (process.env.VANELIA_GPU_BACKEND as 'auto') ?? 'auto' }, silentLogger);
  renderers = {
    ...provider,
    async get() {
      const renderer = await provider.get();
      seen.add(renderer);
      return renderer;
    },
  };
  const config = loadConfig('compositor', baseServiceSchema('compositor'), { VANELIA_PORT: '0', VANELIA_METRICS_PORT: '0', VANELIA_HOST: '127.0.0.1', VANELIA_STORAGE_ROOT: storage.path });
  service = await startService({
    name: 'compositor',
    config,
    logger: silentLogger,
    services: [compositorService({ logger: silentLogger, openJob: (c) => openProductSession(c, { renderers, storageRoot: storage.path, logger: silentLogger }) })],
    checkReady: () => renderers.ready(),
    handleSignals: false,
  });
  client = createMeshClient(CompositorClient, `127.0.0.1:${service.port}`);
}, 120_000);

afterAll(async () => {
  client?.close();
  await service?.stop(1000);
  renderers?.dispose();
  storage.remove();
});

function composite(messages: CompositeRequest[]): Promise<CompositeResponse[]> {
  return new Promise((resolve, reject) => {
    const call = client.composite();
    const out: CompositeResponse[] = [];
    call.on('data', (r: CompositeResponse) => out.push(r));
    call.on('error', reject);
    call.on('end', () => resolve(out));
    for (const m of messages) call.write(m);
    call.end();
  });
}

function frameData(index: number): Uint8Array {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + index * 13) % 200;
  return data;
}

function configMessage(jobId: string, productPath: string, over: Partial<CompositeConfig> = {}): CompositeRequest {
  const cameras = [0, 1, 2].map((i) => {
    const pose = testCamera(W, H, [0.3 * i, 0.8, 1.6], [0, 0.2, 0], i);
    return { frameIndex: i, intrinsics: { ...pose.intrinsics }, cameraToWorldOpencv: Array.from(pose.cameraToWorldOpenCv), confidence: 1 };
  });
  return {
    payload: {
      $case: 'config',
      value: { jobId, productPath, track: { cameras, anchor: undefined, backend: 'import:transforms', warnings: [] }, productHeightM: 0, productYawDeg: 0, shadowOpacity: 0.7, maskDilatePx: 6, depth: [], lightFrames: [], ...over },
    },
  };
}

function batchMessage(jobId: string, first: number, count: number, size = { w: W, h: H }): CompositeRequest {
  const frames = Array.from({ length: count }, (_, i) => rgbFrame(first + i, size.w, size.h, size.w === W ? frameData(first + i) : new Uint8Array(size.w * size.h * 3), (first + i) * 33_333));
  return { payload: { $case: 'batch', value: { jobId, batchId: `${jobId}/${first}-${first + count - 1}`, frames } } };
}

describe('Compositor gRPC service', () => {
  it('passes frames through unchanged when the job has no product', async () => {
    const responses = await composite([configMessage('plain', ''), batchMessage('plain', 0, 2)]);
    expect(responses).toHaveLength(1);
    expect(responses[0].batchId).toBe('plain/0-1');
    expect(Buffer.compare(Buffer.from(responses[0].frames[1].composite!.data), Buffer.from(frameData(1)))).toBe(0);
  });

  it('composites the product into every batch, with an inpaint mask and its region', async () => {
    const responses = await composite([configMessage('box', 'box.glb'), batchMessage('box', 0, 2), batchMessage('box', 2, 1)]);
    expect(responses.map((r) => r.batchId)).toEqual(['box/0-1', 'box/2-2']);
    for (const response of responses) {
      for (const frame of response.frames) {
        const { composite: out, inpaintMask, region } = frame;
        expect([out!.index, out!.widthPx, out!.heightPx, out!.ptsUs]).toEqual([out!.index, W, H, out!.index * 33_333]);
        const original = frameData(out!.index);
        let changed = 0;
        for (let i = 0; i < original.length; i++) changed += out!.data[i] !== original[i] ? 1 : 0;
        expect(changed / original.length).toBeGreaterThan(0.03);
        let masked = 0;
        for (const v of inpaintMask!.data) masked += v === 255 ? 1 : 0;
        expect(masked).toBeGreaterThan(200);
        expect(region!.widthPx).toBeGreaterThan(10);
        // Every changed pixel lies inside the inpaint region.
        for (let p = 0; p < W * H; p++) {
          if (out!.data[p * 3] === original[p * 3]) continue;
          const x = p % W;
          const y = Math.floor(p / W);
          expect(x >= region!.xPx && x < region!.xPx + region!.widthPx && y >= region!.yPx && y < region!.yPx + region!.heightPx).toBe(true);
        }
      }
    }
  });

  it('lights a job from the light frames in its config, whatever batch a stream starts with', async () => {
    const lightFrames = [rgbFrame(0, W, H, frameData(0)), rgbFrame(1, W, H, frameData(1))];
    const frame2 = (responses: CompositeResponse[]): Buffer => Buffer.from(responses[responses.length - 1].frames.at(-1)!.composite!.data);
    // Without light frames each stream lights itself from its own first batch: these two differ.
    const fromStart = await composite([configMessage('l1', 'box.glb'), batchMessage('l1', 0, 2), batchMessage('l1', 2, 1)]);
    const fromMiddle = await composite([configMessage('l2', 'box.glb'), batchMessage('l2', 2, 1)]);
    expect(Buffer.compare(frame2(fromStart), frame2(fromMiddle))).not.toBe(0);
    // With the same light frames (what the gateway sends every replica) frame 2 comes out the same.
    const litStart = await composite([configMessage('l3', 'box.glb', { lightFrames }), batchMessage('l3', 0, 2), batchMessage('l3', 2, 1)]);
    const litMiddle = await composite([configMessage('l4', 'box.glb', { lightFrames }), batchMessage('l4', 2, 1)]);
    expect(Buffer.compare(frame2(litStart), frame2(litMiddle))).toBe(0);
    expect(Buffer.compare(frame2(litStart), frame2(fromStart))).toBe(0);
  });

  it('hides product and shadow behind nearer scene depth from the track (occlusion)', async () => {
    // A wall 0.2 units in front of every camera: nothing of the product may show.
    const wall = new Float32Array(40 * 24).fill(0.2);
    const depth = [0, 1].map((frameIndex) => ({ frameIndex, widthPx: 40, heightPx: 24, depthF32: Buffer.from(wall.buffer) }));
    const hidden = await composite([configMessage('wall', 'box.glb', { depth }), batchMessage('wall', 0, 2)]);
    for (const frame of hidden[0].frames) {
      expect(Buffer.compare(Buffer.from(frame.composite!.data), Buffer.from(frameData(frame.composite!.index)))).toBe(0);
      expect(frame.region!.widthPx).toBe(0);
    }
    const malformed = [{ frameIndex: 0, widthPx: 40, heightPx: 24, depthF32: Buffer.alloc(10) }];
    const bad = await composite([configMessage('bad-depth', 'box.glb', { depth: malformed }), batchMessage('bad-depth', 0, 1)]).catch((e) => e);
    expect(bad.details).toMatch(/depth map of frame 0 carries 10 bytes/);
  });

  it('fails a bad job with a clear status and keeps serving the next ones on the same renderer', async () => {
    const bad = await composite([configMessage('bad', 'broken.glb'), batchMessage('bad', 0, 1)]).catch((e) => e);
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^compositor: the GLB header declares .* truncated/);
    const missing = await composite([configMessage('missing', 'nope.glb'), batchMessage('missing', 0, 1)]).catch((e) => e);
    expect(missing.code).toBe(GrpcStatus.NOT_FOUND);
    const escape = await composite([configMessage('escape', '../../etc/passwd'), batchMessage('escape', 0, 1)]).catch((e) => e);
    expect(escape.code).toBe(GrpcStatus.PERMISSION_DENIED);
    const wrongSize = await composite([configMessage('size', 'box.glb'), batchMessage('size', 0, 1, { w: 80, h: 45 })]).catch((e) => e);
    expect(wrongSize.details).toMatch(/frame 0 is 80x45 but its camera is 160x90/);
    const good = await composite([configMessage('after', 'box.glb'), batchMessage('after', 0, 1)]);
    expect(good[0].frames[0].region!.widthPx).toBeGreaterThan(0);
    expect(seen.size).toBe(1);
  });
});
