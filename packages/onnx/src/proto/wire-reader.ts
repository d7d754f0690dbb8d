/**
 * Protocol-buffers wire decoding over bytes in memory or over a file read piecewise, so a model's
 * header (opsets, graph inputs and outputs) is read without loading gigabytes of weights.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { WIRE_TYPES } from './wire-writer';

/** One field as it lies on the wire. */
export interface WireField {
  field: number;
  wireType: number;
  /** Offset of the tag (start of the whole field). */
  start: number;
  /** Offset of the payload (after the tag, and after the length for length-delimited fields). */
  valueStart: number;
  /** Offset just past the field. */
  end: number;
  /** Varint value (varint fields only). */
  varint: bigint;
}

/** Random access to bytes, in memory or in a file. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** A file read on demand; call `close()` when done. */
export function fileSource(path: string): ByteSource & { close(): void } {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < out.length) {
        const n = readSync(fd, out, done, out.length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

export class WireFormatError extends Error {}

function readVarint(source: ByteSource, offset: number, limit: number): [bigint, number] {
  const chunk = source.read(offset, Math.min(10, limit - offset));
  let value = 0n;
  for (let i = 0; i < chunk.length; i++) {
    value |= BigInt(chunk[i] & 0x7f) << BigInt(7 * i);
    if ((chunk[i] & 0x80) === 0) return [value, offset + i + 1];
  }
  throw new WireFormatError(`truncated varint at byte ${offset}`);
}

/** The fields of the message that lies in `source` between `begin` and `end`. */
export function* readFields(source: ByteSource, begin = 0, end = source.size): Generator<WireField> {
  let offset = begin;
  while (offset < end) {
    const start = offset;
    const [tag, afterTag] = readVarint(source, offset, end);
    const field = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    let valueStart = afterTag;
    let fieldEnd: number;
    let varint = 0n;
    if (wireType === WIRE_TYPES.varint) {
      [varint, fieldEnd] = readVarint(source, afterTag, end);
    } else if (wireType === WIRE_TYPES.fixed64) {
      fieldEnd = afterTag + 8;
    } else if (wireType === WIRE_TYPES.fixed32) {
      fieldEnd = afterTag + 4;
    } else if (wireType === WIRE_TYPES.bytes) {
      const [length, afterLength] = readVarint(source, afterTag, end);
      valueStart = afterLength;
      fieldEnd = afterLength + Number(length);
    } else {
      throw new WireFormatError(`unsupported wire type ${wireType} at byte ${start}`);
    }
    if (field === 0 || fieldEnd > end) throw new WireFormatError(`field ${field} at byte ${start} runs past its message`);
    yield { field, wireType, start, valueStart, end: fieldEnd, varint };
    offset = fieldEnd;
  }
}

const textDecoder = new TextDecoder();

export function fieldBytes(source: ByteSource, f: WireField): Uint8Array {
  return source.read(f.valueStart, f.end - f.valueStart);
}

export function fieldString(source: ByteSource, f: WireField): string {
  return textDecoder.decode(fieldBytes(source, f));
}

/** Signed value of a varint field (int64 two's complement). */
export function fieldInt(f: WireField): number {
  return Number(BigInt.asIntN(64, f.varint));
}

/** Values of a repeated integer field, packed or not (call once per occurrence and concatenate). */
export function fieldInts(source: ByteSource, f: WireField): number[] {
  if (f.wireType === WIRE_TYPES.varint) return [fieldInt(f)];
  const bytes = fieldBytes(source, f);
  const inner = memorySource(bytes);
  const out: number[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const [value, next] = readVarint(inner, offset, bytes.length);
    out.push(Number(BigInt.asIntN(64, value)));
    offset = next;
  }
  return out;
}
