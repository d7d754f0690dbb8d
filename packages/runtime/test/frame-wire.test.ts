import { CompositeResponse, DecodeResponse, EncodeRequest, PixelFormat, RefineRequest, RefineResponse, TrackRequest } from '@vanelia/proto';
import { describe, expect, it } from 'vitest';
import { FAST_SCHEMAS, decodeFast, encodeFast } from '../src/frame-wire';
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
});
