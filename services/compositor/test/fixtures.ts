import { Document, NodeIO, type Material, type Texture } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import draco3d from 'draco3dgltf';
import { MeshoptEncoder } from 'meshoptimizer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import { lookAtPose, type CameraPose } from '../src/camera-model';

/** Fixtures built in code: glTF documents, raw GLB bytes, cameras, temporary folders. */

export function tempDir(prefix = 'vanelia-compositor-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

let io: Promise<NodeIO> | undefined;

/** A NodeIO that can write every extension, with the Draco and meshopt encoders. */
export function fixtureIo(): Promise<NodeIO> {
  io ??= (async () => {
    await MeshoptEncoder.ready;
    return new NodeIO().registerExtensions(ALL_EXTENSIONS).registerDependencies({
      'draco3d.encoder': await draco3d.createEncoderModule(),
      'draco3d.decoder': await draco3d.createDecoderModule(),
      'meshopt.encoder': MeshoptEncoder,
    });
  })();
  return io;
}

/** UV sphere (radius 1) or unit box geometry as flat arrays. */
export function shapeArrays(shape: 'sphere' | 'box', segments = 32): { position: Float32Array; normal: Float32Array; uv: Float32Array; index: Uint32Array } {
  const geometry = shape === 'sphere' ? new THREE.SphereGeometry(1, segments, segments / 2) : new THREE.BoxGeometry(1, 1, 1);
  return {
    position: Float32Array.from(geometry.getAttribute('position').array as ArrayLike<number>),
    normal: Float32Array.from(geometry.getAttribute('normal').array as ArrayLike<number>),
    uv: Float32Array.from(geometry.getAttribute('uv').array as ArrayLike<number>),
    index: Uint32Array.from(geometry.getIndex()!.array as ArrayLike<number>),
  };
}

export interface ShapeDocument {
  document: Document;
  material: Material;
}

/** A mesh of shape arrays in `document` (one primitive), with extra attributes such as COLOR_0. */
export function shapeMesh(document: Document, arrays: ReturnType<typeof shapeArrays>, material: Material, extra: Record<string, [Float32Array, 'VEC4' | 'VEC3']> = {}) {
  const buffer = document.getRoot().listBuffers()[0] ?? document.createBuffer();
  const accessor = (array: Float32Array | Uint32Array, type: 'VEC4' | 'VEC3' | 'VEC2' | 'SCALAR') => document.createAccessor().setType(type).setArray(array).setBuffer(buffer);
  const primitive = document
    .createPrimitive()
    .setAttribute('POSITION', accessor(arrays.position, 'VEC3'))
    .setAttribute('NORMAL', accessor(arrays.normal, 'VEC3'))
    .setAttribute('TEXCOORD_0', accessor(arrays.uv, 'VEC2'))
    .setIndices(accessor(arrays.index, 'SCALAR'))
    .setMaterial(material);
  for (const [semantic, [array, type]] of Object.entries(extra)) primitive.setAttribute(semantic, accessor(array, type));
  return document.createMesh(material.getName()).addPrimitive(primitive);
}

/** A document with one mesh (sphere or box) and one material, translated by `offset`, scaled by `scale`. */
export function shapeDocument(shape: 'sphere' | 'box', options: { scale?: number; offset?: [number, number, number]; segments?: number } = {}): ShapeDocument {
  const document = new Document();
  const material = document.createMaterial('material').setBaseColorFactor([0.8, 0.8, 0.8, 1]).setRoughnessFactor(0.5).setMetallicFactor(0);
  const mesh = shapeMesh(document, shapeArrays(shape, options.segments), material);
  const s = options.scale ?? 1;
  const node = document.createNode('shape').setMesh(mesh).setScale([s, s, s]).setTranslation(options.offset ?? [0, 0, 0]);
  document.createScene('scene').addChild(node);
  return { document, material };
}

/** A texture from raw RGBA pixels, encoded as PNG (or WebP). */
export async function textureFromPixels(document: Document, rgba: Uint8Array, widthPx: number, heightPx: number, format: 'png' | 'webp' = 'png'): Promise<Texture> {
  const image = sharp(rgba, { raw: { width: widthPx, height: heightPx, channels: 4 } });
  const bytes = format === 'png' ? await image.png().toBuffer() : await image.webp({ lossless: true }).toBuffer();
  return document
    .createTexture()
    .setImage(new Uint8Array(bytes))
    .setMimeType(`image/${format}`);
}

/** A checkerboard RGBA image of `cells` x `cells` squares. */
export function checker(sizePx: number, cells: number, a: [number, number, number], b: [number, number, number]): Uint8Array {
  const out = new Uint8Array(sizePx * sizePx * 4);
  for (let y = 0; y < sizePx; y++) {
    for (let x = 0; x < sizePx; x++) {
      const c = (Math.floor((x * cells) / sizePx) + Math.floor((y * cells) / sizePx)) % 2 ? a : b;
      out.set([...c, 255], (y * sizePx + x) * 4);
    }
  }
  return out;
}

/** GLB bytes from a JSON object and an optional BIN chunk (both padded as the spec says). */
export function glbBytes(json: object, bin?: Uint8Array): Uint8Array {
  const jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  const jsonPadded = Math.ceil(jsonBytes.length / 4) * 4;
  const binPadded = bin ? Math.ceil(bin.length / 4) * 4 : 0;
  const total = 12 + 8 + jsonPadded + (bin ? 8 + binPadded : 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x46546c67, true);
  view.setUint32(4, 2, true);
  view.setUint32(8, total, true);
  view.setUint32(12, jsonPadded, true);
  view.setUint32(16, 0x4e4f534a, true);
  out.fill(0x20, 20, 20 + jsonPadded);
  out.set(jsonBytes, 20);
  if (bin) {
    const at = 20 + jsonPadded;
    view.setUint32(at, binPadded, true);
    view.setUint32(at + 4, 0x004e4942, true);
    out.set(bin, at + 8);
  }
  return out;
}

/** A minimal valid triangle GLB's JSON and BIN (3 vertices, no indices), to mutate in malformed-file tests. */
export function triangleGltf(): { json: any; bin: Uint8Array } {
  const positions = new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]);
  const bin = new Uint8Array(positions.buffer);
  const json = {
    asset: { version: '2.0' },
    buffers: [{ byteLength: bin.byteLength }],
    bufferViews: [{ buffer: 0, byteOffset: 0, byteLength: bin.byteLength }],
    accessors: [{ bufferView: 0, componentType: 5126, count: 3, type: 'VEC3', min: [0, 0, 0], max: [1, 1, 0] }],
    meshes: [{ primitives: [{ attributes: { POSITION: 0 } }] }],
    nodes: [{ mesh: 0 }],
    scenes: [{ nodes: [0] }],
    scene: 0,
  };
  return { json, bin };
}

