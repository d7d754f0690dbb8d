import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '@vanelia/runtime/test-data';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy';

/** A .npy file built by hand: version 1 header padded to 64 bytes, then the raw values. */
function handMade(descr: string, shape: string, fortran: boolean, payload: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(payload, 10 + header.length);
  return out;
}

describe('.npy reader', () => {
  it('reads the fern poses_bounds.npy: float64, 20 x 17, first row as numpy prints it', () => {
    const npy = readNpy(readFileSync(join(sharedDataDir(), 'images-fern-llff', 'poses_bounds.npy')));
    expect(npy.shape).toEqual([20, 17]);
    expect(npy.dtype).toBe('<f8');
    // hwf of the full-resolution images and the first camera's x position.
    expect(npy.data[4]).toBe(3024);
    expect(npy.data[9]).toBe(4032);
    expect(npy.data[14]).toBeCloseTo(3260.526, 2);
    expect(npy.data[3]).toBeCloseTo(-3.679, 3);
  });

  it('reads int32, big-endian float32, float16 and Fortran order', () => {
    const i32 = new Uint8Array(new Int32Array([1, -2, 3, 4, 5, 6]).buffer);
    expect(Array.from(readNpy(handMade('<i4', '(2, 3)', false, i32)).data)).toEqual([1, -2, 3, 4, 5, 6]);
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2.25, false);
    expect(Array.from(readNpy(handMade('>f4', '(2,)', false, be)).data)).toEqual([1.5, -2.25]);
    // float16: 0x3c00 = 1, 0xc000 = -2, 0x3555 ≈ 0.33325.
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer);
    const h = readNpy(handMade('<f2', '(3,)', false, half)).data;
    expect(h[0]).toBe(1);
    expect(h[1]).toBe(-2);
    expect(h[2]).toBeCloseTo(0.33325, 4);
    // Fortran order: stored column by column, returned row by row.
    const f = new Uint8Array(new Float64Array([1, 4, 2, 5, 3, 6]).buffer);
    expect(Array.from(readNpy(handMade('<f8', '(2, 3)', true, f)).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('round-trips through writeNpy and rejects broken files clearly', () => {
    const values = [0.5, -1, 3.25, 1e-9, 7, 8];
    const back = readNpy(writeNpy(values, [3, 2]));
    expect(back.shape).toEqual([3, 2]);
    expect(Array.from(back.data)).toEqual(values);
    expect(() => readNpy(new Uint8Array([1, 2, 3]))).toThrow(/pose: the \.npy file does not start with the NumPy magic string/);
    const whole = writeNpy(values, [3, 2]);
    const truncated = whole.subarray(0, whole.length - 12);
    expect(() => readNpy(truncated)).toThrow(/pose: the \.npy file holds 36 data bytes, its shape needs 48/);
    expect(() => readNpy(whole.subarray(0, 40))).toThrow(/is truncated inside its header/);
    expect(() => readNpy(handMade('<c16', '(1,)', false, new Uint8Array(16)))).toThrow(/unsupported dtype <c16/);
  });
});
