import { Logger as GltfLogger, NodeIO, type Document } from '@gltf-transform/core';
import { ALL_EXTENSIONS } from '@gltf-transform/extensions';
import { VaneliaError, isVaneliaError } from '@vanelia/runtime';
import draco3d from 'draco3dgltf';
import { MeshoptDecoder } from 'meshoptimizer';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { checkGltf, isGlb, mergeLimits, parseGlb, parseJson, type GltfJson, type ProductLimits } from './gltf-guard';

/** A product file read into a glTF-Transform document, Draco and meshopt geometry already decoded. */
export interface ProductDocument {
  document: Document;
  /** Things the renderer ignores or works around (optional extensions, skipped primitives …). */
  warnings: string[];
  /** The file read, for messages. */
  sourcePath: string;
}

let io: Promise<NodeIO> | undefined;

/** One NodeIO with every extension glTF-Transform knows and the Draco and meshopt decoders. */
function productIo(): Promise<NodeIO> {
  io ??= (async () => {
    await MeshoptDecoder.ready;
    const decoder = await draco3d.createDecoderModule();
    return new NodeIO()
      .setAllowNetwork(false)
      .setLogger(new GltfLogger(GltfLogger.Verbosity.SILENT))
      .registerExtensions(ALL_EXTENSIONS)
      .registerDependencies({ 'draco3d.decoder': decoder, 'meshopt.decoder': MeshoptDecoder });
  })();
  return io;
}

/** Size of an external resource next to a .gltf, or undefined when it is missing or outside its folder. */
async function resourceSizes(json: GltfJson, baseDir: string): Promise<Map<string, number>> {
  const uris = [...(json.buffers ?? []), ...(json.images ?? [])]
    .map((item: any) => item?.uri)
    .filter((uri: unknown): uri is string => typeof uri === 'string' && !uri.startsWith('data:'));
  const sizes = new Map<string, number>();
  for (const uri of uris) {
    const path = resolve(baseDir, decodeURIComponent(uri));
    if (!path.startsWith(resolve(baseDir) + sep)) continue; // never read outside the product's folder
    try {
      const info = await stat(path);
      if (info.isFile()) sizes.set(uri, info.size);
    } catch {
      // missing: the guard reports it
    }
  }
  return sizes;
}

/**
 * Reads a .glb or .gltf product: checks the container and every index and byte range first (bounded
 * memory), then decodes it with glTF-Transform. All failures are VaneliaErrors naming the problem.
 */
export async function readProductDocument(path: string, limits: ProductLimits = {}): Promise<ProductDocument> {
  const lim = mergeLimits(limits);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch (error) {
    throw new VaneliaError('compositor', 'PRODUCT_NOT_FOUND', `the product file ${JSON.stringify(path)} does not exist.`, { code: 'NOT_FOUND', cause: error });
  }
  if (size > lim.maxFileBytes) {
    throw new VaneliaError('compositor', 'INVALID_GLB', `the product file is ${size} bytes, more than the ${lim.maxFileBytes} allowed.`);
  }
  const bytes = new Uint8Array(await readFile(path));
  const warnings: string[] = [];
  const glb = isGlb(bytes);
  let json: GltfJson;
  let binBytes: number | undefined;
  if (glb) {
    const parts = parseGlb(bytes, lim);
    json = parts.json;
    binBytes = parts.bin?.byteLength;
  } else {
    if (bytes[0] !== 0x7b && !/^\s*\{/.test(new TextDecoder().decode(bytes.subarray(0, 64)))) {
      throw new VaneliaError('compositor', 'INVALID_GLB', 'the file is neither a GLB (no "glTF" magic) nor glTF JSON.');
    }
    if (bytes.byteLength > lim.maxJsonBytes) throw new VaneliaError('compositor', 'INVALID_GLB', `the glTF JSON is ${bytes.byteLength} bytes, more than allowed.`);
    json = parseJson(bytes);
  }
  const sizes = glb ? new Map<string, number>() : await resourceSizes(json, dirname(resolve(path)));
  warnings.push(...checkGltf(json, binBytes, (uri) => sizes.get(uri), lim));

  const reader = await productIo();
  let document: Document;
  try {
    document = glb ? await reader.readBinary(bytes) : await reader.read(path);
  } catch (error) {
    if (isVaneliaError(error)) throw error;
    throw new VaneliaError('compositor', 'INVALID_GLB', `the product file could not be decoded (${(error as Error).message}).`, { cause: error });
  }
  return { document, warnings, sourcePath: path };
}