/** A 16:9 camera at `eye` looking at `target` with a 60-degree-ish horizontal field of view. */
export function testCamera(widthPx: number, heightPx: number, eye: [number, number, number], target: [number, number, number], frameIndex = 0): CameraPose {
  const f = widthPx * 0.85;
  return lookAtPose(frameIndex, { fxPx: f, fyPx: f, cxPx: widthPx / 2, cyPx: heightPx / 2, widthPx, heightPx }, new THREE.Vector3(...eye), new THREE.Vector3(...target));
}

/** Mean absolute difference of two equally sized byte arrays, and the share of bytes differing by more than `tolerance`. */
export function imageDifference(a: Uint8Array, b: Uint8Array, tolerance: number): { mean: number; outliers: number } {
  if (a.length !== b.length) throw new Error(`images differ in size: ${a.length} vs ${b.length}`);
  let sum = 0;
  let outliers = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > tolerance) outliers++;
  }
  return { mean: sum / a.length, outliers: outliers / a.length };
}

interface Ktx2Parts {
  vkFormat: number;
  widthPx: number;
  heightPx: number;
  supercompression: number;
  level: Uint8Array;
  uncompressedBytes: number;
  /** Data format descriptor: colour model, block size - 1, bytes a block, one sample's channel and bit length. */
  dfd: { colorModel: number; block: [number, number]; bytesPlane: number; channel: number; bitLength: number; transfer: number };
}

