import * as THREE from 'three/webgpu';
import { describe, expect, it } from 'vitest';
import { lookAtPose } from '../src/camera-model';
import { SRGB8_TO_LINEAR, linearToSrgb, linearToSrgb8, srgbToLinear } from '../src/colour';
import { compositeFrame } from '../src/composite';
import { buildInpaintMask } from '../src/inpaint-mask';
import type { RenderedLayers } from '../src/layer-renderer';

// Compositing in linear light: known inputs, exact expected outputs.

const W = 8;
const H = 6;

function frame(value: number): { widthPx: number; heightPx: number; data: Uint8Array } {
  return { widthPx: W, heightPx: H, data: new Uint8Array(W * H * 3).fill(value) };
}

/** Layers covering the whole frame with one premultiplied colour, alpha, shadow and depth. */
function layers(options: { linear?: number; alpha?: number; shadow?: number; depth?: number; mask?: number }): RenderedLayers {
  const n = W * H;
  const alpha = options.alpha ?? 0;
  const color = new Uint8Array(n * 4);
  const encoded = Math.round(linearToSrgb((options.linear ?? 0) * alpha) * 255);
  for (let p = 0; p < n; p++) color.set([encoded, encoded, encoded, Math.round(alpha * 255)], p * 4);
  return {
    frameIndex: 0,
    frameWidthPx: W,
    frameHeightPx: H,
    region: { xPx: 0, yPx: 0, widthPx: W, heightPx: H },
    colorPremultiplied: color,
    productMask: new Uint8Array(n).fill(options.mask ?? Math.round(alpha * 255)),
    shadowMask: new Uint8Array(n).fill(options.shadow ?? 0),
    depth: new Float32Array(n).fill(options.depth ?? 0),
  };
}

describe('sRGB transfer', () => {
  it('round-trips every 8-bit code through linear light', () => {
    for (let i = 0; i < 256; i++) expect(linearToSrgb8(SRGB8_TO_LINEAR[i])).toBe(i);
    expect(srgbToLinear(linearToSrgb(0.18))).toBeCloseTo(0.18, 12);
  });
});

