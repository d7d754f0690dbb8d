/** ONNX element types as onnxruntime-node names them, and their TensorProto.DataType codes. */
export type TensorDType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

export const ONNX_DATA_TYPE: Record<TensorDType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

const BY_CODE = new Map<number, TensorDType>(
  Object.entries(ONNX_DATA_TYPE).map(([name, code]) => [code, name as TensorDType]),
);

/** The dtype name of an ONNX data type code, or undefined for types we do not handle (bfloat16, float8 …). */
export function dtypeFromOnnx(code: number): TensorDType | undefined {
  return BY_CODE.get(code);
}

/** Bytes an element takes in raw_data (strings have no fixed size: 0). */
export const DTYPE_BYTES: Record<TensorDType, number> = {
  float32: 4,
  float16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
  string: 0,
};

/** A dimension: a fixed size, or a symbolic name (dim_param) such as "batch". */
export type Dim = number | string;

/** A tensor stored in a model (initializer or attribute): raw little-endian bytes. */
export interface TensorInit {
  name: string;
  dtype: TensorDType;
  dims: readonly number[];
  raw: Uint8Array;
}

/** A graph input, output or intermediate with its type; `shape` undefined means unknown rank. */
export interface ValueInfoInit {
  name: string;
  dtype: TensorDType;
  shape?: readonly Dim[];
}

/** Attribute values, tagged by the AttributeProto field they go in. */
export type AttributeValue =
  | { f: number }
  | { i: number }
  | { s: string }
  | { t: TensorInit }
  | { floats: readonly number[] }
  | { ints: readonly number[] }
  | { strings: readonly string[] };

export interface NodeInit {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Operator domain; '' is the default ONNX domain, 'com.microsoft' for ORT's contrib ops. */
  domain?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface GraphInit {
  name: string;
  nodes: readonly NodeInit[];
  initializers: readonly TensorInit[];
  inputs: readonly ValueInfoInit[];
  outputs: readonly ValueInfoInit[];
  valueInfo?: readonly ValueInfoInit[];
}

export interface ModelInit {
  graph: GraphInit;
  /** Opset of the default domain (default 17). */
  opset?: number;
  /** Extra opsets, e.g. { 'com.microsoft': 1 }. */
  extraOpsets?: Readonly<Record<string, number>>;
  /** ONNX IR version (default 8, the one that goes with opset 17). */
  irVersion?: number;
  producerName?: string;
  /** metadata_props key/value pairs. */
  metadata?: Readonly<Record<string, string>>;
}
