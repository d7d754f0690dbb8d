/**
 * The core of the ONNX graph builder: inputs, outputs, initializers (given or seeded random), nodes and the
 * serialized model. Operator helpers live in model-builder.ts.
 */
import { encodeModel, encodeModelWithExternalData } from './proto/onnx-encode';
import { float32ToFloat16 } from './float16';
import { createRandom, type Random } from './random';
import type {
  AttributeValue,
  Dim,
  ModelInit,
  NodeInit,
  TensorDType,
  TensorInit,
  ValueInfoInit,
} from './proto/onnx-types';

export interface GraphBuilderOptions {
  /** Graph name (default 'graph'). */
  name?: string;
  /** Default-domain opset (default 17). */
  opset?: number;
  /** Seed of the random initializers (default 1). */
  seed?: number;
  /** Element type of float weights and constants made by the helpers (default 'float32'). */
  floatType?: 'float32' | 'float16';
}

export const GRAPH_BUILDER_DEFAULTS: Required<GraphBuilderOptions> = {
  name: 'graph',
  opset: 17,
  seed: 1,
  floatType: 'float32',
};

/** Raw little-endian bytes of `values` stored as `dtype`. */
export function encodeTensorData(dtype: TensorDType, values: ArrayLike<number | bigint>): Uint8Array {
  const n = values.length;
  const numbers = (): number[] => Array.from({ length: n }, (_, i) => Number(values[i]));
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(numbers()).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(numbers()).buffer);
    case 'float16':
      return new Uint8Array(float32ToFloat16(numbers()).buffer);
    case 'int64':
      return new Uint8Array(BigInt64Array.from({ length: n }, (_, i) => BigInt(values[i])).buffer);
    case 'uint64':
      return new Uint8Array(BigUint64Array.from({ length: n }, (_, i) => BigInt(values[i])).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(numbers()).buffer);
    case 'uint32':
      return new Uint8Array(Uint32Array.from(numbers()).buffer);
    case 'int16':
      return new Uint8Array(Int16Array.from(numbers()).buffer);
    case 'uint16':
      return new Uint8Array(Uint16Array.from(numbers()).buffer);
    case 'int8':
      return new Uint8Array(Int8Array.from(numbers()).buffer);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(numbers());
    default:
      throw new TypeError(`cannot encode ${dtype} tensor data`);
  }
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export class GraphBuilder {
  readonly options: Required<GraphBuilderOptions>;
  protected readonly random: Random;
  private readonly nodes: NodeInit[] = [];
  private readonly initializers: TensorInit[] = [];
  private readonly inputs: ValueInfoInit[] = [];
  private readonly outputs: ValueInfoInit[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(options: GraphBuilderOptions = {}) {
    const o = { ...GRAPH_BUILDER_DEFAULTS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
    this.options = o;
    this.random = createRandom(o.seed);
  }

  get opset(): number {
    return this.options.opset;
  }

  get floatType(): 'float32' | 'float16' {
    return this.options.floatType;
  }

  /** A fresh value name starting with `prefix`. */
  uniqueName(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.names.has(name)) name = `${prefix}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph builder: the name "${name}" is already used`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input. */
  input(name: string, dtype: TensorDType, shape: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), dtype, shape });
    return name;
  }

  /**
   * Declares `value` a graph output named `name` (an Identity is inserted when the names differ).
   * `shape` undefined leaves the shape to onnxruntime's inference.
   */
  output(value: string, name: string, dtype: TensorDType, shape?: readonly Dim[]): string {
    if (value !== name) this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [this.claim(name)] });
    this.outputs.push({ name, dtype, shape });
    return name;
  }

  /** An initializer with the given values. */
  initializer(dtype: TensorDType, dims: readonly number[], values: ArrayLike<number | bigint>, name?: string): string {
    if (values.length !== elementCount(dims)) {
      throw new Error(`graph builder: ${values.length} values for an initializer of shape [${dims.join(', ')}]`);
    }
    const n = name ? this.claim(name) : this.uniqueName('const');
    this.initializers.push({ name: n, dtype, dims: [...dims], raw: encodeTensorData(dtype, values) });
    return n;
  }

  /** A float constant in the builder's float type. */
  constant(values: ArrayLike<number> | number, dims: readonly number[] = typeof values === 'number' ? [] : [values.length]): string {
    return this.initializer(this.floatType, dims, typeof values === 'number' ? [values] : values);
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer('int64', dims, values);
  }

  /**
   * Seeded normal weights times `scale` (default 1/sqrt(fan-in), fan-in = product of all but the first dim);
   * returns the initializer name and its float32 values, so tests can compute by hand.
   */
  randomWeights(dims: readonly number[], scale?: number, name?: string): { name: string; values: Float32Array } {
    const fanIn = dims.length > 1 ? elementCount(dims.slice(1)) : dims[0] ?? 1;
    const s = scale ?? 1 / Math.sqrt(Math.max(1, fanIn));
    const values = this.random.normals(elementCount(dims)).map((v) => v * s);
    return { name: this.initializer(this.floatType, dims, values, name), values };
  }

  /** A node with any number of outputs; returns their names. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    outputCount = 1,
    domain = '',
  ): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.uniqueName(opType.toLowerCase()));
    this.nodes.push({ opType, inputs, outputs, attributes, domain, name: this.uniqueName(`n_${opType}`) });
    return outputs;
  }

  /** A node with one output; returns its name. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}): string {
    return this.node(opType, inputs, attributes)[0];
  }

  /** The model as plain data. */
  toModel(metadata: Readonly<Record<string, string>> = {}): ModelInit {
    const domains = new Set(this.nodes.map((n) => n.domain).filter((d): d is string => !!d));
    return {
      graph: {
        name: this.options.name,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: this.inputs,
        outputs: this.outputs,
      },
      opset: this.options.opset,
      extraOpsets: Object.fromEntries([...domains].map((d) => [d, 1])),
      metadata,
    };
  }

  /** The serialized ModelProto. */
  build(metadata: Readonly<Record<string, string>> = {}): Uint8Array {
    return encodeModel(this.toModel(metadata));
  }

  /** The ModelProto with initializers of `thresholdBytes` or more in a data file `location` beside it. */
  buildWithExternalData(
    location: string,
    metadata: Readonly<Record<string, string>> = {},
    thresholdBytes = 1024,
  ): { model: Uint8Array; data: Uint8Array } {
    return encodeModelWithExternalData(this.toModel(metadata), location, thresholdBytes);
  }
}
