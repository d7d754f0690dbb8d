import {
  CompositeConfig,
  CompositorService,
  DecoderService,
  EncodeConfig,
  InpaintService,
  PixelBox,
  PoseService,
  RefineConfig,
  RefineReport,
  TrackConfig,
  VideoInfo,
  type Frame,
} from '@vanelia/proto';
import type { ServiceDefinition } from '@grpc/grpc-js';

/**
 * Protobuf encoding for the messages that carry frames, written for throughput: sizes are computed
 * first, each message is written once into one Buffer, and decoded `bytes` are views into the received
 * buffer. The generic encoder grows its buffer by doubling and copies nested messages on every join,
 * several copies of a 50 MB batch per hop. The bytes are the same as the generated code's (tested).
 */

interface SmallMessage {
  encode(message: any): { finish(): Uint8Array };
  decode(input: Uint8Array): any;
}

type Field =
  | { no: number; name: string; kind: 'uint32' | 'enum' | 'int64' | 'bool' | 'string' | 'bytes'; repeated?: boolean; oneof?: string }
  | { no: number; name: string; kind: 'message'; of: Schema | SmallMessage; repeated?: boolean; oneof?: string };

type Schema = { fields: Field[]; create: () => any };
/** A message layout the fast codec reads and writes. */
export type WireSchema = Schema;

const isSchema = (of: Schema | SmallMessage): of is Schema => (of as Schema).fields !== undefined;

