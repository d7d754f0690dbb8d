import sharp from 'sharp';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeTexture } from '../src/texture-decode';
import { ktx2Rgba, ktx2UastcSolid } from './fixtures';

describe('decodeTexture', () => {
  const rgba = new Uint8Array(4 * 4 * 4).map((_, i) => (i * 37) % 256);

  it('decodes PNG, WebP and plain / zlib KTX2 to the same RGBA', async () => {
    const png = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer();
    const webp = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).webp({ lossless: true }).toBuffer();
    for (const [bytes, mime] of [
      [png, 'image/png'],
      [webp, 'image/webp'],
      [ktx2Rgba(rgba, 4, 4, 0, (d) => d), 'image/ktx2'],
      [ktx2Rgba(rgba, 4, 4, 3, (d) => new Uint8Array(deflateSync(d))), 'image/ktx2'],
    ] as const) {
      const image = await decodeTexture(new Uint8Array(bytes), mime, 'test');
      expect([image.widthPx, image.heightPx]).toEqual([4, 4]);
      expect(Array.from(image.data)).toEqual(Array.from(rgba));
    }
  });

  it('downscales past the size limit and refuses images over the pixel limit before decoding', async () => {
    const big = await sharp({ create: { width: 256, height: 128, channels: 3, background: '#808080' } }).png().toBuffer();
    const small = await decodeTexture(new Uint8Array(big), 'image/png', 'big', { maxSizePx: 64 });
    expect([small.widthPx, small.heightPx]).toEqual([64, 32]);
    await expect(decodeTexture(new Uint8Array(big), 'image/png', 'big', { maxPixels: 1000 })).rejects.toMatchObject({ reason: 'INVALID_TEXTURE' });
  });

  it('rejects truncated or unknown KTX2 data', async () => {
    const ktx = ktx2Rgba(rgba, 4, 4, 0, (d) => d);
    await expect(decodeTexture(ktx.subarray(0, 120), 'image/ktx2', 'cut')).rejects.toThrow(/truncated|past the end/);
    const odd = new Uint8Array(ktx);
    new DataView(odd.buffer).setUint32(12, 131, true); // a block-compressed vkFormat
    await expect(decodeTexture(odd, 'image/ktx2', 'odd')).rejects.toThrow(/vkFormat 131/);
    const huge = new Uint8Array(ktx);
    new DataView(huge.buffer).setUint32(20, 100000, true);
    new DataView(huge.buffer).setUint32(24, 100000, true);
    await expect(decodeTexture(huge, 'image/ktx2', 'huge')).rejects.toThrow(/pixels allowed/);
    await expect(decodeTexture(new Uint8Array(0), 'image/png', 'empty')).rejects.toThrow(/missing/);
  });

  it('transcodes Basis UASTC KTX2 (solid-colour blocks written here) to RGBA', async () => {
    const colours: [number, number, number, number][] = [[200, 10, 20, 255], [0, 180, 60, 255], [30, 40, 220, 255], [250, 250, 250, 128]];
    const image = await decodeTexture(ktx2UastcSolid(colours, 2, 2), 'image/ktx2', 'uastc');
    expect([image.widthPx, image.heightPx]).toEqual([8, 8]);
    const at = (x: number, y: number) => Array.from(image.data.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 4));
    expect(at(1, 1)).toEqual(colours[0]);
    expect(at(6, 2)).toEqual(colours[1]);
    expect(at(2, 5)).toEqual(colours[2]);
    expect(at(7, 7)).toEqual(colours[3]);
  });

  it('refuses invalid Basis data with a clear error', async () => {
    const basis = new Uint8Array(ktx2Rgba(rgba, 4, 4, 0, (d) => d));
    new DataView(basis.buffer).setUint32(12, 0, true); // vkFormat UNDEFINED
    new DataView(basis.buffer).setUint32(44, 1, true); // BasisLZ supercompression
    await expect(decodeTexture(basis, 'image/ktx2', 'basis')).rejects.toMatchObject({ reason: 'INVALID_TEXTURE', message: expect.stringMatching(/basis .*Basis/) });
  });
});
