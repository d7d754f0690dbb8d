import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as THREE from 'three/webgpu';
import { projectPoint, worldToCamera, type CameraPose } from '../src/camera-model';
import { LayerRenderer, type RenderedLayers } from '../src/layer-renderer';
import { placeProduct } from '../src/placement';
import { modelFromObject } from '../src/product-model';
import { ProductStage } from '../src/product-stage';
import { parseTransformsJson } from '../src/transforms-json';
import { testCamera } from './fixtures';

// A known point set and a cube, rendered at 1080p with known intrinsics and pose, must land where the
// pinhole model puts them; the same camera read from a transforms.json must render the same image.

const W = 1920;
const H = 1080;
let renderer: LayerRenderer;

beforeAll(async () => {
  renderer = await LayerRenderer.create({ backend: (process.env.VANELIA_GPU_BACKEND as 'auto') ?? 'auto' });
});
afterAll(() => renderer?.dispose());

/** Off-centre principal point and unequal focal lengths, so any convention slip shows. */
function camera(): CameraPose {
  const base = testCamera(W, H, [0.6, 0.9, 3.2], [0.05, 0.35, 0]);
  return { ...base, intrinsics: { fxPx: 1630.5, fyPx: 1622.25, cxPx: 981.3, cyPx: 527.8, widthPx: W, heightPx: H } };
}

function stageOf(objects: THREE.Object3D[]): ProductStage {
  const group = new THREE.Group();
  for (const object of objects) group.add(object);
  const model = modelFromObject(group);
  return new ProductStage(model, placeProduct(model.bounds, undefined));
}

/** Coverage-weighted centroid of the product mask inside a window (frame pixel coordinates, centres at +0.5). */
function maskCentroid(layers: RenderedLayers, u: number, v: number, halfPx: number): { u: number; v: number; weight: number } {
  const { region } = layers;
  let su = 0;
  let sv = 0;
  let sw = 0;
  for (let y = Math.floor(v - halfPx); y <= Math.ceil(v + halfPx); y++) {
    for (let x = Math.floor(u - halfPx); x <= Math.ceil(u + halfPx); x++) {
      const lx = x - region.xPx;
      const ly = y - region.yPx;
      if (lx < 0 || ly < 0 || lx >= region.widthPx || ly >= region.heightPx) continue;
      const w = layers.productMask[ly * region.widthPx + lx] / 255;
      su += w * (x + 0.5);
      sv += w * (y + 0.5);
      sw += w;
    }
  }
  return { u: su / sw, v: sv / sw, weight: sw };
}

