/** sRGB transfer functions and lookup tables (8-bit sRGB <-> linear light). */

export function srgbToLinear(value: number): number {
  return value <= 0.04045 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
}

export function linearToSrgb(value: number): number {
  return value <= 0.0031308 ? value * 12.92 : 1.055 * Math.pow(value, 1 / 2.4) - 0.055;
}

/** 8-bit sRGB code -> linear light in [0, 1]. */
export const SRGB8_TO_LINEAR: Float32Array = Float32Array.from({ length: 256 }, (_, i) => srgbToLinear(i / 255));

const ENCODE_STEPS = 16384;
const ENCODE_LUT: Uint8Array = Uint8Array.from({ length: ENCODE_STEPS + 1 }, (_, i) => Math.round(linearToSrgb(i / ENCODE_STEPS) * 255));

/** Linear light in [0, 1] (clamped) -> 8-bit sRGB code, through a 16k-entry table (error below 0.3 code). */
export function linearToSrgb8(value: number): number {
  const v = value <= 0 ? 0 : value >= 1 ? 1 : value;
  return ENCODE_LUT[(v * ENCODE_STEPS + 0.5) | 0];
}

/** Rec. 709 luminance of linear RGB. */
export function luminance(r: number, g: number, b: number): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** A decoded video frame: RGB8, sRGB-encoded, rows top to bottom. */
export interface RgbImage {
  widthPx: number;
  heightPx: number;
  data: Uint8Array;
}
