import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { EXTMeshoptCompression, EXTTextureWebP, KHRDracoMeshCompression, KHRMeshQuantization, KHRTextureBasisu } from '@gltf-transform/extensions';
import { quantize, reorder } from '@gltf-transform/functions';
import { sharedDataFile } from '@vanelia/runtime/test-data';
import { MeshoptEncoder } from 'meshoptimizer';
import * as THREE from 'three/webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectPoint, type CameraPose } from '../src/camera-model';
import { LayerRenderer, type RenderedLayers } from '../src/layer-renderer';
import { placeProduct } from '../src/placement';
import { loadProductModel, type ProductModel } from '../src/product-model';
import { ProductStage } from '../src/product-stage';
import { SRGB8_TO_LINEAR } from '../src/colour';
import { fixtureIo, ktx2Rgba, ktx2UastcSolid, shapeDocument, tempDir, testCamera, textureFromPixels } from './fixtures';

// Every shared product file, and every compression/texture format generated here, loads and renders a
// non-empty product standing where the no-anchor rule puts it (bounding-box bottom centre at the origin).

const W = 320;
const H = 180;
let renderer: LayerRenderer;
const dir = tempDir();
beforeAll(async () => {
  renderer = await LayerRenderer.create({ backend: (process.env.VANELIA_GPU_BACKEND as 'auto') ?? 'auto' });
});
afterAll(() => {
  renderer?.dispose();
  dir.remove();
});

interface Rendered {
  layers: RenderedLayers;
  worldBox: THREE.Box3;
  pose: CameraPose;
}

/** Places with no anchor, frames the product with a camera, renders. */
async function renderPlaced(model: ProductModel, heightM = 0): Promise<Rendered> {
  const placement = placeProduct(model.bounds, undefined, { productHeightM: heightM });
  const stage = new ProductStage(model, placement);
  const worldBox = model.bounds.clone().applyMatrix4(placement.productToWorld);
  const size = worldBox.getSize(new THREE.Vector3()).length();
  const centre = worldBox.getCenter(new THREE.Vector3());
  const pose = testCamera(W, H, [centre.x + size * 0.5, centre.y + size * 0.6, centre.z + size * 1.3], centre.toArray());
  const layers = await renderer.render(stage, pose);
  stage.dispose();
  return { layers, worldBox, pose };
}

function coverage(layers: RenderedLayers): number {
  let sum = 0;
  for (const v of layers.productMask) sum += v / 255;
  return sum / (layers.frameWidthPx * layers.frameHeightPx);
}

/** The rendered mask lies inside the projected world box and fills a good part of it. */
function expectPlacedWhereProjected({ layers, worldBox, pose }: Rendered): void {
  let [u0, v0, u1, v1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < 8; i++) {
    const corner = new THREE.Vector3(i & 1 ? worldBox.max.x : worldBox.min.x, i & 2 ? worldBox.max.y : worldBox.min.y, i & 4 ? worldBox.max.z : worldBox.min.z);
    const { uPx, vPx } = projectPoint(pose, corner);
    [u0, v0, u1, v1] = [Math.min(u0, uPx), Math.min(v0, vPx), Math.max(u1, uPx), Math.max(v1, vPx)];
  }
  let [m0, n0, m1, n1] = [Infinity, Infinity, -Infinity, -Infinity];
  const { region } = layers;
  for (let ly = 0; ly < region.heightPx; ly++) {
    for (let lx = 0; lx < region.widthPx; lx++) {
      if (layers.productMask[ly * region.widthPx + lx] < 128) continue;
      const x = region.xPx + lx + 0.5;
      const y = region.yPx + ly + 0.5;
      [m0, n0, m1, n1] = [Math.min(m0, x), Math.min(n0, y), Math.max(m1, x), Math.max(n1, y)];
    }
  }
  expect(m0).toBeGreaterThanOrEqual(u0 - 1.5);
  expect(n0).toBeGreaterThanOrEqual(v0 - 1.5);
  expect(m1).toBeLessThanOrEqual(u1 + 1.5);
  expect(n1).toBeLessThanOrEqual(v1 + 1.5);
  expect((m1 - m0) / (u1 - u0)).toBeGreaterThan(0.5);
  expect((n1 - n0) / (v1 - v0)).toBeGreaterThan(0.5);
}

/** Mean linear colour of the product's fully covered pixels. */
function meanProductColour(layers: RenderedLayers): [number, number, number] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let q = 0; q < layers.productMask.length; q++) {
    if (layers.productMask[q] !== 255) continue;
    for (let c = 0; c < 3; c++) sum[c] += SRGB8_TO_LINEAR[layers.colorPremultiplied[q * 4 + c]];
    n++;
  }
  return sum.map((s) => s / Math.max(n, 1)) as [number, number, number];
}

