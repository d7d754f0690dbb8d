import { CompositeResponse, DecodeResponse, EncodeRequest, PixelFormat, RefineRequest, RefineResponse, TrackRequest } from '@vanelia/proto';
import { describe, expect, it } from 'vitest';
import { FAST_SCHEMAS, decodeFast, encodeFast, frameMethodSchemas, mapFrames } from '../src/frame-wire';
import { frameBatch, grayFrame, rgbFrame } from '../src/frames';

const pixels = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255));
const batch = frameBatch('job-ü', [rgbFrame(0, 4, 2, pixels(24, 1), 0), rgbFrame(1, 4, 2, pixels(24, 2), 33_367), rgbFrame(300, 4, 2, pixels(24, 3), -5)]);
const composited: CompositeResponse = {
  jobId: 'j',
  batchId: batch.batchId,
  frames: batch.frames.map((f, i) => ({ composite: f, inpaintMask: grayFrame(f.index, 4, 2, pixels(8, i)), region: i === 0 ? undefined : { xPx: 1, yPx: 0, widthPx: 2, heightPx: 2 } })),
  warnings: ['product out of view in frame 0'],
};

describe('fast frame codec', () => {
  it('writes the same bytes as the generated code, and reads them back', () => {
    const cases = [
      [FAST_SCHEMAS.decodeResponse, DecodeResponse, { payload: { $case: 'batch', value: batch } }],
      [FAST_SCHEMAS.decodeResponse, DecodeResponse, { payload: { $case: 'info', value: { widthPx: 4, heightPx: 2, fpsNum: 30000, fpsDen: 1001, frameCount: 3, durationS: 0.1, rotationDeg: 90, hasAudio: true, videoCodec: 'h264', audioCodec: 'aac' } } }],
      [FAST_SCHEMAS.encodeRequest, EncodeRequest, { payload: { $case: 'batch', value: batch } }],
      [FAST_SCHEMAS.trackRequest, TrackRequest, { payload: { $case: 'batch', value: batch } }],
      [FAST_SCHEMAS.compositeResponse, CompositeResponse, composited],
      [FAST_SCHEMAS.refineRequest, RefineRequest, { payload: { $case: 'batch', value: composited } }],
      [FAST_SCHEMAS.refineResponse, RefineResponse, { batch, report: { refined: false, reason: 'no refinement models installed', stepsRun: 0, startSigma: 0, startTimestep: 0, batchSize: 4 }, warnings: [] }],
    ] as const;
    for (const [schema, generated, message] of cases) {
      const fast = encodeFast(schema, message);
      expect(fast.equals(Buffer.from((generated as any).encode(message).finish()))).toBe(true);
      expect(decodeFast(schema, fast)).toEqual((generated as any).decode(fast));
    }
  });

  it('decodes frame bytes as views into the received buffer', () => {
    const wire = encodeFast(FAST_SCHEMAS.encodeRequest, { payload: { $case: 'batch', value: batch } });
    const decoded = decodeFast(FAST_SCHEMAS.encodeRequest, wire);
    const data: Buffer = decoded.payload.value.frames[1].data;
    expect(data.buffer).toBe(wire.buffer);
    expect(decoded.payload.value.frames[2]).toMatchObject({ index: 300, ptsUs: -5, format: PixelFormat.PIXEL_FORMAT_RGB8 });
  });

  it('rejects truncated input', () => {
    const wire = encodeFast(FAST_SCHEMAS.encodeRequest, { payload: { $case: 'batch', value: batch } });
    expect(() => decodeFast(FAST_SCHEMAS.encodeRequest, wire.subarray(0, wire.length - 7))).toThrow(/truncated/);
  });

  it('writes frames that carry a memory ref instead of bytes like the generated code', () => {
    const asRefs = frameBatch('job', batch.frames.map((f, i) => ({ ...f, data: Buffer.alloc(0), memoryRef: { path: `frames/1f-ab/${i}`, lengthBytes: 24 + i * 2 ** 33 } })));
    const cases = [
      [FAST_SCHEMAS.encodeRequest, EncodeRequest, { payload: { $case: 'batch', value: asRefs } }],
      [FAST_SCHEMAS.refineRequest, RefineRequest, { payload: { $case: 'batch', value: { ...composited, frames: composited.frames.map((f, i) => ({ ...f, composite: asRefs.frames[i] })) } } }],
    ] as const;
    for (const [schema, generated, message] of cases) {
      const fast = encodeFast(schema, message);
      expect(fast.equals(Buffer.from((generated as any).encode(message).finish()))).toBe(true);
      expect(decodeFast(schema, fast)).toEqual((generated as any).decode(fast));
    }
    const decoded = decodeFast(FAST_SCHEMAS.encodeRequest, encodeFast(FAST_SCHEMAS.encodeRequest, cases[0][2]));
    expect(decoded.payload.value.frames[2].memoryRef).toEqual({ path: 'frames/1f-ab/2', lengthBytes: 24 + 2 * 2 ** 33 });
    expect(decoded.payload.value.frames[2].data.byteLength).toBe(0);
  });

  it('maps the frames of a message without changing it, by method path', () => {
    const request = { payload: { $case: 'batch', value: composited } };
    const schemas = frameMethodSchemas('/vanelia.v1.Inpaint/Refine')!;
    const seen: number[] = [];
    const mapped = mapFrames(schemas.request!, request, (f) => (seen.push(f.index), { ...f, data: Buffer.from('x') }));
    expect(seen).toEqual([0, 0, 1, 1, 300, 300]); // composite and mask of each frame
    expect(mapped.payload.value.frames[1].composite.data.toString()).toBe('x');
    expect(mapped.payload.value.frames[1].region).toBe(composited.frames[1].region);
    expect(composited.frames[1].composite!.data.byteLength).toBe(24);
    expect(mapFrames(schemas.request!, request, (f) => f)).toBe(request);
    expect(frameMethodSchemas('/vanelia.v1.Decoder/Probe')).toBeUndefined();
    expect(frameMethodSchemas('/vanelia.v1.Decoder/Decode')).toEqual({ response: FAST_SCHEMAS.decodeResponse });
  });
});
