import { VaneliaError } from '@vanelia/runtime';

/**
 * Structural checks on a glTF asset before anything large is allocated: the GLB container, the JSON's
 * indices and byte ranges, element counts against limits, and required extensions. Every problem becomes a
 * VaneliaError that names it, so a broken or hostile product file never crashes or exhausts the service.
 */

export interface ProductLimits {
  /** Largest product file accepted, bytes. */
  maxFileBytes?: number;
  /** Largest JSON part, bytes. */
  maxJsonBytes?: number;
  /** Most elements one accessor may declare. */
  maxAccessorCount?: number;
  /** Most bytes all accessors may decode to together (geometry memory bound). */
  maxGeometryBytes?: number;
  /** Most pixels one texture may have (checked from its header before decoding). */
  maxTexturePixels?: number;
  /** Most images, meshes, nodes or materials one file may declare. */
  maxObjects?: number;
}

export const PRODUCT_LIMITS_DEFAULTS: Required<ProductLimits> = {
  maxFileBytes: 512 * 1024 * 1024,
  maxJsonBytes: 64 * 1024 * 1024,
  maxAccessorCount: 1 << 25,
  maxGeometryBytes: 1024 * 1024 * 1024,
  maxTexturePixels: 8192 * 8192,
  maxObjects: 100_000,
};

/** Material extensions that need three's physical material (the standard one ignores them). */
export const PHYSICAL_MATERIAL_EXTENSIONS = [
  'KHR_materials_clearcoat',
  'KHR_materials_transmission',
  'KHR_materials_volume',
  'KHR_materials_ior',
  'KHR_materials_specular',
  'KHR_materials_sheen',
  'KHR_materials_iridescence',
  'KHR_materials_anisotropy',
  'KHR_materials_dispersion',
] as const;

/** Extensions the loader understands; a file that requires any other is refused. */
export const SUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set([
  'KHR_draco_mesh_compression',
  'EXT_meshopt_compression',
  'KHR_meshopt_compression',
  'KHR_mesh_quantization',
  'KHR_texture_transform',
  'KHR_texture_basisu',
  'EXT_texture_webp',
  'EXT_texture_avif',
  'KHR_materials_emissive_strength',
  ...PHYSICAL_MATERIAL_EXTENSIONS,
  'KHR_materials_unlit',
  'KHR_materials_pbrSpecularGlossiness',
  'KHR_materials_variants',
  'KHR_materials_diffuse_transmission',
  'KHR_lights_punctual',
  'KHR_mesh_primitive_restart',
  'KHR_node_visibility',
  'KHR_accessor_float16',
  'KHR_accessor_float64',
  'EXT_mesh_gpu_instancing',
  'KHR_xmp_json_ld',
]);

const GLB_MAGIC = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

const COMPONENT_BYTES: Record<number, number> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 };
const TYPE_COMPONENTS: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 };

/** The parts of a glTF JSON document the guard reads (everything else passes through untouched). */
export type GltfJson = Record<string, any>;

export interface GlbParts {
  json: GltfJson;
  /** The BIN chunk, when present (a view into the file, no copy). */
  bin?: Uint8Array;
}

function invalid(sentence: string): VaneliaError {
  return new VaneliaError('compositor', 'INVALID_GLB', sentence, { code: 'INVALID_ARGUMENT' });
}

export function mergeLimits(limits: ProductLimits = {}): Required<ProductLimits> {
  const out = { ...PRODUCT_LIMITS_DEFAULTS };
  for (const [key, value] of Object.entries(limits)) if (value !== undefined) (out as Record<string, number>)[key] = value;
  return out;
}

/** True when the bytes start with the GLB magic. */
export function isGlb(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === GLB_MAGIC;
}