function varintSize(value: number): number {
  if (value < 0) return 10;
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  varint(value: number): void {
    if (value < 0) {
      // Negative int64: ten-byte two's complement, as protobuf writes it.
      let big = BigInt.asUintN(64, BigInt(value));
      for (let i = 0; i < 9; i++) {
        this.buf[this.pos++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.pos++] = Number(big);
      return;
    }
    while (value >= 128) {
      this.buf[this.pos++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }
  bytes(data: Uint8Array): void {
    this.varint(data.byteLength);
    this.buf.set(data, this.pos);
    this.pos += data.byteLength;
  }
}

/** Values of a field in the message (oneof members read through their union). */
function valuesOf(field: Field, message: any): unknown[] {
  let value: unknown;
  if (field.oneof) {
    const union = message[field.oneof];
    if (!union || union.$case !== field.name) return [];
    value = union.value;
    return value === undefined ? [] : [value];
  }
  value = message[field.name];
  if (field.repeated) return (value as unknown[]) ?? [];
  if (value === undefined || value === null) return [];
  // proto3: scalars at their default are not written.
  if (field.kind === 'string' && value === '') return [];
  if (field.kind === 'bytes' && (value as Uint8Array).byteLength === 0) return [];
  if ((field.kind === 'uint32' || field.kind === 'enum' || field.kind === 'int64') && value === 0) return [];
  if (field.kind === 'bool' && value === false) return [];
  return [value];
}

/** Precomputed sizes of nested messages (and encodings of small ones), in write order. */
type Plan = Array<number | Uint8Array>;

function sizeOf(schema: Schema, message: any, plan: Plan): number {
  let size = 0;
  for (const field of schema.fields) {
    const tag = varintSize(field.no * 8);
    for (const value of valuesOf(field, message)) {
      size += tag;
      switch (field.kind) {
        case 'uint32':
        case 'enum':
        case 'int64':
          size += varintSize(value as number);
          break;
        case 'bool':
          size += 1;
          break;
        case 'string': {
          const n = Buffer.byteLength(value as string);
          size += varintSize(n) + n;
          break;
        }
        case 'bytes': {
          const n = (value as Uint8Array).byteLength;
          size += varintSize(n) + n;
          break;
        }
        case 'message': {
          if (isSchema(field.of)) {
            const slot = plan.length;
            plan.push(0);
            const n = sizeOf(field.of, value, plan);
            plan[slot] = n;
            size += varintSize(n) + n;
          } else {
            const encoded = field.of.encode(value).finish();
            plan.push(encoded);
            size += varintSize(encoded.byteLength) + encoded.byteLength;
          }
          break;
        }
      }
    }
  }
  return size;
}

function write(schema: Schema, message: any, w: Writer, plan: Plan, cursor: { i: number }): void {
  for (const field of schema.fields) {
    for (const value of valuesOf(field, message)) {
      const wireType = field.kind === 'string' || field.kind === 'bytes' || field.kind === 'message' ? 2 : 0;
      w.varint(field.no * 8 + wireType);
      switch (field.kind) {
        case 'uint32':
        case 'enum':
        case 'int64':
          w.varint(value as number);
          break;
        case 'bool':
          w.varint(value ? 1 : 0);
          break;
        case 'string': {
          const n = Buffer.byteLength(value as string);
          w.varint(n);
          w.pos += w.buf.write(value as string, w.pos, n, 'utf8');
          break;
        }
        case 'bytes':
          w.bytes(value as Uint8Array);
          break;
        case 'message': {
          const planned = plan[cursor.i++];
          if (typeof planned === 'number') {
            w.varint(planned);
            write(field.of as Schema, value, w, plan, cursor);
          } else {
            w.bytes(planned);
          }
          break;
        }
      }
    }
  }
}

/** Encodes `message` into one exactly-sized Buffer. */
export function encodeFast(schema: Schema, message: any): Buffer {
  const plan: Plan = [];
  const size = sizeOf(schema, message, plan);
  const w = new Writer(Buffer.allocUnsafe(size));
  write(schema, message, w, plan, { i: 0 });
  if (w.pos !== size) throw new Error(`frame-wire: wrote ${w.pos} bytes, planned ${size}`);
  return w.buf;
}

/** Decodes `buf`; `bytes` fields are views into it (no copy). */
export function decodeFast(schema: Schema, buf: Buffer, start = 0, end = buf.length): any {
  const message = schema.create();
  let pos = start;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    const from = pos;
    for (let i = 0; i < 7; i++) {
      const byte = buf[pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 128) return result;
      scale *= 128;
    }
    // Beyond 49 bits (negative int64s take ten bytes): exact arithmetic.
    pos = from;
    let big = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = buf[pos++];
      big |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 128) return Number(BigInt.asIntN(64, big));
    }
    throw new Error('frame-wire: malformed varint');
  };
  const byNo = new Map(schema.fields.map((f) => [f.no, f]));
  while (pos < end) {
    const tag = varint();
    const field = byNo.get(Math.floor(tag / 8));
    const wireType = tag & 7;
    if (!field) {
      // Unknown field: skip it (newer peers may send fields this build does not know).
      if (wireType === 0) varint();
      else if (wireType === 1) pos += 8;
      else if (wireType === 5) pos += 4;
      else if (wireType === 2) pos += varint();
      else throw new Error(`frame-wire: unsupported wire type ${wireType}`);
      continue;
    }
    let value: unknown;
    if (field.kind === 'uint32' || field.kind === 'enum' || field.kind === 'int64') value = varint();
    else if (field.kind === 'bool') value = varint() !== 0;
    else {
      const n = varint();
      const from = pos;
      pos += n;
      if (pos > end) throw new Error('frame-wire: truncated message');
      if (field.kind === 'string') value = buf.toString('utf8', from, pos);
      else if (field.kind === 'bytes') value = buf.subarray(from, pos);
      else if (field.kind === 'message') value = isSchema(field.of) ? decodeFast(field.of, buf, from, pos) : field.of.decode(buf.subarray(from, pos));
    }
    if (field.oneof) message[field.oneof] = { $case: field.name, value };
    else if (field.repeated) message[field.name].push(value);
    else message[field.name] = value;
  }
  return message;
}

