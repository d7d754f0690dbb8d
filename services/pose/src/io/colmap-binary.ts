import { VaneliaError } from '@vanelia/runtime';
import { colmapModelById, colmapModelByName, type ColmapCamera, type ColmapImage, type ColmapPoint3D } from './colmap-model';

/** Little-endian cursor that fails with a clear error instead of reading past the end. */
class Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): void {
    if (this.offset + n > this.bytes.length) {
      throw new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP ${this.file} is truncated at byte ${this.offset}.`);
    }
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP ${this.file} holds an implausible count or id.`);
    return Number(v);
  }
  i64(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return Number(v);
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }
  cString(): string {
    const start = this.offset;
    while (this.offset < this.bytes.length && this.bytes[this.offset] !== 0) this.offset++;
    this.need(1);
    const s = new TextDecoder().decode(this.bytes.subarray(start, this.offset));
    this.offset++;
    return s;
  }
  /** Guards counts against the bytes left (each item needs at least `minBytes`). */
  count(minBytes: number): number {
    const n = this.u64();
    if (n * minBytes > this.bytes.length - this.offset) {
      throw new VaneliaError('pose', 'INVALID_COLMAP', `COLMAP ${this.file} announces ${n} entries but is too short for them.`);
    }
    return n;
  }
}

export function parseColmapCamerasBinary(bytes: Uint8Array): ColmapCamera[] {
  const r = new Reader(bytes, 'cameras.bin');
  const n = r.count(24);
  return Array.from({ length: n }, () => {
    const id = r.i32();
    const model = colmapModelById(r.i32());
    const widthPx = r.u64();
    const heightPx = r.u64();
    const params = Array.from({ length: model.params }, () => r.f64());
    return { id, model: model.name, widthPx, heightPx, params };
  });
}

export function parseColmapImagesBinary(bytes: Uint8Array): ColmapImage[] {
  const r = new Reader(bytes, 'images.bin');
  const n = r.count(64);
  return Array.from({ length: n }, () => {
    const id = r.i32();
    const qvec: [number, number, number, number] = [r.f64(), r.f64(), r.f64(), r.f64()];
    const tvec: [number, number, number] = [r.f64(), r.f64(), r.f64()];
    const cameraId = r.i32();
    const name = r.cString();
    const count = r.count(24);
    const points2d = new Float64Array(2 * count);
    const point3dIds: number[] = [];
    for (let k = 0; k < count; k++) {
      points2d[2 * k] = r.f64();
      points2d[2 * k + 1] = r.f64();
      point3dIds.push(r.i64());
    }
    return { id, qvec, tvec, cameraId, name, points2d, point3dIds };
  });
}

export function parseColmapPointsBinary(bytes: Uint8Array): ColmapPoint3D[] {
  const r = new Reader(bytes, 'points3D.bin');
  const n = r.count(43);
  return Array.from({ length: n }, () => {
    const id = r.u64();
    const xyz: [number, number, number] = [r.f64(), r.f64(), r.f64()];
    const rgb: [number, number, number] = [r.u8(), r.u8(), r.u8()];
    const error = r.f64();
    const length = r.count(8);
    const track: number[] = [];
    for (let k = 0; k < length; k++) track.push(r.i32(), r.i32());
    return { id, xyz, rgb, error, track };
  });
}

/** Growable little-endian writer. */
class Writer {
  private chunks: Uint8Array[] = [];
  private put(size: number, write: (v: DataView) => void): void {
    const b = new Uint8Array(size);
    write(new DataView(b.buffer));
    this.chunks.push(b);
  }
  u8(v: number): void {
    this.put(1, (d) => d.setUint8(0, v));
  }
  i32(v: number): void {
    this.put(4, (d) => d.setInt32(0, v, true));
  }
  u64(v: number): void {
    this.put(8, (d) => d.setBigUint64(0, BigInt(v), true));
  }
  i64(v: number): void {
    this.put(8, (d) => d.setBigInt64(0, BigInt(v), true));
  }
  f64(v: number): void {
    this.put(8, (d) => d.setFloat64(0, v, true));
  }
  cString(s: string): void {
    const b = new TextEncoder().encode(s);
    this.chunks.push(b, new Uint8Array(1));
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((s, c) => s + c.length, 0));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export function formatColmapCamerasBinary(cameras: readonly ColmapCamera[]): Uint8Array {
  const w = new Writer();
  w.u64(cameras.length);
  for (const c of cameras) {
    w.i32(c.id);
    w.i32(colmapModelByName(c.model).id);
    w.u64(c.widthPx);
    w.u64(c.heightPx);
    c.params.forEach((p) => w.f64(p));
  }
  return w.bytes();
}

export function formatColmapImagesBinary(images: readonly ColmapImage[]): Uint8Array {
  const w = new Writer();
  w.u64(images.length);
  for (const im of images) {
    w.i32(im.id);
    im.qvec.forEach((q) => w.f64(q));
    im.tvec.forEach((t) => w.f64(t));
    w.i32(im.cameraId);
    w.cString(im.name);
    w.u64(im.point3dIds.length);
    im.point3dIds.forEach((id, k) => {
      w.f64(im.points2d[2 * k]);
      w.f64(im.points2d[2 * k + 1]);
      w.i64(id);
    });
  }
  return w.bytes();
}

export function formatColmapPointsBinary(points: readonly ColmapPoint3D[]): Uint8Array {
  const w = new Writer();
  w.u64(points.length);
  for (const p of points) {
    w.u64(p.id);
    p.xyz.forEach((x) => w.f64(x));
    p.rgb.forEach((c) => w.u8(c));
    w.f64(p.error);
    w.u64(p.track.length / 2);
    p.track.forEach((v) => w.i32(v));
  }
  return w.bytes();
}