/** Splits a GLB into JSON and BIN after checking header, lengths and chunk bounds. */
export function parseGlb(bytes: Uint8Array, limits: ProductLimits = {}): GlbParts {
  const lim = mergeLimits(limits);
  if (bytes.byteLength > lim.maxFileBytes) throw invalid(`the product file is ${bytes.byteLength} bytes, more than the ${lim.maxFileBytes} allowed.`);
  if (bytes.byteLength < 20) throw invalid(`the file is ${bytes.byteLength} bytes, too short to be a GLB.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== GLB_MAGIC) throw invalid('the file does not start with the GLB magic "glTF".');
  const version = view.getUint32(4, true);
  if (version !== 2) throw invalid(`GLB version ${version} is not supported (only 2).`);
  const declared = view.getUint32(8, true);
  if (declared > bytes.byteLength) throw invalid(`the GLB header declares ${declared} bytes but the file has ${bytes.byteLength}: it is truncated.`);
  let offset = 12;
  let json: GltfJson | undefined;
  let bin: Uint8Array | undefined;
  for (let index = 0; offset < declared; index++) {
    if (offset + 8 > declared) throw invalid(`GLB chunk ${index} header is truncated.`);
    const length = view.getUint32(offset, true);
    const type = view.getUint32(offset + 4, true);
    const start = offset + 8;
    if (start + length > declared) throw invalid(`GLB chunk ${index} declares ${length} bytes, past the end of the file: it is truncated.`);
    if (index === 0) {
      if (type !== CHUNK_JSON) throw invalid('the first GLB chunk is not JSON.');
      if (length > lim.maxJsonBytes) throw invalid(`the GLB JSON chunk is ${length} bytes, more than the ${lim.maxJsonBytes} allowed.`);
      json = parseJson(bytes.subarray(start, start + length));
    } else if (type === CHUNK_BIN && bin === undefined) {
      bin = bytes.subarray(start, start + length);
    }
    offset = start + length + ((4 - (length % 4)) % 4);
  }
  if (!json) throw invalid('the GLB has no JSON chunk.');
  return { json, bin };
}

/** Parses glTF JSON text, refusing anything that is not an object. */
export function parseJson(bytes: Uint8Array): GltfJson {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8').decode(bytes).replace(/\0+$/, '').trimEnd());
  } catch (error) {
    throw new VaneliaError('compositor', 'INVALID_GLB', `the glTF JSON does not parse (${(error as Error).message}).`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the glTF JSON is not an object.');
  return value as GltfJson;
}

function list(json: GltfJson, key: string, limit: number): any[] {
  const value = json[key];
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`"${key}" is not an array.`);
  if (value.length > limit) throw invalid(`the file declares ${value.length} ${key}, more than the ${limit} allowed.`);
  return value;
}

function isIndex(value: unknown, length: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < length;
}

function checkIndex(value: unknown, length: number, what: string): void {
  if (!isIndex(value, length)) throw invalid(`${what} refers to ${JSON.stringify(value)}, which does not exist (${length} declared).`);
}

function checkByteCount(value: unknown, what: string, max: number): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw invalid(`${what} is not a byte count.`);
  if ((value as number) > max) throw invalid(`${what} is ${value} bytes, more than the ${max} allowed.`);
  return value as number;
}

/** Where a buffer's bytes come from, as the guard sees them: the length available, or undefined when unknown. */
export type ResourceSize = (uri: string) => number | undefined;

/**
 * Checks every index and byte range of a glTF JSON document against the data actually available.
 * `binBytes` is the GLB BIN chunk length (undefined for .gltf); `resourceSize` reports external files.
 * Returns warnings for optional things the renderer will ignore.
 */
export function checkGltf(json: GltfJson, binBytes: number | undefined, resourceSize: ResourceSize, limits: ProductLimits = {}): string[] {
  const lim = mergeLimits(limits);
  const warnings: string[] = [];
  const version = String(json.asset?.version ?? '');
  if (!version.startsWith('2')) throw invalid(`asset.version is ${JSON.stringify(json.asset?.version)}, not glTF 2.x.`);
  for (const name of list(json, 'extensionsRequired', lim.maxObjects)) {
    if (!SUPPORTED_EXTENSIONS.has(name)) {
      throw new VaneliaError('compositor', 'UNSUPPORTED_EXTENSION', `the file requires the glTF extension ${JSON.stringify(name)}, which the renderer does not support.`);
    }
  }
  for (const name of list(json, 'extensionsUsed', lim.maxObjects)) {
    if (!SUPPORTED_EXTENSIONS.has(name)) warnings.push(`compositor: the optional glTF extension ${name} is ignored.`);
  }

  const buffers = list(json, 'buffers', lim.maxObjects);
  const bufferSizes = buffers.map((buffer, i) => {
    const byteLength = checkByteCount(buffer?.byteLength, `buffer ${i} byteLength`, lim.maxFileBytes);
    const fallback = buffer?.extensions?.EXT_meshopt_compression?.fallback || buffer?.extensions?.KHR_meshopt_compression?.fallback;
    if (fallback) return byteLength; // placeholder the meshopt decoder fills
    let available: number | undefined;
    if (buffer?.uri === undefined) {
      if (i !== 0 || binBytes === undefined) throw invalid(`buffer ${i} has no uri and there is no GLB BIN chunk for it.`);
      available = binBytes;
    } else if (typeof buffer.uri === 'string' && buffer.uri.startsWith('data:')) {
      const comma = buffer.uri.indexOf(',');
      available = comma < 0 ? 0 : Math.floor(((buffer.uri.length - comma - 1) * 3) / 4);
    } else {
      available = resourceSize(String(buffer.uri));
      if (available === undefined) {
        throw new VaneliaError('compositor', 'MISSING_RESOURCE', `buffer ${i} refers to ${JSON.stringify(buffer.uri)}, which is missing.`);
      }
    }
    if (available + 3 < byteLength) throw invalid(`buffer ${i} declares ${byteLength} bytes but only ${available} are present: the file is truncated.`);
    return byteLength;
  });

  const views = list(json, 'bufferViews', lim.maxObjects);
  views.forEach((view, i) => {
    checkIndex(view?.buffer, buffers.length, `bufferView ${i}`);
    const offset = view.byteOffset === undefined ? 0 : checkByteCount(view.byteOffset, `bufferView ${i} byteOffset`, lim.maxFileBytes);
    const length = checkByteCount(view.byteLength, `bufferView ${i} byteLength`, lim.maxFileBytes);
    if (offset + length > bufferSizes[view.buffer]) throw invalid(`bufferView ${i} (bytes ${offset}..${offset + length}) runs past the end of buffer ${view.buffer} (${bufferSizes[view.buffer]} bytes).`);
    if (view.byteStride !== undefined && (!Number.isInteger(view.byteStride) || view.byteStride < 4 || view.byteStride > 252 || view.byteStride % 4 !== 0)) {
      throw invalid(`bufferView ${i} has an invalid byteStride ${JSON.stringify(view.byteStride)}.`);
    }
    const meshopt = view.extensions?.EXT_meshopt_compression ?? view.extensions?.KHR_meshopt_compression;
    if (meshopt) {
      checkIndex(meshopt.buffer, buffers.length, `bufferView ${i} meshopt source`);
      const mOffset = meshopt.byteOffset === undefined ? 0 : checkByteCount(meshopt.byteOffset, `bufferView ${i} meshopt byteOffset`, lim.maxFileBytes);
      const mLength = checkByteCount(meshopt.byteLength, `bufferView ${i} meshopt byteLength`, lim.maxFileBytes);
      if (mOffset + mLength > bufferSizes[meshopt.buffer]) throw invalid(`bufferView ${i}'s compressed meshopt data runs past the end of buffer ${meshopt.buffer}.`);
      const count = meshopt.count;
      if (!Number.isInteger(count) || count < 0 || count > lim.maxAccessorCount) throw invalid(`bufferView ${i} declares ${JSON.stringify(count)} meshopt elements, outside 0..${lim.maxAccessorCount}.`);
      if (count * Number(meshopt.byteStride) > length) throw invalid(`bufferView ${i}'s meshopt data decodes to more bytes than the view holds.`);
    }
  });

  let geometryBytes = 0;
  const accessors = list(json, 'accessors', lim.maxObjects);
  accessors.forEach((accessor, i) => {
    const componentBytes = COMPONENT_BYTES[accessor?.componentType];
    const components = TYPE_COMPONENTS[accessor?.type];
    if (!componentBytes || !components) throw invalid(`accessor ${i} has an unknown componentType or type.`);
    const count = accessor.count;
    if (!Number.isInteger(count) || count < 1) throw invalid(`accessor ${i} count ${JSON.stringify(count)} is not a positive integer.`);
    if (count > lim.maxAccessorCount) throw invalid(`accessor ${i} declares ${count} elements, more than the ${lim.maxAccessorCount} allowed.`);
    const elementBytes = componentBytes * components;
    geometryBytes += count * elementBytes;
    if (geometryBytes > lim.maxGeometryBytes) throw invalid(`the accessors decode to more than ${lim.maxGeometryBytes} bytes of geometry.`);
    if (accessor.bufferView !== undefined) {
      checkIndex(accessor.bufferView, views.length, `accessor ${i}`);
      const view = views[accessor.bufferView];
      const offset = accessor.byteOffset === undefined ? 0 : checkByteCount(accessor.byteOffset, `accessor ${i} byteOffset`, lim.maxFileBytes);
      const stride = view.byteStride ?? elementBytes;
      const end = offset + stride * (count - 1) + elementBytes;
      if (end > view.byteLength) throw invalid(`accessor ${i} reads ${count} elements up to byte ${end}, past the end of bufferView ${accessor.bufferView} (${view.byteLength} bytes).`);
    }
    if (accessor.sparse !== undefined) {
      const sparse = accessor.sparse;
      if (!Number.isInteger(sparse.count) || sparse.count < 1 || sparse.count > count) throw invalid(`accessor ${i} sparse count is out of range.`);
      for (const part of [sparse.indices, sparse.values]) {
        checkIndex(part?.bufferView, views.length, `accessor ${i} sparse data`);
        const partBytes = part === sparse.indices ? COMPONENT_BYTES[part.componentType] ?? 0 : elementBytes;
        if (partBytes === 0) throw invalid(`accessor ${i} sparse indices have an unknown componentType.`);
        if ((part.byteOffset ?? 0) + sparse.count * partBytes > views[part.bufferView].byteLength) throw invalid(`accessor ${i} sparse data runs past its bufferView.`);
      }
    }
  });

  const meshes = list(json, 'meshes', lim.maxObjects);
  const materials = list(json, 'materials', lim.maxObjects);
  meshes.forEach((mesh, m) => {
    const primitives = Array.isArray(mesh?.primitives) ? mesh.primitives : [];
    if (primitives.length === 0) throw invalid(`mesh ${m} has no primitives.`);
    primitives.forEach((primitive: any, p: number) => {
      const what = `mesh ${m} primitive ${p}`;
      for (const [semantic, index] of Object.entries(primitive?.attributes ?? {})) checkIndex(index, accessors.length, `${what} ${semantic}`);
      if (primitive.indices !== undefined) checkIndex(primitive.indices, accessors.length, `${what} indices`);
      if (primitive.material !== undefined) checkIndex(primitive.material, materials.length, `${what} material`);
      const draco = primitive.extensions?.KHR_draco_mesh_compression;
      if (draco) checkIndex(draco.bufferView, views.length, `${what} Draco data`);
      for (const target of primitive.targets ?? []) for (const index of Object.values(target ?? {})) checkIndex(index, accessors.length, `${what} morph target`);
    });
  });

  const images = list(json, 'images', lim.maxObjects);
  images.forEach((image, i) => {
    if (image?.bufferView !== undefined) checkIndex(image.bufferView, views.length, `image ${i}`);
    else if (typeof image?.uri === 'string') {
      if (!image.uri.startsWith('data:') && resourceSize(image.uri) === undefined) {
        throw new VaneliaError('compositor', 'MISSING_RESOURCE', `image ${i} refers to the texture ${JSON.stringify(image.uri)}, which is missing.`);
      }
    } else throw new VaneliaError('compositor', 'MISSING_RESOURCE', `image ${i} has neither a bufferView nor a uri: the texture is missing.`);
  });
  const textures = list(json, 'textures', lim.maxObjects);
  textures.forEach((texture, i) => {
    const sources = [texture?.source, ...Object.values(texture?.extensions ?? {}).map((ext: any) => ext?.source)].filter((s) => s !== undefined);
    for (const source of sources) checkIndex(source, images.length, `texture ${i}`);
  });
  materials.forEach((material, i) => checkTextureRefs(material, textures.length, `material ${i}`));

  const nodes = list(json, 'nodes', lim.maxObjects);
  nodes.forEach((node, i) => {
    if (node?.mesh !== undefined) checkIndex(node.mesh, meshes.length, `node ${i} mesh`);
    for (const child of node?.children ?? []) checkIndex(child, nodes.length, `node ${i} child`);
  });
  checkNodeTree(nodes);
  for (const [s, scene] of list(json, 'scenes', lim.maxObjects).entries()) {
    for (const node of scene?.nodes ?? []) checkIndex(node, nodes.length, `scene ${s}`);
  }
  if (json.scene !== undefined) checkIndex(json.scene, (json.scenes ?? []).length, 'the default scene');
  return warnings;
}