describe('compositeFrame', () => {
  it('alpha-over happens in linear light, not on sRGB codes', () => {
    // 50% white over black: linear 0.5, i.e. sRGB code 188 (an sRGB-space blend would give 128).
    const out = compositeFrame({ frame: frame(0), layers: layers({ linear: 1, alpha: 0.5 }) }, { featherEdges: false });
    expect(out.rgb[0]).toBe(188);
    expect(out.productAlpha[0]).toBe(128);
  });

  it('an opaque product replaces the frame; no product leaves it untouched', () => {
    const opaque = compositeFrame({ frame: frame(30), layers: layers({ linear: 0.2, alpha: 1 }) }, { featherEdges: false });
    expect(opaque.rgb[5]).toBe(linearToSrgb8(0.2));
    const none = compositeFrame({ frame: frame(30), layers: layers({}) });
    expect(Array.from(none.rgb)).toEqual(Array.from(frame(30).data));
  });

  it('the shadow multiplies the frame in linear light, scaled by the opacity', () => {
    const out = compositeFrame({ frame: frame(200), layers: layers({ shadow: 255 }) }, { shadowOpacity: 0.5 });
    expect(out.rgb[0]).toBe(linearToSrgb8(SRGB8_TO_LINEAR[200] * 0.5));
    expect(out.shadowStrength[0]).toBe(128);
    const off = compositeFrame({ frame: frame(200), layers: layers({ shadow: 255 }) }, { shadowOpacity: 0 });
    expect(off.rgb[0]).toBe(200);
  });

  it('partially covered silhouette pixels are feathered with their neighbours', () => {
    const l = layers({});
    // Columns 0-2 opaque white, column 3 a quarter covered, the rest empty.
    const quarter = Math.round(linearToSrgb(0.25) * 255);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < 4; x++) {
        const q = y * W + x;
        const full = x < 3;
        l.colorPremultiplied.set(full ? [255, 255, 255, 255] : [quarter, quarter, quarter, 64], q * 4);
        l.productMask[q] = full ? 255 : 64;
      }
    }
    const at = (out: { rgb: Uint8Array }, x: number) => out.rgb[(2 * W + x) * 3];
    const sharp = compositeFrame({ frame: frame(0), layers: l }, { featherEdges: false });
    const feathered = compositeFrame({ frame: frame(0), layers: l });
    expect(at(sharp, 3)).toBe(linearToSrgb8(SRGB8_TO_LINEAR[quarter]));
    // 3x3 binomial across columns 2, 3, 4: 0.25 * 1 + 0.5 * 0.25 + 0.25 * 0 = 0.375 (linear).
    expect(at(feathered, 3)).toBe(linearToSrgb8(0.25 + 0.5 * SRGB8_TO_LINEAR[quarter]));
    expect(at(feathered, 2)).toBe(255);
    expect(at(feathered, 5)).toBe(0);
  });

  it('scene depth nearer than the product hides it; farther leaves it', () => {
    const product = layers({ linear: 1, alpha: 1, depth: 2 });
    const nearer = { frameIndex: 0, widthPx: 4, heightPx: 3, depth: new Float32Array(12).fill(1.5) };
    const farther = { frameIndex: 0, widthPx: 4, heightPx: 3, depth: new Float32Array(12).fill(3) };
    expect(compositeFrame({ frame: frame(10), layers: product, sceneDepth: nearer }, { featherEdges: false }).rgb[0]).toBe(10);
    expect(compositeFrame({ frame: frame(10), layers: product, sceneDepth: farther }, { featherEdges: false }).rgb[0]).toBe(255);
    // A surface at the product's own depth (where it stands) does not hide it; unknown depth (0) never hides.
    const touching = { frameIndex: 0, widthPx: 4, heightPx: 3, depth: new Float32Array(12).fill(2) };
    expect(compositeFrame({ frame: frame(10), layers: product, sceneDepth: touching }, { featherEdges: false }).rgb[0]).toBe(255);
    const unknown = { frameIndex: 0, widthPx: 4, heightPx: 3, depth: new Float32Array(12) };
    expect(compositeFrame({ frame: frame(10), layers: product, sceneDepth: unknown }, { featherEdges: false }).rgb[0]).toBe(255);
  });

  it("hides the shadow where the scene is nearer than the plane", () => {
    // Camera 2 units above a floor (y = 0) looking straight down: the floor is at depth 2 everywhere.
    const pose = lookAtPose(0, { fxPx: 8, fyPx: 8, cxPx: W / 2, cyPx: H / 2, widthPx: W, heightPx: H }, new THREE.Vector3(0, 2, 0), new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1));
    const plane = { pointWorld: new THREE.Vector3(), upWorld: new THREE.Vector3(0, 1, 0) };
    const shadowed = layers({ shadow: 255 });
    const table = { frameIndex: 0, widthPx: W, heightPx: H, depth: new Float32Array(W * H).fill(1) };
    const floor = { frameIndex: 0, widthPx: W, heightPx: H, depth: new Float32Array(W * H).fill(2) };
    expect(compositeFrame({ frame: frame(200), layers: shadowed, pose, plane, sceneDepth: table }, { shadowOpacity: 1 }).rgb[0]).toBe(200);
    // The floor itself (scene depth equal to the plane's) keeps the full shadow.
    expect(compositeFrame({ frame: frame(200), layers: shadowed, pose, plane, sceneDepth: floor }, { shadowOpacity: 1 }).rgb[0]).toBe(0);
  });

  it('refuses a frame whose size does not match its camera', () => {
    expect(() => compositeFrame({ frame: { widthPx: 4, heightPx: 4, data: new Uint8Array(48) }, layers: layers({}) })).toThrow(/frame 0 is 4x4 but its camera is 8x6/);
  });
});

describe('buildInpaintMask', () => {
  it('covers product and visible shadow, dilated, with its bounding box', () => {
    const region = { xPx: 10, yPx: 20, widthPx: 5, heightPx: 5 };
    const alpha = new Uint8Array(25);
    const shadow = new Uint8Array(25);
    alpha[2 * 5 + 2] = 255; // one product pixel at (12, 22)
    shadow[4 * 5 + 4] = 200; // one shadow pixel at (14, 24)
    shadow[0] = 5; // too faint to count
    const { mask, box } = buildInpaintMask(40, 40, region, alpha, shadow, { dilatePx: 3 });
    expect(box).toEqual({ xPx: 9, yPx: 19, widthPx: 9, heightPx: 9 });
    let set = 0;
    for (const v of mask) set += v === 255 ? 1 : 0;
    // Two 7x7 squares overlapping in a 5x5 block.
    expect(set).toBe(49 + 49 - 25);
    expect(mask[22 * 40 + 9]).toBe(255);
    expect(mask[22 * 40 + 8]).toBe(0);
    expect(mask[20 * 40 + 10]).toBe(255); // not from the faint shadow pixel: inside the product square
  });

  it('is empty with a zero box when nothing was composited', () => {
    const { mask, box } = buildInpaintMask(16, 16, { xPx: 0, yPx: 0, widthPx: 4, heightPx: 4 }, new Uint8Array(16), new Uint8Array(16), { dilatePx: 4 });
    expect(box.widthPx).toBe(0);
    expect(mask.every((v) => v === 0)).toBe(true);
  });

  it('clips dilation at the frame border', () => {
    const alpha = new Uint8Array(4).fill(255);
    const { box } = buildInpaintMask(10, 10, { xPx: 0, yPx: 0, widthPx: 2, heightPx: 2 }, alpha, new Uint8Array(4), { dilatePx: 5 });
    expect(box).toEqual({ xPx: 0, yPx: 0, widthPx: 7, heightPx: 7 });
  });
});
