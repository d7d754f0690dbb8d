import { PixelFormat } from '@vanelia/proto';
import { describe, expect, it } from 'vitest';
import { assertFrame, batchId, frameBatch, frameBytesExpected, rgbFrame } from '../src/frames';

describe('frame codec', () => {
  it('sizes frames by format', () => {
    expect(frameBytesExpected(1920, 1080, PixelFormat.PIXEL_FORMAT_RGB8)).toBe(6_220_800);
    expect(frameBytesExpected(4, 2, PixelFormat.PIXEL_FORMAT_DEPTH_F32)).toBe(32);
  });

  it('gives batches deterministic ids from their frames', () => {
    const frames = [3, 4, 5].map((i) => rgbFrame(i, 2, 2, new Uint8Array(12)));
    expect(frameBatch('job', frames).batchId).toBe(batchId('job', 3, 5));
    expect(batchId('job', 3, 5)).toBe('job/3-5');
  });

  it('rejects frames whose bytes do not match their size', () => {
    const frame = rgbFrame(7, 4, 4, new Uint8Array(40));
    expect(() => assertFrame('compositor', frame)).toThrow('compositor: frame 7 carries 40 bytes, 4x4 needs 48.');
    const ok = rgbFrame(1, 2, 2, new Uint8Array(12));
    expect(() => assertFrame('compositor', ok, { widthPx: 4, heightPx: 2 })).toThrow(/expected 4x2/);
    expect(() => assertFrame('compositor', ok, { widthPx: 2, heightPx: 2, format: PixelFormat.PIXEL_FORMAT_RGB8 })).not.toThrow();
  });
});
