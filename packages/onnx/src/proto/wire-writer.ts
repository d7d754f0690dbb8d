/**
 * Protocol-buffers wire encoding, written by hand: just what ONNX's messages need
 * (varint, 64-bit two's complement varints for negative int64, fixed32 floats, length-delimited fields).
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();

/** Appends fields to a growing byte buffer; `finish()` returns the message bytes. */
export class WireWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** Unsigned or negative integer as a varint (negative values take 10 bytes, as int64 on the wire). */
  rawVarint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buffer[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.length++] = Number(v);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint((field << 3) | wireType);
  }

  /** int32/int64/enum/bool field. */
  varint(field: number, value: number | bigint | boolean): void {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }

  /** float field (fixed32, little-endian). */
  float(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buffer.buffer).setFloat32(this.length, value, true);
    this.length += 4;
  }

  /** double field (fixed64, little-endian). */
  double(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.reserve(8);
    new DataView(this.buffer.buffer).setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** bytes field. */
  bytes(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.rawVarint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** string field (UTF-8). */
  string(field: number, value: string): void {
    this.bytes(field, textEncoder.encode(value));
  }

  /** Embedded message field, encoded by `write` into a fresh writer. */
  message(field: number, write: (writer: WireWriter) => void): void {
    const inner = new WireWriter();
    write(inner);
    this.bytes(field, inner.finish());
  }

  /** Repeated integer field, packed. */
  packedVarints(field: number, values: ArrayLike<number | bigint>): void {
    if (values.length === 0) return;
    const inner = new WireWriter();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]);
    this.bytes(field, inner.finish());
  }

  /** Repeated float field, packed. */
  packedFloats(field: number, values: ArrayLike<number>): void {
    if (values.length === 0) return;
    const data = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) data[i] = values[i];
    this.bytes(field, new Uint8Array(data.buffer));
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export const WIRE_TYPES = { varint: WIRE_VARINT, fixed64: WIRE_FIXED64, bytes: WIRE_BYTES, fixed32: WIRE_FIXED32 };