/** A single-level KTX2 container (header, level index, a one-sample basic data format descriptor, level data). */
function ktx2File(parts: Ktx2Parts): Uint8Array {
  const dfdOffset = 80 + 24;
  const dfdLength = 44;
  const levelOffset = 160;
  const out = new Uint8Array(levelOffset + parts.level.byteLength);
  const view = new DataView(out.buffer);
  out.set([0xab, 0x4b, 0x54, 0x58, 0x20, 0x32, 0x30, 0xbb, 0x0d, 0x0a, 0x1a, 0x0a]);
  const header = [parts.vkFormat, 1, parts.widthPx, parts.heightPx, 0, 0, 1, 1, parts.supercompression, dfdOffset, dfdLength, 0, 0];
  header.forEach((value, i) => view.setUint32(12 + i * 4, value, true));
  view.setBigUint64(80, BigInt(levelOffset), true);
  view.setBigUint64(88, BigInt(parts.level.byteLength), true);
  view.setBigUint64(96, BigInt(parts.uncompressedBytes), true);
  const d = parts.dfd;
  view.setUint32(dfdOffset, dfdLength, true);
  view.setUint16(dfdOffset + 8, 2, true); // version
  view.setUint16(dfdOffset + 10, 40, true); // block size: 24 + one 16-byte sample
  out.set([d.colorModel, 1, d.transfer, 0, d.block[0], d.block[1], 0, 0, d.bytesPlane], dfdOffset + 12);
  view.setUint16(dfdOffset + 28, 0, true); // sample bit offset
  out.set([d.bitLength, d.channel], dfdOffset + 30);
  view.setUint32(dfdOffset + 36, 0, true); // sample lower
  view.setUint32(dfdOffset + 40, 0xffffffff, true); // sample upper
  out.set(parts.level, levelOffset);
  return out;
}

/** A single-level KTX2 file holding RGBA8 pixels (vkFormat R8G8B8A8_SRGB), uncompressed or zlib-supercompressed (scheme 3). */
export function ktx2Rgba(rgba: Uint8Array, widthPx: number, heightPx: number, supercompression: 0 | 3, deflate: (data: Uint8Array) => Uint8Array): Uint8Array {
  return ktx2File({
    vkFormat: 43,
    widthPx,
    heightPx,
    supercompression,
    level: supercompression === 3 ? deflate(rgba) : rgba,
    uncompressedBytes: rgba.byteLength,
    dfd: { colorModel: 1, block: [0, 0], bytesPlane: 4, channel: 0, bitLength: 31, transfer: 2 },
  });
}

/**
 * A Basis Universal UASTC KTX2 file made of solid-colour blocks (UASTC mode 8, the void-extent block: a
 * 5-bit mode code 0x17, then R, G, B, A as 8 bits each, least significant bit first). `colours` gives one
 * RGBA colour per 4x4 block in raster order.
 */
export function ktx2UastcSolid(colours: [number, number, number, number][], blocksWide: number, blocksHigh: number): Uint8Array {
  const level = new Uint8Array(blocksWide * blocksHigh * 16);
  colours.forEach(([r, g, b, a], i) => {
    let bits = 0x17n | (BigInt(r) << 5n) | (BigInt(g) << 13n) | (BigInt(b) << 21n) | (BigInt(a) << 29n);
    for (let byte = 0; byte < 8; byte++, bits >>= 8n) level[i * 16 + byte] = Number(bits & 0xffn);
  });
  return ktx2File({
    vkFormat: 0,
    widthPx: blocksWide * 4,
    heightPx: blocksHigh * 4,
    supercompression: 0,
    level,
    uncompressedBytes: level.byteLength,
    dfd: { colorModel: 166, block: [3, 3], bytesPlane: 16, channel: 3, bitLength: 127, transfer: 1 },
  });
}
