import { describe, expect, it } from 'vitest';
import {
  Tensor,
  float16BitsToFloat32,
  float16ToFloat32,
  float32ToFloat16,
  float32ToFloat16Bits,
  floatTensor,
  tensorToFloat32,
  toFloat16Tensor,
  toFloat32Tensor,
} from '@vanelia/onnx';

describe('float16 conversion', () => {
  it('encodes known values with round-to-nearest-even', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff); // largest finite half
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie, rounds to even (zero)
    expect(float32ToFloat16Bits(3 * 2 ** -26)).toBe(0x0001); // above the tie
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie, stays even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, rounds to even upwards
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('decodes every half bit pattern and round-trips it exactly', () => {
    for (let h = 0; h < 65536; h++) {
      const v = float16BitsToFloat32(h);
      if (Number.isNaN(v)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        continue;
      }
      expect(float32ToFloat16Bits(v)).toBe(h);
    }
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it('converts arrays and tensors both ways', () => {
    const values = new Float32Array([0.1, -3.5, 1000, 1e-6]);
    const half = float32ToFloat16(values);
    const back = float16ToFloat32(half);
    for (let i = 0; i < values.length; i++) expect(Math.abs(back[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11 + 2 ** -25);
    const t16 = toFloat16Tensor(new Tensor('float32', values, [2, 2]));
    expect(t16.type).toBe('float16');
    expect(t16.dims).toEqual([2, 2]);
    expect(Array.from(toFloat32Tensor(t16).data as Float32Array)).toEqual(Array.from(back));
    expect(floatTensor('float16', values, [4]).type).toBe('float16');
    expect(tensorToFloat32(floatTensor('float32', values, [4]))).toBe(values);
    expect(() => tensorToFloat32(new Tensor('int32', new Int32Array(1), [1]))).toThrow(/float32 or float16/);
  });
});
