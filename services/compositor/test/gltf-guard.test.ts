import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KHRDracoMeshCompression } from '@gltf-transform/extensions';
import { checkGltf, parseGlb } from '../src/gltf-guard';
import { loadProductModel } from '../src/product-model';
import { fixtureIo, glbBytes, shapeDocument, tempDir, triangleGltf } from './fixtures';

const dir = tempDir();
afterAll(() => dir.remove());

let counter = 0;
function writeGlb(bytes: Uint8Array): string {
  const path = join(dir.path, `case-${counter++}.glb`);
  writeFileSync(path, bytes);
  return path;
}

async function expectRejection(path: string, reason: string, pattern: RegExp, limits = {}): Promise<void> {
  const error = await loadProductModel(path, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `loading ${path} should fail`).toMatchObject({ name: 'VaneliaError', reason });
  expect((error as Error).message).toMatch(/^compositor: /);
  expect((error as Error).message).toMatch(pattern);
}

describe('malformed product files get a clear error', () => {
  it('accepts the well-formed fixture the other cases break', async () => {
    const { json, bin } = triangleGltf();
    const model = await loadProductModel(writeGlb(glbBytes(json, bin)));
    expect(model.bounds.max.x).toBeCloseTo(1);
    model.dispose();
  });

  it('bad magic', async () => {
    const bytes = glbBytes(triangleGltf().json, triangleGltf().bin);
    bytes.set([0x4e, 0x4f, 0x50, 0x45]); // "NOPE"
    await expectRejection(writeGlb(bytes), 'INVALID_GLB', /neither a GLB/);
  });

  it('unsupported GLB version', async () => {
    const bytes = glbBytes(triangleGltf().json, triangleGltf().bin);
    new DataView(bytes.buffer).setUint32(4, 1, true);
    await expectRejection(writeGlb(bytes), 'INVALID_GLB', /version 1/);
  });

  it('truncated file (header promises more bytes)', async () => {
    const { json, bin } = triangleGltf();
    const bytes = glbBytes(json, bin);
    await expectRejection(writeGlb(bytes.subarray(0, bytes.length - 10)), 'INVALID_GLB', /truncated/);
  });

  it('truncated chunk (chunk length past the end)', async () => {
    const { json, bin } = triangleGltf();
    const bytes = glbBytes(json, bin);
    const view = new DataView(bytes.buffer);
    const binHeader = 20 + view.getUint32(12, true);
    view.setUint32(binHeader, 4096, true);
    await expectRejection(writeGlb(bytes), 'INVALID_GLB', /chunk 1 .*truncated/);
  });

  it('BIN chunk shorter than the buffer it must hold', async () => {
    const { json, bin } = triangleGltf();
    json.buffers[0].byteLength = 4096;
    json.bufferViews[0].byteLength = 4096;
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /only 36 are present/);
  });

  it('out-of-range accessor (reads past its bufferView)', async () => {
    const { json, bin } = triangleGltf();
    json.accessors[0].count = 4;
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /accessor 0 .*past the end of bufferView 0/);
  });

  it('accessor index that does not exist', async () => {
    const { json, bin } = triangleGltf();
    json.meshes[0].primitives[0].attributes.NORMAL = 7;
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /NORMAL refers to 7/);
  });

  it('index values past the vertex count', async () => {
    const { json } = triangleGltf();
    const positions = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]);
    const indices = new Uint16Array([0, 1, 99, 0]);
    const bin = new Uint8Array(44);
    bin.set(new Uint8Array(positions.buffer), 0);
    bin.set(new Uint8Array(indices.buffer), 36);
    json.buffers[0].byteLength = 44;
    json.bufferViews.push({ buffer: 0, byteOffset: 36, byteLength: 6 });
    json.accessors.push({ bufferView: 1, componentType: 5123, count: 3, type: 'SCALAR' });
    json.meshes[0].primitives[0].indices = 1;
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /index 99 is past its 3 vertices/);
  });

  it('absurd counts are refused before anything is allocated', async () => {
    const { json, bin } = triangleGltf();
    json.accessors[0].count = 2 ** 31;
    const before = process.memoryUsage().rss;
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /2147483648 elements, more than/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);

    const many = triangleGltf();
    many.json.nodes = Array.from({ length: 1000 }, () => ({}));
    await expectRejection(writeGlb(glbBytes(many.json, many.bin)), 'INVALID_GLB', /1000 nodes, more than the 100 allowed/, { maxObjects: 100 });

    const huge = triangleGltf();
    huge.json.buffers[0].byteLength = 2 ** 40;
    await expectRejection(writeGlb(glbBytes(huge.json, huge.bin)), 'INVALID_GLB', /buffer 0 byteLength .* more than/);
  });

  it('geometry that would decode past the memory bound', async () => {
    const { json, bin } = triangleGltf();
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /more than 16 bytes of geometry/, { maxGeometryBytes: 16 });
  });

  it('missing textures (GLB image without data, .gltf image file absent, texture pointing nowhere)', async () => {
    const noData = triangleGltf();
    Object.assign(noData.json, { images: [{ mimeType: 'image/png' }], textures: [{ source: 0 }] });
    await expectRejection(writeGlb(glbBytes(noData.json, noData.bin)), 'MISSING_RESOURCE', /image 0 has neither a bufferView nor a uri/);

    const external = triangleGltf();
    Object.assign(external.json, { images: [{ uri: 'albedo.png' }], textures: [{ source: 0 }] });
    external.json.buffers[0].uri = 'triangle.bin';
    writeFileSync(join(dir.path, 'triangle.bin'), external.bin);
    writeFileSync(join(dir.path, 'missing-texture.gltf'), JSON.stringify(external.json));
    await expectRejection(join(dir.path, 'missing-texture.gltf'), 'MISSING_RESOURCE', /"albedo.png", which is missing/);

    const dangling = triangleGltf();
    Object.assign(dangling.json, { materials: [{ pbrMetallicRoughness: { baseColorTexture: { index: 3 } } }] });
    dangling.json.meshes[0].primitives[0].material = 0;
    await expectRejection(writeGlb(glbBytes(dangling.json, dangling.bin)), 'INVALID_GLB', /baseColorTexture refers to 3/);
  });

  it('texture bytes that are not an image', async () => {
    const { json, bin } = triangleGltf();
    const garbage = new Uint8Array(64).fill(7);
    const all = new Uint8Array(bin.length + garbage.length);
    all.set(bin);
    all.set(garbage, bin.length);
    json.buffers[0].byteLength = all.length;
    json.bufferViews.push({ buffer: 0, byteOffset: bin.length, byteLength: garbage.length });
    Object.assign(json, { images: [{ bufferView: 1, mimeType: 'image/png' }], textures: [{ source: 0 }], materials: [{ pbrMetallicRoughness: { baseColorTexture: { index: 0 } } }] });
    json.meshes[0].primitives[0].material = 0;
    await expectRejection(writeGlb(glbBytes(json, all)), 'INVALID_TEXTURE', /texture 0 .*not a readable image/);
  });

  it('unknown required extension', async () => {
    const { json, bin } = triangleGltf();
    Object.assign(json, { extensionsUsed: ['EXT_made_up'], extensionsRequired: ['EXT_made_up'] });
    await expectRejection(writeGlb(glbBytes(json, bin)), 'UNSUPPORTED_EXTENSION', /"EXT_made_up"/);
  });

  it('an unknown optional extension is only a warning', () => {
    const { json, bin } = triangleGltf();
    Object.assign(json, { extensionsUsed: ['EXT_made_up'] });
    expect(checkGltf(parseGlb(glbBytes(json, bin)).json, bin.length, () => undefined)).toEqual([
      'compositor: the optional glTF extension EXT_made_up is ignored.',
    ]);
  });

  it('JSON that does not parse, and node cycles', async () => {
    const broken = glbBytes({ asset: { version: '2.0' } });
    broken.set(new TextEncoder().encode('{"asset":,,'), 20);
    await expectRejection(writeGlb(broken), 'INVALID_GLB', /does not parse/);

    const { json, bin } = triangleGltf();
    json.nodes = [{ children: [1] }, { children: [2] }, { children: [0], mesh: 0 }];
    await expectRejection(writeGlb(glbBytes(json, bin)), 'INVALID_GLB', /cycle|more than one parent/);
  });

  it('corrupt Draco data', async () => {
    const { document } = shapeDocument('box');
    document.createExtension(KHRDracoMeshCompression).setRequired(true);
    const bytes = await (await fixtureIo()).writeBinary(document);
    const parts = parseGlb(bytes);
    const view = parts.json.bufferViews[parts.json.meshes[0].primitives[0].extensions.KHR_draco_mesh_compression.bufferView];
    const binStart = bytes.byteLength - parts.bin!.byteLength;
    bytes.fill(0xff, binStart + (view.byteOffset ?? 0), binStart + (view.byteOffset ?? 0) + view.byteLength);
    await expectRejection(writeGlb(bytes), 'INVALID_GLB', /could not be decoded/);
  });

  it('a file with nothing drawable', async () => {
    const { json, bin } = triangleGltf();
    json.meshes[0].primitives[0].mode = 0; // points
    await expectRejection(writeGlb(glbBytes(json, bin)), 'EMPTY_PRODUCT', /no drawable triangles/);
  });

  it('a missing product file', async () => {
    await expectRejection(join(dir.path, 'nope.glb'), 'PRODUCT_NOT_FOUND', /does not exist/);
  });
});
