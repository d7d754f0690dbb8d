/**
 * Reads what a contract check needs from a serialized ModelProto — IR version, opsets, metadata, graph inputs
 * and outputs — skipping nodes and initializers, so a multi-gigabyte model file is never loaded whole.
 */
import { dtypeFromOnnx, type Dim, type TensorDType } from './onnx-types';
import {
  fieldInt,
  fieldString,
  fileSource,
  memorySource,
  readFields,
  type ByteSource,
  type WireField,
} from './wire-reader';

export interface DecodedValueInfo {
  name: string;
  /** Undefined when the element type is one we do not name (e.g. bfloat16) or the value is not a tensor. */
  dtype: TensorDType | undefined;
  /** ONNX element type code, as stored. */
  elemType: number;
  /** Undefined when the shape is unknown. Dimensions with neither value nor name read as '?'. */
  shape: Dim[] | undefined;
}

export interface ModelHeader {
  irVersion: number;
  producerName: string;
  /** Opset version per domain ('' = default ONNX domain). */
  opsets: Record<string, number>;
  metadata: Record<string, string>;
  inputs: DecodedValueInfo[];
  outputs: DecodedValueInfo[];
  /** Initializer count (their data is not read). */
  initializerCount: number;
  /** Whether some initializer keeps its data in an external file. */
  hasExternalData: boolean;
  /** External data files the initializers name, relative to the model's folder. */
  externalDataFiles: string[];
  nodeCount: number;
}

function sub(source: ByteSource, f: WireField): Generator<WireField> {
  return readFields(source, f.valueStart, f.end);
}

export function decodeShape(source: ByteSource, shapeField: WireField): Dim[] {
  const dims: Dim[] = [];
  for (const d of sub(source, shapeField)) {
    if (d.field !== 1) continue;
    let dim: Dim = '?';
    for (const part of sub(source, d)) {
      if (part.field === 1) dim = fieldInt(part);
      else if (part.field === 2) dim = fieldString(source, part);
    }
    dims.push(dim);
  }
  return dims;
}

export function decodeValueInfo(source: ByteSource, f: WireField): DecodedValueInfo {
  const out: DecodedValueInfo = { name: '', dtype: undefined, elemType: 0, shape: undefined };
  for (const part of sub(source, f)) {
    if (part.field === 1) out.name = fieldString(source, part);
    if (part.field !== 2) continue;
    for (const typeField of sub(source, part)) {
      if (typeField.field !== 1) continue; // tensor_type only
      for (const t of sub(source, typeField)) {
        if (t.field === 1) {
          out.elemType = fieldInt(t);
          out.dtype = dtypeFromOnnx(out.elemType);
        } else if (t.field === 2) {
          out.shape = decodeShape(source, t);
        }
      }
    }
  }
  return out;
}

function tensorMeta(source: ByteSource, f: WireField): { name: string; external: boolean; location?: string } {
  let name = '';
  let external = false;
  let location: string | undefined;
  for (const part of sub(source, f)) {
    if (part.field === 8) name = fieldString(source, part);
    if (part.field === 14 && fieldInt(part) === 1) external = true;
    if (part.field === 13) {
      let key = '';
      let value = '';
      for (const entry of sub(source, part)) {
        if (entry.field === 1) key = fieldString(source, entry);
        if (entry.field === 2) value = fieldString(source, entry);
      }
      if (key === 'location') location = value;
    }
  }
  return { name, external, location };
}

export function decodeModelHeader(source: ByteSource): ModelHeader {
  const header: ModelHeader = {
    irVersion: 0,
    producerName: '',
    opsets: {},
    metadata: {},
    inputs: [],
    outputs: [],
    initializerCount: 0,
    hasExternalData: false,
    externalDataFiles: [],
    nodeCount: 0,
  };
  for (const f of readFields(source)) {
    if (f.field === 1) header.irVersion = fieldInt(f);
    else if (f.field === 2) header.producerName = fieldString(source, f);
    else if (f.field === 8) {
      let domain = '';
      let version = 0;
      for (const part of sub(source, f)) {
        if (part.field === 1) domain = fieldString(source, part);
        if (part.field === 2) version = fieldInt(part);
      }
      header.opsets[domain === 'ai.onnx' ? '' : domain] = version;
    } else if (f.field === 14) {
      let key = '';
      let value = '';
      for (const part of sub(source, f)) {
        if (part.field === 1) key = fieldString(source, part);
        if (part.field === 2) value = fieldString(source, part);
      }
      header.metadata[key] = value;
    } else if (f.field === 7) {
      const initializerNames = new Set<string>();
      for (const g of sub(source, f)) {
        if (g.field === 1) header.nodeCount++;
        else if (g.field === 5) {
          const meta = tensorMeta(source, g);
          initializerNames.add(meta.name);
          header.hasExternalData ||= meta.external;
          if (meta.external && meta.location && !header.externalDataFiles.includes(meta.location)) {
            header.externalDataFiles.push(meta.location);
          }
        } else if (g.field === 11) header.inputs.push(decodeValueInfo(source, g));
        else if (g.field === 12) header.outputs.push(decodeValueInfo(source, g));
      }
      header.initializerCount = initializerNames.size;
      // Older exporters list initializers among the graph inputs; they are not inputs a caller feeds.
      header.inputs = header.inputs.filter((input) => !initializerNames.has(input.name));
    }
  }
  return header;
}

/** The header of a model in memory. */
export function readModelHeaderFromBytes(bytes: Uint8Array): ModelHeader {
  return decodeModelHeader(memorySource(bytes));
}

/** The header of a model file, reading only the parts it needs. */
export function readModelHeader(path: string): ModelHeader {
  const source = fileSource(path);
  try {
    return decodeModelHeader(source);
  } finally {
    source.close();
  }
}
