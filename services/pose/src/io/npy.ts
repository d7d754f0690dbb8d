import { VaneliaError } from '@vanelia/runtime';

/** A numeric NumPy array read from a .npy file: values as float64, C order, with its shape. */
export interface NpyArray {
  shape: number[];
  /** NumPy dtype descriptor as stored, e.g. "<f8". */
  dtype: string;
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

function bad(sentence: string): VaneliaError {
  return new VaneliaError('pose', 'INVALID_NPY', `the .npy file ${sentence}.`);
}

/** Parses the header dictionary, e.g. {'descr': '<f8', 'fortran_order': False, 'shape': (20, 17), }. */
function parseHeader(text: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (!descr || !fortran || shape === undefined) throw bad(`has an unreadable header (${text.trim().slice(0, 80)})`);
  const dims = shape.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`has an invalid shape (${shape})`);
  return { descr, fortran: fortran === 'True', shape: dims };
}

/**
 * Reads NumPy's .npy format (versions 1–3): little- or big-endian float16/32/64, signed and unsigned
 * integers, bool; C or Fortran order (returned in C order).
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad('does not start with the NumPy magic string');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw bad(`has unsupported format version ${major}`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length) throw bad('is truncated inside its header');
  const header = parseHeader(new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLen)));
  const match = /^([<>|=])([fiub])(\d+)$/.exec(header.descr);
  if (!match) throw bad(`has unsupported dtype ${header.descr}`);
  const [, order, kind, sizeText] = match;
  const size = Number(sizeText);
  const little = order !== '>';
  const count = header.shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLen;
  if (offset + count * size > bytes.length) throw bad(`holds ${bytes.length - offset} data bytes, its shape needs ${count * size}`);
  const read = reader(kind, size, little, view);
  if (!read) throw bad(`has unsupported dtype ${header.descr}`);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = read(offset + i * size);
  return { shape: header.shape, dtype: header.descr, data: header.fortran ? toCOrder(values, header.shape) : values };
}

function reader(kind: string, size: number, little: boolean, view: DataView): ((at: number) => number) | null {
  if (kind === 'f' && size === 8) return (at) => view.getFloat64(at, little);
  if (kind === 'f' && size === 4) return (at) => view.getFloat32(at, little);
  if (kind === 'f' && size === 2) return (at) => halfToFloat(view.getUint16(at, little));
  if (kind === 'i' && size === 1) return (at) => view.getInt8(at);
  if (kind === 'i' && size === 2) return (at) => view.getInt16(at, little);
  if (kind === 'i' && size === 4) return (at) => view.getInt32(at, little);
  if (kind === 'i' && size === 8) return (at) => Number(view.getBigInt64(at, little));
  if ((kind === 'u' || kind === 'b') && size === 1) return (at) => view.getUint8(at);
  if (kind === 'u' && size === 2) return (at) => view.getUint16(at, little);
  if (kind === 'u' && size === 4) return (at) => view.getUint32(at, little);
  if (kind === 'u' && size === 8) return (at) => Number(view.getBigUint64(at, little));
  return null;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function toCOrder(values: Float64Array, shape: number[]): Float64Array {
  const out = new Float64Array(values.length);
  const n = shape.length;
  const index = new Array(n).fill(0);
  for (let c = 0; c < values.length; c++) {
    // Fortran offset of the C-order multi-index.
    let f = 0;
    let stride = 1;
    for (let d = 0; d < n; d++) {
      f += index[d] * stride;
      stride *= shape[d];
    }
    out[c] = values[f];
    for (let d = n - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Writes a float64 little-endian C-order .npy (version 1): for tests and exports. */
export function writeNpy(data: ArrayLike<number>, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`writeNpy: ${data.length} values for shape (${shape.join(', ')})`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + 8 * count);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let i = 0; i < count; i++) view.setFloat64(10 + header.length + 8 * i, data[i], true);
  return out;
}
