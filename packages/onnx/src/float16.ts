/**
 * IEEE 754 half-precision conversion (round to nearest, ties to even; subnormals, infinities and NaN kept),
 * and tensor helpers: onnxruntime-node holds float16 tensors as Uint16Array bit patterns.
 */
import { Tensor } from 'onnxruntime-node';

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** Half-precision bit pattern of one number. */
export function float32ToFloat16Bits(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // a carry into the exponent is correct
  return sign | half;
}

let table: Float32Array | undefined;

function halfTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 31) table[h] = mant !== 0 ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return table;
}

/** The number a half-precision bit pattern stands for. */
export function float16BitsToFloat32(bits: number): number {
  return halfTable()[bits & 0xffff];
}

export function float32ToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

export function float16ToFloat32(bits: ArrayLike<number>): Float32Array {
  const t = halfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i] & 0xffff];
  return out;
}

/** Floating-point element types a model may use for activations. */
export type FloatDType = 'float32' | 'float16';

/** A float tensor of the given element type from float32 values (converted when `dtype` is float16). */
export function floatTensor(dtype: FloatDType, values: Float32Array, dims: readonly number[]): Tensor {
  return dtype === 'float16' ? new Tensor('float16', float32ToFloat16(values), dims) : new Tensor('float32', values, dims);
}

/** The values of a float32 or float16 tensor as float32 (no copy for float32). */
export function tensorToFloat32(tensor: Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') return float16ToFloat32(tensor.data as Uint16Array);
  throw new TypeError(`expected a float32 or float16 tensor, got ${tensor.type}`);
}

/** The tensor converted to float16 (returned as is when it already is). */
export function toFloat16Tensor(tensor: Tensor): Tensor {
  return tensor.type === 'float16' ? tensor : new Tensor('float16', float32ToFloat16(tensorToFloat32(tensor)), tensor.dims);
}

/** The tensor converted to float32 (returned as is when it already is). */
export function toFloat32Tensor(tensor: Tensor): Tensor {
  return tensor.type === 'float32' ? tensor : new Tensor('float32', tensorToFloat32(tensor), tensor.dims);
}