export const FRAME_MEMORY_REF_SCHEMA: Schema = {
  create: () => ({ path: '', lengthBytes: 0 }),
  fields: [
    { no: 1, name: 'path', kind: 'string' },
    // uint64: the same varint as a non-negative int64.
    { no: 2, name: 'lengthBytes', kind: 'int64' },
  ],
};

export const FRAME_SCHEMA: Schema = {
  create: () => ({ index: 0, widthPx: 0, heightPx: 0, format: 0, data: Buffer.alloc(0), ptsUs: 0, memoryRef: undefined }),
  fields: [
    { no: 1, name: 'index', kind: 'uint32' },
    { no: 2, name: 'widthPx', kind: 'uint32' },
    { no: 3, name: 'heightPx', kind: 'uint32' },
    { no: 4, name: 'format', kind: 'enum' },
    { no: 5, name: 'data', kind: 'bytes' },
    { no: 6, name: 'ptsUs', kind: 'int64' },
    { no: 7, name: 'memoryRef', kind: 'message', of: FRAME_MEMORY_REF_SCHEMA },
  ],
};

export const FRAME_BATCH_SCHEMA: Schema = {
  create: () => ({ jobId: '', batchId: '', frames: [] }),
  fields: [
    { no: 1, name: 'jobId', kind: 'string' },
    { no: 2, name: 'batchId', kind: 'string' },
    { no: 3, name: 'frames', kind: 'message', of: FRAME_SCHEMA, repeated: true },
  ],
};

const COMPOSITED_FRAME_SCHEMA: Schema = {
  create: () => ({ composite: undefined, inpaintMask: undefined, region: undefined }),
  fields: [
    { no: 1, name: 'composite', kind: 'message', of: FRAME_SCHEMA },
    { no: 2, name: 'inpaintMask', kind: 'message', of: FRAME_SCHEMA },
    { no: 3, name: 'region', kind: 'message', of: PixelBox },
  ],
};

export const COMPOSITE_RESPONSE_SCHEMA: Schema = {
  create: () => ({ jobId: '', batchId: '', frames: [], warnings: [] }),
  fields: [
    { no: 1, name: 'jobId', kind: 'string' },
    { no: 2, name: 'batchId', kind: 'string' },
    { no: 3, name: 'frames', kind: 'message', of: COMPOSITED_FRAME_SCHEMA, repeated: true },
    { no: 4, name: 'warnings', kind: 'string', repeated: true },
  ],
};

/** A `oneof payload { Config config = 1; Batch batch = 2; }` request or response. */
const configOrBatch = (config: SmallMessage, batch: Schema, configName = 'config', configNo = 1): Schema => ({
  create: () => ({ payload: undefined }),
  fields: [
    { no: configNo, name: configName, kind: 'message', of: config, oneof: 'payload' },
    { no: 2, name: 'batch', kind: 'message', of: batch, oneof: 'payload' },
  ],
});

export const FAST_SCHEMAS = {
  decodeResponse: configOrBatch(VideoInfo, FRAME_BATCH_SCHEMA, 'info'),
  encodeRequest: configOrBatch(EncodeConfig, FRAME_BATCH_SCHEMA),
  trackRequest: configOrBatch(TrackConfig, FRAME_BATCH_SCHEMA),
  compositeRequest: configOrBatch(CompositeConfig, FRAME_BATCH_SCHEMA),
  compositeResponse: COMPOSITE_RESPONSE_SCHEMA,
  refineRequest: configOrBatch(RefineConfig, COMPOSITE_RESPONSE_SCHEMA),
  refineResponse: {
    create: () => ({ batch: undefined, report: undefined, warnings: [] }),
    fields: [
      { no: 1, name: 'batch', kind: 'message', of: FRAME_BATCH_SCHEMA },
      { no: 2, name: 'report', kind: 'message', of: RefineReport },
      { no: 3, name: 'warnings', kind: 'string', repeated: true },
    ],
  } satisfies Schema,
};

type Side = 'request' | 'response';
type MethodSchemas = Partial<Record<Side, Schema>>;

