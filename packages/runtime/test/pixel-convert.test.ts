import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { i420ToRgb, rgbToI420, rgbToI420Into } from '../src/pixel-convert';

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

  it('converts only a rectangle when asked: the same values inside it as a whole-frame conversion, nothing else touched', () => {
    const [w, h] = [21, 13]; // odd sizes: the rectangle may end at the frame's edge
    const rgb = smoothRgb(w, h);
    const yuv = rgbToI420(rgb, w, h);
    const rect = { xPx: 4, yPx: 2, widthPx: w - 4, heightPx: 8 };
    const fullRgb = i420ToRgb(yuv, w, h);
    const partRgb = i420ToRgb(yuv, w, h, Buffer.alloc(w * h * 3, 7), rect);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = x >= rect.xPx && x < rect.xPx + rect.widthPx && y >= rect.yPx && y < rect.yPx + rect.heightPx;
        const o = (y * w + x) * 3;
        expect([...partRgb.subarray(o, o + 3)], `${x},${y}`).toEqual(inside ? [...fullRgb.subarray(o, o + 3)] : [7, 7, 7]);
      }
    }
    // Back to I420 over the rectangle, into a frame of 0s: its Y and chroma equal the whole conversion's there.
    const into = rgbToI420Into(rgb, w, h, new Uint8Array(yuv.length), rect);
    const cw = Math.ceil(w / 2);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const inside = x >= rect.xPx && x < rect.xPx + rect.widthPx && y >= rect.yPx && y < rect.yPx + rect.heightPx;
      expect(into[y * w + x], `Y ${x},${y}`).toBe(inside ? yuv[y * w + x] : 0);
    }
    for (let cy = 0; cy < Math.ceil(h / 2); cy++) for (let cx = 0; cx < cw; cx++) {
      const inside = cx >= rect.xPx / 2 && cx < Math.ceil((rect.xPx + rect.widthPx) / 2) && cy >= rect.yPx / 2 && cy < (rect.yPx + rect.heightPx) / 2;
      for (const plane of [w * h, w * h + cw * Math.ceil(h / 2)]) expect(into[plane + cy * cw + cx], `chroma ${cx},${cy}`).toBe(inside ? yuv[plane + cy * cw + cx] : 0);
    }
    expect(() => rgbToI420Into(rgb, w, h, new Uint8Array(yuv.length), { xPx: 3, yPx: 2, widthPx: 4, heightPx: 4 })).toThrow(/splits chroma blocks/);
  });
});
