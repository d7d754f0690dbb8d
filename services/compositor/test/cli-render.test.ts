import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRenderArgs, renderCommand } from '../src/cli-render';
import { fixtureIo, shapeDocument, tempDir, testCamera } from './fixtures';

const dir = tempDir();
afterAll(() => dir.remove());

const W = 128;
const H = 72;

/** A transforms.json (OpenGL axes) for two cameras, and matching frames in frames/. */
async function scene(): Promise<{ model: string; cameras: string; frames: string }> {
  const { document } = shapeDocument('box', { scale: 0.3 });
  const model = join(dir.path, 'box.glb');
  writeFileSync(model, await (await fixtureIo()).writeBinary(document));
  const frames = join(dir.path, 'frames');
  mkdirSync(frames, { recursive: true });
  const entries = [];
  for (let i = 0; i < 2; i++) {
    const pose = testCamera(W, H, [0.2 * i - 0.1, 0.5, 1.1], [0, 0.15, 0], i);
    const m = pose.cameraToWorldOpenCv;
    entries.push({ file_path: `./images/frame_${i}`, transform_matrix: [0, 1, 2, 3].map((r) => [m[r * 4], -m[r * 4 + 1], -m[r * 4 + 2], m[r * 4 + 3]]) });
    await sharp({ create: { width: W, height: H, channels: 3, background: { r: 90, g: 120, b: 60 } } }).png().toFile(join(frames, `frame_${i}.png`));
  }
  const k = testCamera(W, H, [0, 0, 1], [0, 0, 0]).intrinsics;
  const cameras = join(dir.path, 'transforms.json');
  writeFileSync(cameras, JSON.stringify({ fl_x: k.fxPx, fl_y: k.fyPx, cx: k.cxPx, cy: k.cyPx, w: W, h: H, frames: entries }));
  return { model, cameras, frames };
}

describe('vanelia render', () => {
  it('parses its arguments and refuses bad ones', () => {
    const options = parseRenderArgs(['--model', 'a.glb', '--cameras=t.json', '--output', 'out', '--anchor', '1,2,3', '--metres-per-unit', '0.5', '--height-m', '0.3']);
    expect(options).toMatchObject({ modelPath: 'a.glb', camerasPath: 't.json', outputDir: 'out', productHeightM: 0.3 });
    expect(options.anchor?.pointWorld.toArray()).toEqual([1, 2, 3]);
    expect(options.anchor?.upWorld.toArray()).toEqual([0, 1, 0]);
    expect(options.anchor?.metresPerUnit).toBe(0.5);
    expect(() => parseRenderArgs(['--model', 'a.glb'])).toThrow(/needs --cameras/);
    expect(() => parseRenderArgs(['--model', 'a', '--cameras', 'b', '--output', 'c', '--anchor', '1,2'])).toThrow(/three numbers/);
    expect(() => parseRenderArgs(['--model', 'a', '--cameras', 'b', '--output', 'c', '--colour', 'red'])).toThrow(/unknown option --colour/);
  });

  it('writes the layers per camera and composites onto the frames', async () => {
    const { model, cameras, frames } = await scene();
    const output = join(dir.path, 'out');
    const result = await renderCommand({ modelPath: model, camerasPath: cameras, outputDir: output, framesDir: frames, maskDilatePx: 4 });
    expect(result).toMatchObject({ frames: 2, composited: 2 });
    const manifest = JSON.parse(readFileSync(result.manifestPath, 'utf8'));
    expect(manifest.frames).toHaveLength(2);
    for (const entry of manifest.frames) {
      for (const key of ['rgba', 'depth', 'composite', 'inpaintMask']) expect(existsSync(join(output, entry[key]))).toBe(true);
      const rgba = await sharp(join(output, entry.rgba)).raw().toBuffer({ resolveWithObject: true });
      expect([rgba.info.width, rgba.info.height, rgba.info.channels]).toEqual([W, H, 4]);
      const composite = await sharp(join(output, entry.composite)).raw().toBuffer();
      const depth = new Float32Array(new Uint8Array(readFileSync(join(output, entry.depth))).buffer);
      expect(depth.length).toBe(W * H);
      let product = 0;
      for (let p = 0; p < W * H; p++) {
        if (rgba.data[p * 4 + 3] === 255) {
          product++;
          expect(depth[p]).toBeGreaterThan(0.5);
          const x = p % W;
          const interior = x > 0 && x < W - 1 && [p - 1, p + 1, p - W, p + W].every((q) => rgba.data[q * 4 + 3] === 255);
          if (interior) expect(composite[p * 3]).toBe(rgba.data[p * 4]); // opaque product pixels are the product
        }
      }
      expect(product).toBeGreaterThan(100);
      expect(entry.inpaintRegion.widthPx).toBeGreaterThan(0);
    }
  });

  it('renders layers only when no frames are given', async () => {
    const { model, cameras } = await scene();
    const output = join(dir.path, 'layers-only');
    const result = await renderCommand({ modelPath: model, camerasPath: cameras, outputDir: output });
    expect(result).toMatchObject({ frames: 2, composited: 0 });
    expect(existsSync(join(output, 'rgba', '00001.png'))).toBe(true);
    expect(existsSync(join(output, 'composite'))).toBe(false);
  });
});