function withFastCodec<D extends Record<string, any>>(definition: D, methods: Partial<Record<keyof D, MethodSchemas>>): D {
  const out: Record<string, any> = {};
  for (const [name, method] of Object.entries(definition)) {
    const fast = methods[name as keyof D];
    out[name] = { ...method };
    if (fast?.request) {
      out[name].requestSerialize = (value: unknown) => encodeFast(fast.request!, value);
      out[name].requestDeserialize = (buf: Buffer) => decodeFast(fast.request!, buf);
    }
    if (fast?.response) {
      out[name].responseSerialize = (value: unknown) => encodeFast(fast.response!, value);
      out[name].responseDeserialize = (buf: Buffer) => decodeFast(fast.response!, buf);
    }
    if (fast) FRAME_METHODS.set(method.path, fast);
  }
  return out as D;
}

/** The frame-carrying methods by path ("/vanelia.v1.Decoder/Decode"): which side's messages carry frames. */
const FRAME_METHODS = new Map<string, MethodSchemas>();

/** The mesh's service definitions with the fast frame codec on every frame-carrying method. */
export const FAST_DEFINITIONS: Record<string, ServiceDefinition> = {
  'vanelia.v1.Decoder': withFastCodec(DecoderService, { decode: { response: FAST_SCHEMAS.decodeResponse }, encode: { request: FAST_SCHEMAS.encodeRequest } }),
  'vanelia.v1.Pose': withFastCodec(PoseService, { track: { request: FAST_SCHEMAS.trackRequest } }),
  'vanelia.v1.Compositor': withFastCodec(CompositorService, { composite: { request: FAST_SCHEMAS.compositeRequest, response: FAST_SCHEMAS.compositeResponse } }),
  'vanelia.v1.Inpaint': withFastCodec(InpaintService, { refine: { request: FAST_SCHEMAS.refineRequest, response: FAST_SCHEMAS.refineResponse } }),
};

/** The schemas of a frame-carrying method's messages, by its path; undefined for other methods. */
export function frameMethodSchemas(path: string): MethodSchemas | undefined {
  return FRAME_METHODS.get(path);
}

/** The fast definition for a generated one (matched by its first method's path), or the same one. */
export function fastDefinitionFor(definition: ServiceDefinition): ServiceDefinition {
  const firstPath = (Object.values(definition)[0] as { path?: string } | undefined)?.path ?? '';
  const serviceName = firstPath.split('/')[1] ?? '';
  return FAST_DEFINITIONS[serviceName] ?? definition;
}

/**
 * `message` with every frame it carries (per `schema`) replaced by `fn(frame)`. Objects on the way to a
 * changed frame are copied, the rest shared: the caller's message is never changed (a batch sent again to
 * another replica is serialised again from its own bytes). Frames inside generated-code parts (a
 * CompositeConfig's light frames) are not visited.
 */
export function mapFrames(schema: Schema, message: any, fn: (frame: Frame) => Frame): any {
  let out = message;
  const set = (key: string, value: unknown): void => {
    if (out === message) out = { ...message };
    out[key] = value;
  };
  for (const field of schema.fields) {
    if (field.kind !== 'message' || !isSchema(field.of)) continue;
    const of = field.of;
    const map = (value: any): any => (value === undefined || value === null ? value : of === FRAME_SCHEMA ? fn(value) : mapFrames(of, value, fn));
    if (field.oneof) {
      const union = message[field.oneof];
      if (!union || union.$case !== field.name) continue;
      const value = map(union.value);
      if (value !== union.value) set(field.oneof, { $case: field.name, value });
    } else if (field.repeated) {
      const values: unknown[] = message[field.name] ?? [];
      const mapped = values.map(map);
      if (mapped.some((v, i) => v !== values[i])) set(field.name, mapped);
    } else {
      const value = map(message[field.name]);
      if (value !== message[field.name]) set(field.name, value);
    }
  }
  return out;
}
