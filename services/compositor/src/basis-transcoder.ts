import { VaneliaError } from '@vanelia/runtime';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Basis Universal (KTX2 with ETC1S/BasisLZ or UASTC) to RGBA8, through the WebAssembly transcoder that
 * three.js ships (examples/jsm/libs/basis). Loaded once, on first use.
 */

interface KTX2File {
  isValid(): boolean;
  getWidth(): number;
  getHeight(): number;
  startTranscoding(): boolean;
  getImageTranscodedSizeInBytes(level: number, layer: number, face: number, format: number): number;
  transcodeImage(dst: Uint8Array, level: number, layer: number, face: number, format: number, getAlphaForOpaqueFormats: number, channel0: number, channel1: number): number;
  close(): void;
  delete(): void;
}

interface BasisModule {
  initializeBasis(): void;
  KTX2File: new (bytes: Uint8Array) => KTX2File;
}

/** basisu transcoder_texture_format cTFRGBA32. */
const RGBA32 = 13;

let basis: Promise<BasisModule> | undefined;

function loadBasis(): Promise<BasisModule> {
  basis ??= (async () => {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('three/examples/jsm/libs/basis/basis_transcoder.js'));
    const source = readFileSync(join(dir, 'basis_transcoder.js'), 'utf8');
    const module = { exports: {} as unknown };
    // The transcoder is an Emscripten UMD script: run it with a CommonJS-like scope.
    new Function('module', 'exports', 'require', '__filename', '__dirname', source)(module, module.exports, require, join(dir, 'basis_transcoder.js'), dir);
    const factory = module.exports as (options: { wasmBinary: Uint8Array }) => Promise<BasisModule>;
    const instance = await factory({ wasmBinary: readFileSync(join(dir, 'basis_transcoder.wasm')) });
    instance.initializeBasis();
    return instance;
  })();
  return basis;
}

/** Transcodes level 0 of a Basis KTX2 file to RGBA8 (rows top to bottom). */
export async function transcodeBasisKtx2(bytes: Uint8Array, label: string): Promise<Uint8Array> {
  const module = await loadBasis();
  const file = new module.KTX2File(new Uint8Array(bytes));
  try {
    if (!file.isValid()) throw new VaneliaError('compositor', 'INVALID_TEXTURE', `${label} is not a valid Basis KTX2 texture.`);
    if (!file.startTranscoding()) throw new VaneliaError('compositor', 'INVALID_TEXTURE', `${label} could not start Basis transcoding.`);
    const size = file.getImageTranscodedSizeInBytes(0, 0, 0, RGBA32);
    const expected = file.getWidth() * file.getHeight() * 4;
    if (size !== expected) throw new VaneliaError('compositor', 'INVALID_TEXTURE', `${label} transcodes to ${size} bytes, ${expected} expected.`);
    const out = new Uint8Array(size);
    if (!file.transcodeImage(out, 0, 0, 0, RGBA32, 0, -1, -1)) {
      throw new VaneliaError('compositor', 'INVALID_TEXTURE', `${label}: Basis transcoding failed.`);
    }
    return out;
  } finally {
    file.close();
    file.delete();
  }
}
