import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, type Material } from '@gltf-transform/core';
import {
  KHRMaterialsAnisotropy,
  KHRMaterialsClearcoat,
  KHRMaterialsEmissiveStrength,
  KHRMaterialsIOR,
  KHRMaterialsIridescence,
  KHRMaterialsSheen,
  KHRMaterialsSpecular,
  KHRMaterialsTransmission,
  KHRMaterialsUnlit,
  KHRTextureTransform,
} from '@gltf-transform/extensions';
import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookAtPose } from '../src/camera-model';
import { straightRgba } from '../src/layer-images';
import { LayerRenderer } from '../src/layer-renderer';
import { placeProduct } from '../src/placement';
import { loadProductModel } from '../src/product-model';
import { ProductStage } from '../src/product-stage';
import { checker, fixtureIo, imageDifference, shapeArrays, shapeMesh, tempDir, textureFromPixels } from './fixtures';

// One sphere per material feature, all in one product (one stage: one environment, one set of shadow maps),
// each rendered by its own camera and compared with a golden image made by this renderer and checked by eye.
// Regenerate with UPDATE_GOLDENS=1 after a deliberate change, and look at the images before committing.

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden', 'materials');
const SIZE = 96;
const SPACING = 4;
const UPDATE = process.env.UPDATE_GOLDENS === '1';

type Setup = (document: Document, material: Material) => Promise<void> | void;

const FEATURES: [string, Setup][] = [
  ['baseline', () => {}],
  ['base-color-texture', async (d, m) => void m.setBaseColorTexture(await textureFromPixels(d, checker(64, 8, [200, 30, 30], [240, 240, 240]), 64, 64))],
  ['metallic-roughness', (_, m) => void m.setBaseColorFactor([1, 0.77, 0.34, 1]).setMetallicFactor(1).setRoughnessFactor(0.25)],
  ['normal-map', async (d, m) => void m.setNormalTexture(await textureFromPixels(d, bumps(64), 64, 64)).setNormalScale(1)],
  ['occlusion', async (d, m) => void m.setOcclusionTexture(await textureFromPixels(d, checker(64, 4, [40, 40, 40], [255, 255, 255]), 64, 64)).setOcclusionStrength(1)],
  ['emissive-strength', (d, m) => {
    m.setBaseColorFactor([0.05, 0.05, 0.05, 1]).setEmissiveFactor([1, 0.25, 0.1]);
    m.setExtension('KHR_materials_emissive_strength', d.createExtension(KHRMaterialsEmissiveStrength).createEmissiveStrength().setEmissiveStrength(3));
  }],
  ['clearcoat', (d, m) => {
    m.setBaseColorFactor([0.6, 0.05, 0.05, 1]).setRoughnessFactor(0.9);
    m.setExtension('KHR_materials_clearcoat', d.createExtension(KHRMaterialsClearcoat).createClearcoat().setClearcoatFactor(1).setClearcoatRoughnessFactor(0.05));
  }],
  ['transmission', (d, m) => {
    m.setBaseColorFactor([0.9, 1, 0.9, 1]).setRoughnessFactor(0.05);
    m.setExtension('KHR_materials_transmission', d.createExtension(KHRMaterialsTransmission).createTransmission().setTransmissionFactor(1));
    m.setExtension('KHR_materials_ior', d.createExtension(KHRMaterialsIOR).createIOR().setIOR(1.5));
  }],
  ['sheen', (d, m) => {
    m.setBaseColorFactor([0.05, 0.05, 0.3, 1]).setRoughnessFactor(1);
    m.setExtension('KHR_materials_sheen', d.createExtension(KHRMaterialsSheen).createSheen().setSheenColorFactor([1, 0.3, 0.9]).setSheenRoughnessFactor(0.4));
  }],
  ['iridescence', (d, m) => {
    m.setMetallicFactor(1).setRoughnessFactor(0.25);
    m.setExtension('KHR_materials_iridescence', d.createExtension(KHRMaterialsIridescence).createIridescence().setIridescenceFactor(1).setIridescenceIOR(1.3).setIridescenceThicknessMinimum(200).setIridescenceThicknessMaximum(600));
  }],
  ['specular', (d, m) => {
    // A strong, red-tinted specular layer (IOR 2 raises F0 so the tint shows).
    m.setBaseColorFactor([0.3, 0.3, 0.3, 1]).setRoughnessFactor(0.2);
    m.setExtension('KHR_materials_specular', d.createExtension(KHRMaterialsSpecular).createSpecular().setSpecularFactor(1).setSpecularColorFactor([1, 0.1, 0.1]));
    m.setExtension('KHR_materials_ior', d.createExtension(KHRMaterialsIOR).createIOR().setIOR(2));
  }],
  ['anisotropy', (d, m) => {
    m.setMetallicFactor(1).setRoughnessFactor(0.4);
    m.setExtension('KHR_materials_anisotropy', d.createExtension(KHRMaterialsAnisotropy).createAnisotropy().setAnisotropyStrength(0.9).setAnisotropyRotation(0.5));
  }],
  ['alpha-blend', (_, m) => void m.setBaseColorFactor([0.2, 0.5, 1, 0.35]).setAlphaMode('BLEND')],
  ['alpha-mask', async (d, m) => {
    const rgba = checker(64, 8, [30, 160, 60], [30, 160, 60]);
    for (let i = 0; i < 64 * 64; i++) rgba[i * 4 + 3] = ((i % 64 >> 3) + ((i >> 6) >> 3)) % 2 ? 255 : 0;
    m.setBaseColorTexture(await textureFromPixels(d, rgba, 64, 64)).setAlphaMode('MASK').setAlphaCutoff(0.5).setDoubleSided(true);
  }],
  ['texture-transform', async (d, m) => {
    m.setBaseColorTexture(await textureFromPixels(d, checker(64, 8, [30, 30, 200], [240, 240, 240]), 64, 64));
    const transform = d.createExtension(KHRTextureTransform).createTransform().setScale([3, 1.5]).setRotation(0.5).setOffset([0.1, 0.2]);
    m.getBaseColorTextureInfo()!.setExtension('KHR_texture_transform', transform);
  }],
  ['unlit', (d, m) => {
    m.setBaseColorFactor([0.1, 0.8, 0.2, 1]);
    m.setExtension('KHR_materials_unlit', d.createExtension(KHRMaterialsUnlit).createUnlit());
  }],
  ['vertex-colors', () => {}],
];