describe('projection at 1080p', () => {
  it('a point set lands within 0.5 px of the analytic projection, with matching depth', async () => {
    const local: THREE.Vector3[] = [];
    for (const x of [-0.9, 0, 0.9]) for (const y of [0, 0.45, 0.9]) for (const z of [-0.6, 0, 0.6]) local.push(new THREE.Vector3(x, y, z));
    const material = new THREE.MeshBasicNodeMaterial({ color: 0xffffff });
    const spheres = local.map((p) => {
      const mesh = new THREE.Mesh(new THREE.SphereGeometry(0.012, 24, 12), material);
      mesh.position.copy(p);
      return mesh;
    });
    const stage = stageOf(spheres);
    const pose = camera();
    const layers = await renderer.render(stage, pose);
    let worst = 0;
    for (const p of local) {
      const world = p.clone().applyMatrix4(stage.placement.productToWorld);
      const expected = projectPoint(pose, world);
      const found = maskCentroid(layers, expected.uPx, expected.vPx, 14);
      expect(found.weight, `sphere at ${p.toArray()} is drawn`).toBeGreaterThan(20);
      const error = Math.hypot(found.u - expected.uPx, found.v - expected.vPx);
      worst = Math.max(worst, error);
      // Depth at the sphere's centre pixel: the near surface, radius in front of the centre.
      const lx = Math.floor(expected.uPx) - layers.region.xPx;
      const ly = Math.floor(expected.vPx) - layers.region.yPx;
      expect(layers.depth[ly * layers.region.widthPx + lx]).toBeCloseTo(expected.depth - 0.012, 2);
    }
    expect(worst).toBeLessThan(0.5);
    stage.dispose();
  });

  it("a cube's silhouette matches the projected polygon (centroid, area, edges) and only its region is drawn", async () => {
    const cube = new THREE.Mesh(new THREE.BoxGeometry(0.8, 0.8, 0.8), new THREE.MeshBasicNodeMaterial({ color: 0xffffff }));
    cube.rotation.set(0.3, 0.7, 0.1);
    const stage = stageOf([cube]);
    const pose = camera();
    const layers = await renderer.render(stage, pose);
    expect(layers.region.widthPx * layers.region.heightPx).toBeLessThan(W * H * 0.6);

    cube.updateMatrixWorld(true);
    const corners: THREE.Vector2[] = [];
    for (let i = 0; i < 8; i++) {
      const local = new THREE.Vector3(i & 1 ? 0.4 : -0.4, i & 2 ? 0.4 : -0.4, i & 4 ? 0.4 : -0.4).applyMatrix4(cube.matrixWorld);
      // cube.matrixWorld includes the placement (the stage holds the model): it is already in world space.
      const { uPx, vPx } = projectPoint(pose, local);
      corners.push(new THREE.Vector2(uPx, vPx));
    }
    const hull = convexHull(corners);
    const inside = (x: number, y: number) => hull.every((a, i) => {
      const b = hull[(i + 1) % hull.length];
      return (b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x) >= 0;
    });
    let [area, cu, cv, renderedArea, ru, rv, edgeError, edgePixels, maxError] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const { region } = layers;
    for (let ly = 0; ly < region.heightPx; ly++) {
      for (let lx = 0; lx < region.widthPx; lx++) {
        const x = region.xPx + lx;
        const y = region.yPx + ly;
        let covered = 0;
        for (let s = 0; s < 64; s++) covered += inside(x + ((s & 7) + 0.5) / 8, y + ((s >> 3) + 0.5) / 8) ? 1 : 0;
        const analytic = covered / 64;
        const rendered = layers.productMask[ly * region.widthPx + lx] / 255;
        area += analytic;
        cu += analytic * (x + 0.5);
        cv += analytic * (y + 0.5);
        renderedArea += rendered;
        ru += rendered * (x + 0.5);
        rv += rendered * (y + 0.5);
        if (analytic > 0 && analytic < 1) {
          edgePixels++;
          edgeError += Math.abs(rendered - analytic);
          maxError = Math.max(maxError, Math.abs(rendered - analytic));
        }
      }
    }
    expect(area).toBeGreaterThan(20_000);
    expect(Math.abs(renderedArea - area) / area).toBeLessThan(0.003);
    expect(Math.hypot(ru / renderedArea - cu / area, rv / renderedArea - cv / area)).toBeLessThan(0.1);
    // A silhouette shifted by half a pixel would miss the analytic coverage by 0.5 along every edge.
    expect(edgeError / edgePixels).toBeLessThan(0.12);
    expect(maxError).toBeLessThan(0.5);
    stage.dispose();
  });

  it('the same camera through a transforms.json track renders the same image', async () => {
    const cube = new THREE.Mesh(new THREE.BoxGeometry(0.5, 0.9, 0.4), new THREE.MeshBasicNodeMaterial({ color: 0xffffff }));
    cube.rotation.y = 0.4;
    const stage = stageOf([cube]);
    const pose = camera();
    const m = pose.cameraToWorldOpenCv;
    // OpenCV -> OpenGL camera axes: negate the y and z columns.
    const gl = [0, 1, 2, 3].map((r) => [m[r * 4], -m[r * 4 + 1], -m[r * 4 + 2], m[r * 4 + 3]]);
    const k = pose.intrinsics;
    const track = parseTransformsJson(
      JSON.stringify({ fl_x: k.fxPx, fl_y: k.fyPx, cx: k.cxPx, cy: k.cyPx, w: k.widthPx, h: k.heightPx, frames: [{ file_path: 'images/frame_00000.png', transform_matrix: gl }] }),
    );
    const fromTrack = track.frames[0].pose;
    expect(Array.from(fromTrack.cameraToWorldOpenCv)).toEqual(Array.from(m).map((v) => v + 0));
    expect(fromTrack.intrinsics).toEqual(k);
    const direct = await renderer.render(stage, pose);
    const viaTrack = await renderer.render(stage, fromTrack);
    expect(viaTrack.region).toEqual(direct.region);
    expect(Buffer.compare(Buffer.from(viaTrack.productMask), Buffer.from(direct.productMask))).toBe(0);
    // And the centre of the box lands where the track's camera says.
    const centre = projectPoint(fromTrack, new THREE.Vector3().setFromMatrixPosition(cube.matrixWorld));
    expect(worldToCamera(fromTrack, new THREE.Vector3().setFromMatrixPosition(cube.matrixWorld)).z).toBeGreaterThan(0);
    const found = maskCentroid(viaTrack, centre.uPx, centre.vPx, 400);
    expect(Math.hypot(found.u - centre.uPx, found.v - centre.vPx)).toBeLessThan(15); // a box's centroid is near its centre's image
    stage.dispose();
  });
});

function convexHull(points: THREE.Vector2[]): THREE.Vector2[] {
  const sorted = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  const cross = (o: THREE.Vector2, a: THREE.Vector2, b: THREE.Vector2) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: THREE.Vector2[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: THREE.Vector2[] = [];
  for (const p of [...sorted].reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}