describe('shared product files', () => {
  const files: [string, string[], number][] = [
    ['DamagedHelmet', ['glb-damaged-helmet', 'DamagedHelmet.glb'], 0],
    ['chess board (Draco, clearcoat)', ['glb-chess-board-draco', 'chess-board.glb'], 0.06],
    ['Duck', ['glb-duck', 'Duck.glb'], 0],
    ['pirate (meshopt, quantised)', ['glb-pirate-meshopt', 'pirate.glb'], 0],
    ['texture-transform test (.gltf + .bin + png)', ['gltf-texture-transform-test', 'TextureTransformTest.gltf'], 0],
  ];
  for (const [name, parts, heightM] of files) {
    it(`${name} loads, renders non-empty and stands on the origin`, async () => {
      const model = await loadProductModel(sharedDataFile(...parts));
      expect(model.warnings).toEqual([]);
      const fileHeight = model.bounds.getSize(new THREE.Vector3()).y;
      const rendered = await renderPlaced(model, heightM);
      // Real size: the file's own units (glTF metres) unless a height is asked for.
      expect(rendered.worldBox.getSize(new THREE.Vector3()).y).toBeCloseTo(heightM > 0 ? heightM : fileHeight, 6);
      expect(rendered.worldBox.min.y).toBeCloseTo(0, 6);
      expect((rendered.worldBox.min.x + rendered.worldBox.max.x) / 2).toBeCloseTo(0, 6);
      expect((rendered.worldBox.min.z + rendered.worldBox.max.z) / 2).toBeCloseTo(0, 6);
      expect(coverage(rendered.layers)).toBeGreaterThan(0.03);
      expectPlacedWhereProjected(rendered);
      const depths = rendered.layers.depth.filter((d) => d > 0);
      const eye = new THREE.Vector3(...Array.from(rendered.pose.cameraToWorldOpenCv).filter((_, i) => i % 4 === 3).slice(0, 3));
      const sphere = rendered.worldBox.getBoundingSphere(new THREE.Sphere());
      const centreDistance = sphere.center.distanceTo(eye);
      expect(Math.min(...depths)).toBeGreaterThan(centreDistance - sphere.radius - 1e-3);
      expect(Math.max(...depths)).toBeLessThan(centreDistance + sphere.radius + 1e-3);
    });
  }
});

describe('compression and texture formats generated here', () => {
  /** A box with a texture of one colour on the left half and another on the right. */
  async function texturedBox(format: 'png' | 'webp' | 'ktx2' | 'ktx2-zlib' | 'ktx2-uastc') {
    const { document, material } = shapeDocument('box', { scale: 0.3 });
    const size = 32;
    const rgba = new Uint8Array(size * size * 4);
    for (let i = 0; i < size * size; i++) rgba.set([220, 30, 20, 255], i * 4);
    let texture;
    if (format === 'png' || format === 'webp') {
      texture = await textureFromPixels(document, rgba, size, size, format);
      if (format === 'webp') document.createExtension(EXTTextureWebP).setRequired(true);
    } else {
      document.createExtension(KHRTextureBasisu).setRequired(true);
      const image =
        format === 'ktx2-uastc'
          ? ktx2UastcSolid(Array.from({ length: 64 }, () => [220, 30, 20, 255] as [number, number, number, number]), 8, 8)
          : ktx2Rgba(rgba, size, size, format === 'ktx2' ? 0 : 3, (d) => new Uint8Array(deflateSync(d)));
      texture = document.createTexture().setMimeType('image/ktx2').setImage(image);
    }
    material.setBaseColorTexture(texture).setBaseColorFactor([1, 1, 1, 1]);
    return document;
  }

  async function loadWritten(document: Awaited<ReturnType<typeof texturedBox>>, name: string): Promise<ProductModel> {
    const path = join(dir.path, name);
    writeFileSync(path, await (await fixtureIo()).writeBinary(document));
    return loadProductModel(path);
  }

  for (const format of ['webp', 'ktx2', 'ktx2-zlib', 'ktx2-uastc'] as const) {
    it(`${format} textures decode and colour the product`, async () => {
      const model = await loadWritten(await texturedBox(format), `box-${format}.glb`);
      const rendered = await renderPlaced(model);
      expect(coverage(rendered.layers)).toBeGreaterThan(0.03);
      const [r, g, b] = meanProductColour(rendered.layers);
      expect(r).toBeGreaterThan(4 * g);
      expect(r).toBeGreaterThan(4 * b);
    });
  }

  it('Draco geometry decodes to the same shape as the plain file', async () => {
    const plain = shapeDocument('sphere', { scale: 0.4 });
    const compressed = shapeDocument('sphere', { scale: 0.4 });
    compressed.document.createExtension(KHRDracoMeshCompression).setRequired(true);
    const a = await renderPlaced(await loadWritten(plain.document, 'sphere-plain.glb'));
    const b = await renderPlaced(await loadWritten(compressed.document, 'sphere-draco.glb'));
    expect(Math.abs(coverage(a.layers) - coverage(b.layers))).toBeLessThan(0.002);
    expect(coverage(b.layers)).toBeGreaterThan(0.03);
  });

  it('meshopt compression with KHR_mesh_quantization decodes to the same shape as the plain file', async () => {
    const plain = shapeDocument('sphere', { scale: 0.4 });
    const packed = shapeDocument('sphere', { scale: 0.4 });
    await MeshoptEncoder.ready;
    await packed.document.transform(reorder({ encoder: MeshoptEncoder }), quantize());
    packed.document.createExtension(KHRMeshQuantization).setRequired(true);
    packed.document.createExtension(EXTMeshoptCompression).setRequired(true).setEncoderOptions({ method: EXTMeshoptCompression.EncoderMethod.QUANTIZE });
    const model = await loadWritten(packed.document, 'sphere-meshopt.glb');
    const a = await renderPlaced(await loadWritten(plain.document, 'sphere-plain-2.glb'));
    const b = await renderPlaced(model);
    expect(Math.abs(coverage(a.layers) - coverage(b.layers))).toBeLessThan(0.003);
  });
});
