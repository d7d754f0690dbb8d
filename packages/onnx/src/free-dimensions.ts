/**
 * Fixes symbolic dimensions (dim_param) of a model's graph inputs, outputs and value_info to sizes, by rewriting
 * the serialized ModelProto. onnxruntime-node 1.30 has no `freeDimensionOverrides` session option, and static
 * shapes matter on WebGPU (a UNet with a dynamic batch axis ran at half speed), so the session applies them here.
 */
import { WireWriter } from './proto/wire-writer';
import { fieldString, memorySource, readFields, type ByteSource, type WireField } from './proto/wire-reader';

type Pieces = Uint8Array[];

/** Field numbers leading from ModelProto to TensorShapeProto.Dimension. */
const GRAPH = 7;
const VALUE_INFO_FIELDS = new Set([11, 12, 13]);
const TYPE = 2;
const TENSOR_TYPE = 1;
const SHAPE = 2;
const DIM = 1;
const DIM_PARAM = 2;

function lengthPrefixed(field: number, pieces: Pieces): Pieces {
  const header = new WireWriter();
  header.rawVarint((field << 3) | 2);
  header.rawVarint(pieces.reduce((sum, p) => sum + p.length, 0));
  return [header.finish(), ...pieces];
}

interface Rewrite {
  overrides: ReadonlyMap<string, number>;
  applied: Set<string>;
}

function rewriteDim(source: ByteSource, dim: WireField, r: Rewrite): Pieces {
  const out: Pieces = [];
  for (const part of readFields(source, dim.valueStart, dim.end)) {
    const name = part.field === DIM_PARAM ? fieldString(source, part) : undefined;
    const size = name === undefined ? undefined : r.overrides.get(name);
    if (name !== undefined && size !== undefined) {
      const w = new WireWriter();
      w.varint(1, size);
      out.push(w.finish());
      r.applied.add(name);
    } else {
      out.push(source.read(part.start, part.end - part.start));
    }
  }
  return out;
}

/** Re-emits the message in `f`, rewriting the sub-field chosen by `path[0]` recursively. */
function rewrite(source: ByteSource, f: WireField, path: readonly ((field: number) => boolean)[], r: Rewrite): Pieces {
  const out: Pieces = [];
  const [match, ...rest] = path;
  for (const part of readFields(source, f.valueStart, f.end)) {
    if (part.wireType === 2 && match(part.field)) {
      const inner = rest.length === 0 ? rewriteDim(source, part, r) : rewrite(source, part, rest, r);
      out.push(...lengthPrefixed(part.field, inner));
    } else {
      out.push(source.read(part.start, part.end - part.start));
    }
  }
  return out;
}

export interface FreeDimensionResult {
  bytes: Uint8Array;
  /** Names that were found and replaced. */
  applied: string[];
}

/** The model with every `dim_param` named in `overrides` replaced by its size. */
export function applyFreeDimensionOverrides(
  model: Uint8Array,
  overrides: Readonly<Record<string, number>>,
): FreeDimensionResult {
  const r: Rewrite = { overrides: new Map(Object.entries(overrides)), applied: new Set() };
  const source = memorySource(model);
  const whole: WireField = { field: 0, wireType: 2, start: 0, valueStart: 0, end: model.length, varint: 0n };
  const path = [
    (n: number) => n === GRAPH,
    (n: number) => VALUE_INFO_FIELDS.has(n),
    (n: number) => n === TYPE,
    (n: number) => n === TENSOR_TYPE,
    (n: number) => n === SHAPE,
    (n: number) => n === DIM,
  ];
  const pieces = rewrite(source, whole, path, r);
  const total = pieces.reduce((sum, p) => sum + p.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const p of pieces) {
    bytes.set(p, offset);
    offset += p.length;
  }
  return { bytes, applied: [...r.applied] };
}