/** Every `{ index }` texture reference inside a material (core and extension slots) must exist. */
function checkTextureRefs(value: unknown, textureCount: number, where: string, depth = 0): void {
  if (typeof value !== 'object' || value === null || depth > 6) return;
  for (const [key, child] of Object.entries(value)) {
    if (/Texture$/.test(key) && typeof child === 'object' && child !== null) checkIndex((child as any).index, textureCount, `${where} ${key}`);
    else checkTextureRefs(child, textureCount, where, depth + 1);
  }
}

/** Node children must form a forest: no cycles, no node with two parents. */
function checkNodeTree(nodes: any[]): void {
  const parent = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((node, i) => {
    for (const child of node?.children ?? []) {
      if (parent[child] !== -1 || child === i) throw invalid(`node ${child} has more than one parent or is its own child.`);
      parent[child] = i;
    }
  });
  // Walk up from each node once; a walk that meets its own mark has found a cycle (O(nodes) in all).
  const walk = new Int32Array(nodes.length).fill(-1);
  for (let i = 0; i < nodes.length; i++) {
    for (let p = i; p !== -1 && walk[p] !== -2; p = parent[p]) {
      if (walk[p] === i) throw invalid(`the node hierarchy has a cycle through node ${p}.`);
      walk[p] = i;
    }
    for (let p = i; p !== -1 && walk[p] === i; p = parent[p]) walk[p] = -2;
  }
}
