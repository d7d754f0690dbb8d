import * as THREE from 'three/webgpu';
import { describe, expect, it } from 'vitest';
import { lookAtPose } from '../src/camera-model';
import { placeProduct } from '../src/placement';

const bounds = new THREE.Box3(new THREE.Vector3(-1, 2, -0.5), new THREE.Vector3(3, 6, 0.5)); // 4 x 4 x 1, bottom at y = 2

function placedBox(matrix: THREE.Matrix4): THREE.Box3 {
  return bounds.clone().applyMatrix4(matrix);
}

describe('placeProduct', () => {
  it('with no anchor: bottom centre at the origin, +Y up, file size kept', () => {
    const { productToWorld, upWorld, warnings } = placeProduct(bounds, undefined);
    const box = placedBox(productToWorld);
    expect(box.min.y).toBeCloseTo(0, 12);
    expect((box.min.x + box.max.x) / 2).toBeCloseTo(0, 12);
    expect((box.min.z + box.max.z) / 2).toBeCloseTo(0, 12);
    expect(box.getSize(new THREE.Vector3()).toArray()).toEqual([4, 4, 1]);
    expect(upWorld.toArray()).toEqual([0, 1, 0]);
    expect(warnings).toEqual([]);
    // Product +Y and +Z keep their world directions at yaw 0.
    const e = productToWorld.elements;
    expect([e[4], e[5], e[6]]).toEqual([0, 1, 0]);
    expect([e[8], e[9], e[10]]).toEqual([0, 0, 1]);
  });

  it('scales to a requested real height and turns by the yaw about +Y', () => {
    const { productToWorld } = placeProduct(bounds, undefined, { productHeightM: 0.5, productYawDeg: 90 });
    const box = placedBox(productToWorld);
    expect(box.getSize(new THREE.Vector3()).y).toBeCloseTo(0.5, 12);
    // Width (x, 4 units -> 0.5 m) now runs along world z.
    expect(box.getSize(new THREE.Vector3()).z).toBeCloseTo(0.5, 12);
    expect(box.getSize(new THREE.Vector3()).x).toBeCloseTo(0.125, 12);
  });

  it('with an anchor: stands on its point, along its normal, in world units from metres, facing the camera', () => {
    const up = new THREE.Vector3(0, 0, 1); // a z-up world
    const anchor = { pointWorld: new THREE.Vector3(5, 5, -2), upWorld: up.clone().multiplyScalar(3), metresPerUnit: 0.5 };
    const camera = lookAtPose(0, { fxPx: 100, fyPx: 100, cxPx: 50, cyPx: 50, widthPx: 100, heightPx: 100 }, new THREE.Vector3(5, -5, 3), new THREE.Vector3(5, 5, -2), up);
    const placement = placeProduct(bounds, anchor, { productHeightM: 1 }, camera);
    const bottomCentre = new THREE.Vector3(1, 2, 0).applyMatrix4(placement.productToWorld);
    expect(bottomCentre.distanceTo(anchor.pointWorld)).toBeLessThan(1e-12);
    const topCentre = new THREE.Vector3(1, 6, 0).applyMatrix4(placement.productToWorld);
    // 1 m tall = 2 world units, straight up the (normalised) anchor normal.
    expect(topCentre.clone().sub(bottomCentre).toArray().map((v) => +v.toFixed(9))).toEqual([0, 0, 2]);
    // Front (+Z of the product) points towards the camera, projected on the plane: world -y here.
    const front = new THREE.Vector3(1, 2, 1).applyMatrix4(placement.productToWorld).sub(bottomCentre).normalize();
    expect(front.y).toBeCloseTo(-1, 9);
    expect(placement.upWorld.toArray()).toEqual([0, 0, 1]);
    expect(placement.warnings).toEqual([]);
  });

  it('warns when the anchor has no metric scale, and refuses unusable anchors', () => {
    const { warnings } = placeProduct(bounds, { pointWorld: new THREE.Vector3(), upWorld: new THREE.Vector3(0, 1, 0), metresPerUnit: 0 });
    expect(warnings[0]).toMatch(/no metric scale/);
    expect(() => placeProduct(bounds, { pointWorld: new THREE.Vector3(), upWorld: new THREE.Vector3(), metresPerUnit: 1 })).toThrow(/no usable point or up/);
    expect(() => placeProduct(bounds, undefined, { productHeightM: -1 })).toThrow(/not a size/);
  });
});
