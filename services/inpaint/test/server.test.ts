import { afterAll, describe, expect, it } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { InpaintClient, PixelFormat, type RefineRequest, type RefineResponse } from '@vanelia/proto';
import { createMeshClient, grayFrame, i420ToRgb, rgbFrame, rgbToI420, silentLogger, startService, type RunningService } from '@vanelia/runtime';
import { loadInpaintConfig } from '../src/config';
import { InpaintEngine } from '../src/inpaint-engine';
import { inpaintService } from '../src/server';
import { diff, scene, tinyFolder } from './fixtures';

const running: RunningService[] = [];
afterAll(async () => {
  for (const s of running) await s.stop(1000);
});

async function serve(modelDir: string): Promise<{ client: InpaintClient; engine: InpaintEngine }> {
  const config = loadInpaintConfig({ VANELIA_PORT: '0', VANELIA_METRICS_PORT: '0', VANELIA_HOST: '127.0.0.1', VANELIA_INPAINT_MODEL_DIR: modelDir });
  const engine = new InpaintEngine({ modelDir: config.VANELIA_INPAINT_MODEL_DIR, providers: config.VANELIA_INPAINT_PROVIDERS, refine: { roiMarginPx: 16, featherPx: 4 } });
  const service = await startService({ name: 'inpaint', config, logger: silentLogger, services: [inpaintService({ logger: silentLogger, engine })], checkReady: () => engine.ready(), handleSignals: false });
  running.push(service);
  return { client: createMeshClient(InpaintClient, `127.0.0.1:${service.port}`), engine };
}

function refine(client: InpaintClient, messages: RefineRequest[]): Promise<RefineResponse[]> {
  return new Promise((resolve, reject) => {
    const call = client.refine();
    const out: RefineResponse[] = [];
    call.on('data', (r: RefineResponse) => out.push(r));
    call.on('error', reject);
    call.on('end', () => resolve(out));
    for (const m of messages) call.write(m);
    call.end();
  });
}

const config = (over: Partial<NonNullable<Extract<RefineRequest['payload'], { $case: 'config' }>>['value']> = {}): RefineRequest => ({
  payload: {
    $case: 'config',
    value: { jobId: 'job-1', enabled: true, prompt: 'a vase', negativePrompt: '', preset: '', steps: 0, strength: 0, guidanceScale: 0, seed: 3, mode: 'roi', roiSizePx: 128, frameInterval: 0, batchSize: 2, ...over },
  },
});

function batchMessage(first: number, count: number, format = PixelFormat.PIXEL_FORMAT_RGB8): RefineRequest {
  const frames = scene(count, {}, first);
  const composite = (f: (typeof frames)[number]) =>
    format === PixelFormat.PIXEL_FORMAT_I420
      ? { ...rgbFrame(f.index, f.widthPx, f.heightPx, f.composite, f.ptsUs), format, data: rgbToI420(f.composite, f.widthPx, f.heightPx) }
      : rgbFrame(f.index, f.widthPx, f.heightPx, f.composite, f.ptsUs);
  return {
    payload: {
      $case: 'batch',
      value: {
        jobId: 'job-1',
        batchId: `job-1/${first}-${first + count - 1}`,
        warnings: ['from the compositor'],
        frames: frames.map((f) => ({
          composite: composite(f),
          inpaintMask: grayFrame(f.index, f.widthPx, f.heightPx, f.mask),
          region: { xPx: f.region.x, yPx: f.region.y, widthPx: f.region.w, heightPx: f.region.h },
        })),
      },
    },
  };
}

describe('Inpaint gRPC service', () => {
  it('refines streamed batches in order with a report per batch', async () => {
    const { client } = await serve(tinyFolder());
    const responses = await refine(client, [config(), batchMessage(0, 2), batchMessage(2, 1)]);
    expect(responses.map((r) => r.batch?.batchId)).toEqual(['job-1/0-1', 'job-1/2-2']);
    expect(responses[0].report).toMatchObject({ refined: true, stepsRun: 3, startTimestep: 23, batchSize: 2 });
    expect(responses[0].warnings).toEqual(['from the compositor']);
    const frames = scene(2);
    const out = responses[0].batch!.frames;
    expect(out.map((f) => [f.index, f.format, f.ptsUs])).toEqual([[0, PixelFormat.PIXEL_FORMAT_RGB8, 0], [1, PixelFormat.PIXEL_FORMAT_RGB8, 33_333]]);
    expect(diff(new Uint8Array(out[0].data), frames[0].composite).count).toBeGreaterThan(100);
    const status = await new Promise((resolve, reject) => client.getModelStatus({}, (e, s) => (e ? reject(e) : resolve(s))));
    expect(status).toMatchObject({ installed: true, provider: 'cpu', precision: 'fp32', problems: [] });
  });

  it('takes I420 composites and answers in I420; unchanged frames go back byte for byte', async () => {
    const { client } = await serve(tinyFolder());
    const request = batchMessage(0, 1, PixelFormat.PIXEL_FORMAT_I420);
    const [refined] = await refine(client, [config(), request]);
    const sent = (request.payload as Extract<RefineRequest['payload'], { $case: 'batch' }>).value.frames[0].composite!;
    const got = refined.batch!.frames[0];
    expect(got.format).toBe(PixelFormat.PIXEL_FORMAT_I420);
    expect(got.data.byteLength).toBe(sent.data.byteLength);
    expect(diff(i420ToRgb(got.data, got.widthPx, got.heightPx), i420ToRgb(sent.data, sent.widthPx, sent.heightPx)).count).toBeGreaterThan(100);
    const [passed] = await refine(client, [config({ enabled: false }), request]);
    expect(Buffer.compare(passed.batch!.frames[0].data, sent.data)).toBe(0);
  });

  it('passes frames through and says so when no models are installed', async () => {
    const { client } = await serve('');
    const responses = await refine(client, [config(), batchMessage(0, 1)]);
    expect(responses[0].report).toMatchObject({ refined: false, reason: 'no refinement models installed' });
    expect(diff(new Uint8Array(responses[0].batch!.frames[0].data), scene(1)[0].composite).max).toBe(0);
    const status = await new Promise((resolve, reject) => client.getModelStatus({}, (e, s) => (e ? reject(e) : resolve(s))));
    expect(status).toMatchObject({ installed: false, problems: ['no refinement models installed'] });
  });

  it('answers bad settings and frames before config with clear statuses', async () => {
    const { client } = await serve('');
    const bad = await refine(client, [config({ preset: 'wild' })]).catch((e) => e);
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^inpaint: the refinement settings are invalid: preset "wild"/);
    const early = await refine(client, [batchMessage(0, 1)]).catch((e) => e);
    expect(early.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(early.details).toBe('inpaint: Refine got frames before its config.');
  });
});