/** A normal map of round bumps (tangent space, +Z out). */
function bumps(size: number): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const nx = Math.sin((x / size) * Math.PI * 8) * 0.6;
      const ny = Math.sin((y / size) * Math.PI * 8) * 0.6;
      const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
      out.set([(nx * 0.5 + 0.5) * 255, (ny * 0.5 + 0.5) * 255, (nz * 0.5 + 0.5) * 255, 255], (y * size + x) * 4);
    }
  }
  return out;
}

async function featureDocument(): Promise<Document> {
  const document = new Document();
  const scene = document.createScene();
  const arrays = shapeArrays('sphere', 48);
  const colours = new Float32Array((arrays.position.length / 3) * 4);
  for (let i = 0; i < arrays.position.length / 3; i++) colours.set([arrays.normal[i * 3] * 0.5 + 0.5, arrays.normal[i * 3 + 1] * 0.5 + 0.5, 0.2, 1], i * 4);
  for (const [index, [name, setup]] of FEATURES.entries()) {
    const material = document.createMaterial(name).setBaseColorFactor([0.8, 0.8, 0.8, 1]).setRoughnessFactor(0.5).setMetallicFactor(0);
    await setup(document, material);
    const mesh = shapeMesh(document, arrays, material, name === 'vertex-colors' ? { COLOR_0: [colours, 'VEC4'] } : {});
    scene.addChild(document.createNode(name).setMesh(mesh).setTranslation([index * SPACING, 0, 0]));
  }
  return document;
}

/** Tile pixels flattened over mid grey (what a person sees), RGB8. */
const tiles = new Map<string, Uint8Array>();
const dir = tempDir();
let renderer: LayerRenderer;

beforeAll(async () => {
  renderer = await LayerRenderer.create({ backend: (process.env.VANELIA_GPU_BACKEND as 'auto') ?? 'auto' });
  const path = join(dir.path, 'features.glb');
  writeFileSync(path, await (await fixtureIo()).writeBinary(await featureDocument()));
  const model = await loadProductModel(path);
  expect(model.warnings).toEqual([]);
  const placement = placeProduct(model.bounds, undefined);
  const stage = new ProductStage(model, placement);
  for (const [index, [name]] of FEATURES.entries()) {
    const centre = new THREE.Vector3(index * SPACING, 0, 0).applyMatrix4(placement.productToWorld);
    const f = SIZE * 0.9;
    const pose = lookAtPose(index, { fxPx: f, fyPx: f, cxPx: SIZE / 2, cyPx: SIZE / 2, widthPx: SIZE, heightPx: SIZE }, centre.clone().add(new THREE.Vector3(0.4, 1.6, 3.2)), centre);
    const layers = await renderer.render(stage, pose);
    const { data } = await sharp(straightRgba(layers), { raw: { width: SIZE, height: SIZE, channels: 4 } })
      .flatten({ background: { r: 128, g: 128, b: 128 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    tiles.set(name, new Uint8Array(data));
  }
  stage.dispose();
}, 300_000);

afterAll(() => {
  renderer?.dispose();
  dir.remove();
});

describe('material features against golden images', () => {
  for (const [name] of FEATURES) {
    it(`${name}`, async () => {
      const tile = tiles.get(name)!;
      const file = join(GOLDEN_DIR, `${name}.png`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        await sharp(tile, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png({ compressionLevel: 9 }).toFile(file);
      }
      expect(existsSync(file), `golden ${file} is missing: run with UPDATE_GOLDENS=1 and check it by eye`).toBe(true);
      const golden = new Uint8Array(await sharp(file).removeAlpha().raw().toBuffer());
      const diff = imageDifference(tile, golden, 24);
      expect(diff.mean).toBeLessThan(1.5);
      expect(diff.outliers).toBeLessThan(0.01);
      if (name !== 'baseline') {
        // The feature must change the picture: an extension silently ignored would look like the baseline.
        expect(imageDifference(tile, tiles.get('baseline')!, 24).mean).toBeGreaterThan(2);
      }
    });
  }
});
