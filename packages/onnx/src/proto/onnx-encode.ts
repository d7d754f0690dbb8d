/**
 * Encodes ModelProto and its parts (onnx.proto field numbers) with the hand-written wire writer.
 * Repeated numbers are written packed; protobuf parsers, onnxruntime's included, accept both forms.
 */
import { WireWriter } from './wire-writer';
import {
  ONNX_DATA_TYPE,
  type AttributeValue,
  type GraphInit,
  type ModelInit,
  type NodeInit,
  type TensorInit,
  type ValueInfoInit,
} from './onnx-types';

/** AttributeProto.AttributeType */
const ATTRIBUTE_TYPE = { f: 1, i: 2, s: 3, t: 4, floats: 6, ints: 7, strings: 8 } as const;

/** Where an initializer's bytes go when they are kept outside the model file. */
export interface ExternalDataSink {
  /** File name, relative to the model's folder. */
  location: string;
  /** Initializers smaller than this stay inside the model (bytes). */
  thresholdBytes: number;
  /** Collected data; offsets are aligned to 64 bytes like onnx's writer does for mmap. */
  chunks: Uint8Array[];
  length: number;
}

function writeEntry(w: WireWriter, field: number, key: string, value: string): void {
  w.message(field, (e) => {
    e.string(1, key);
    e.string(2, value);
  });
}

export function writeTensor(w: WireWriter, t: TensorInit, sink?: ExternalDataSink): void {
  w.packedVarints(1, t.dims);
  w.varint(2, ONNX_DATA_TYPE[t.dtype]);
  w.string(8, t.name);
  if (!sink || t.raw.length < sink.thresholdBytes) {
    w.bytes(9, t.raw);
    return;
  }
  const padding = (64 - (sink.length % 64)) % 64;
  if (padding > 0) sink.chunks.push(new Uint8Array(padding));
  const offset = sink.length + padding;
  sink.chunks.push(t.raw);
  sink.length = offset + t.raw.length;
  writeEntry(w, 13, 'location', sink.location);
  writeEntry(w, 13, 'offset', String(offset));
  writeEntry(w, 13, 'length', String(t.raw.length));
  w.varint(14, 1); // data_location = EXTERNAL
}

export function writeValueInfo(w: WireWriter, v: ValueInfoInit): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.varint(1, ONNX_DATA_TYPE[v.dtype]);
      if (v.shape === undefined) return;
      tensorType.message(2, (shape) => {
        for (const dim of v.shape ?? []) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.varint(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

function writeAttribute(w: WireWriter, name: string, value: AttributeValue): void {
  w.string(1, name);
  if ('f' in value) {
    w.float(2, value.f);
    w.varint(20, ATTRIBUTE_TYPE.f);
  } else if ('i' in value) {
    w.varint(3, value.i);
    w.varint(20, ATTRIBUTE_TYPE.i);
  } else if ('s' in value) {
    w.string(4, value.s);
    w.varint(20, ATTRIBUTE_TYPE.s);
  } else if ('t' in value) {
    w.message(5, (t) => writeTensor(t, value.t));
    w.varint(20, ATTRIBUTE_TYPE.t);
  } else if ('floats' in value) {
    w.packedFloats(7, value.floats);
    w.varint(20, ATTRIBUTE_TYPE.floats);
  } else if ('ints' in value) {
    w.packedVarints(8, value.ints);
    w.varint(20, ATTRIBUTE_TYPE.ints);
  } else {
    for (const s of value.strings) w.string(9, s);
    w.varint(20, ATTRIBUTE_TYPE.strings);
  }
}

export function writeNode(w: WireWriter, n: NodeInit): void {
  for (const input of n.inputs) w.string(1, input);
  for (const output of n.outputs) w.string(2, output);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {})) {
    w.message(5, (a) => writeAttribute(a, name, value));
  }
  if (n.domain) w.string(7, n.domain);
}

export function writeGraph(w: WireWriter, g: GraphInit, sink?: ExternalDataSink): void {
  for (const node of g.nodes) w.message(1, (n) => writeNode(n, node));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t, sink));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
  for (const v of g.valueInfo ?? []) w.message(13, (m) => writeValueInfo(m, v));
}

/** The serialized ModelProto, ready for `InferenceSession.create(bytes)` or a .onnx file. */
export function encodeModel(model: ModelInit): Uint8Array {
  return encodeModelTo(model);
}

/**
 * The ModelProto with initializers of at least `thresholdBytes` kept in a separate data file named `location`
 * (as exporters do for models over 2 GB): write `data` beside the model under that name.
 */
export function encodeModelWithExternalData(
  model: ModelInit,
  location: string,
  thresholdBytes = 1024,
): { model: Uint8Array; data: Uint8Array } {
  const sink: ExternalDataSink = { location, thresholdBytes, chunks: [], length: 0 };
  const bytes = encodeModelTo(model, sink);
  const data = new Uint8Array(sink.length);
  let offset = 0;
  for (const chunk of sink.chunks) {
    data.set(chunk, offset);
    offset += chunk.length;
  }
  return { model: bytes, data };
}

function encodeModelTo(model: ModelInit, sink?: ExternalDataSink): Uint8Array {
  const w = new WireWriter();
  w.varint(1, model.irVersion ?? 8);
  w.string(2, model.producerName ?? 'vanelia-onnx');
  w.message(7, (g) => writeGraph(g, model.graph, sink));
  w.message(8, (o) => {
    o.string(1, '');
    o.varint(2, model.opset ?? 17);
  });
  for (const [domain, version] of Object.entries(model.extraOpsets ?? {})) {
    w.message(8, (o) => {
      o.string(1, domain);
      o.varint(2, version);
    });
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) writeEntry(w, 14, key, value);
  return w.finish();
}
