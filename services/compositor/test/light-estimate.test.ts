import * as THREE from 'three/webgpu';
import { describe, expect, it } from 'vitest';
import { lookAtPose } from '../src/camera-model';
import { equirectDirection, estimateLighting } from '../src/light-estimate';

const W = 160;
const H = 90;
const intrinsics = { fxPx: 80, fyPx: 80, cxPx: W / 2, cyPx: H / 2, widthPx: W, heightPx: H };

function frame(paint: (x: number, y: number) => number): { widthPx: number; heightPx: number; data: Uint8Array } {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.fill(paint(x, y), (y * W + x) * 3, (y * W + x) * 3 + 3);
  return { widthPx: W, heightPx: H, data };
}

describe('estimateLighting', () => {
  it('maps texels to directions the way three.js reads equirectangular maps', () => {
    expect(equirectDirection(0, 0, 64, 32).y).toBeGreaterThan(0.99); // row 0 is straight up
    expect(equirectDirection(16, 31, 64, 32).y).toBeLessThan(-0.99);
    const front = equirectDirection(47.5, 15.5, 64, 32); // u = 0.75: atan2(z, x) = +90 degrees
    expect(front.z).toBeCloseTo(1, 6);
  });

  it('finds a bright light where the footage shows it', async () => {
    // Camera looks along +z, slightly up; a bright patch at the top right of the frame.
    const pose = lookAtPose(0, intrinsics, new THREE.Vector3(0, 1, 0), new THREE.Vector3(0, 1.4, 4));
    const image = frame((x, y) => (x > W * 0.7 && y < H * 0.3 ? 255 : 90));
    const estimate = await estimateLighting([{ image, pose }], new THREE.Vector3(0, 1, 0));
    const d = estimate.keyDirectionWorld;
    expect(d.y).toBeGreaterThan(0.3); // above the horizon
    expect(d.z).toBeGreaterThan(0.3); // in front of the camera
    expect(d.x).toBeLessThan(-0.1); // image right is world -x for a camera looking along +z with +y up
    expect(estimate.keyStrength).toBeGreaterThan(0.3);
    expect(estimate.envRgba.length).toBe(estimate.envWidthPx * estimate.envHeightPx * 4);
  });

  it('reports a weak key light for evenly lit footage, with its mean as ambient', async () => {
    const pose = lookAtPose(0, intrinsics, new THREE.Vector3(0, 1, 0), new THREE.Vector3(0, 0.5, 4));
    const estimate = await estimateLighting([{ image: frame(() => 128), pose }], new THREE.Vector3(0, 1, 0));
    expect(estimate.keyStrength).toBeLessThan(0.1);
    expect(estimate.ambient[0]).toBeCloseTo(0.2158, 2); // sRGB 128 in linear light
    expect(estimate.keyDirectionWorld.y).toBeGreaterThan(Math.sin((25 * Math.PI) / 180) - 1e-9);
  });
});
