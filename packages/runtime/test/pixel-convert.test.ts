import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { i420ToRgb, rgbToI420 } from '../src/pixel-convert';

/** ffmpeg's own conversion of the same pixels, for reference. */
function ffmpegConvert(input: Buffer, from: string, to: string, w: number, h: number): Buffer {
  return execFileSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', from, '-s', `${w}x${h}`, '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', to, 'pipe:1'], { input });
}

function smoothRgb(w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      out[o] = (x * 255) / (w - 1);
      out[o + 1] = (y * 255) / (h - 1);
      out[o + 2] = 128 + 100 * Math.sin((x + y) / 9);
    }
  return out;
}

const maxAbsDiff = (a: Uint8Array, b: Uint8Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('I420 <-> RGB', () => {
  it('agrees with ffmpeg (BT.601 limited range) within 2 levels on luma and 3 on colour', () => {
    const [w, h] = [64, 48];
    const rgb = smoothRgb(w, h);
    const ours = rgbToI420(rgb, w, h);
    const theirs = ffmpegConvert(rgb, 'rgb24', 'yuv420p', w, h);
    expect(ours.length).toBe(theirs.length);
    expect(maxAbsDiff(ours.subarray(0, w * h), theirs.subarray(0, w * h))).toBeLessThanOrEqual(2);
    expect(maxAbsDiff(ours.subarray(w * h), theirs.subarray(w * h))).toBeLessThanOrEqual(3);
    const back = i420ToRgb(theirs, w, h);
    const reference = ffmpegConvert(theirs, 'yuv420p', 'rgb24', w, h);
    let worst = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(back[(y * w + x) * 3 + c] - reference[(y * w + x) * 3 + c]));
    expect(worst).toBeLessThanOrEqual(3);
  });

  it('handles odd sizes (chroma rounded up)', () => {
    const rgb = smoothRgb(5, 3);
    const yuv = rgbToI420(rgb, 5, 3);
    expect(yuv.length).toBe(15 + 2 * 3 * 2);
    expect(i420ToRgb(yuv, 5, 3).length).toBe(45);
  });
});
