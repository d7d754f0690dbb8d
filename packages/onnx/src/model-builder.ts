/**
 * Operator helpers over the graph builder: the common ONNX ops by name, plus a few decompositions (layer norm,
 * group norm, SiLU, GELU) and layers that create their own seeded weights (conv2d, linear).
 */
import { GraphBuilder } from './graph-builder';
import { ONNX_DATA_TYPE, type AttributeValue, type TensorDType } from './proto/onnx-types';

export interface ConvAttributes {
  strides?: readonly number[];
  /** Begin and end pads per spatial axis: [top, left, bottom, right] for 2D. */
  pads?: readonly number[];
  dilations?: readonly number[];
  group?: number;
}

type Attrs = Record<string, AttributeValue>;

function convAttrs(a: ConvAttributes): Attrs {
  const out: Attrs = {};
  if (a.strides) out.strides = { ints: a.strides };
  if (a.pads) out.pads = { ints: a.pads };
  if (a.dilations) out.dilations = { ints: a.dilations };
  if (a.group !== undefined) out.group = { i: a.group };
  return out;
}

export class ModelBuilder extends GraphBuilder {
  // Elementwise and activations.
  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op('Div', [a, b]); }
  pow(a: string, b: string): string { return this.op('Pow', [a, b]); }
  relu(x: string): string { return this.op('Relu', [x]); }
  sigmoid(x: string): string { return this.op('Sigmoid', [x]); }
  tanh(x: string): string { return this.op('Tanh', [x]); }
  sqrt(x: string): string { return this.op('Sqrt', [x]); }
  exp(x: string): string { return this.op('Exp', [x]); }
  sin(x: string): string { return this.op('Sin', [x]); }
  cos(x: string): string { return this.op('Cos', [x]); }
  neg(x: string): string { return this.op('Neg', [x]); }
  identity(x: string): string { return this.op('Identity', [x]); }
  /** x * sigmoid(x). */
  silu(x: string): string { return this.mul(x, this.sigmoid(x)); }
  /** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
  gelu(x: string): string {
    const erf = this.op('Erf', [this.div(x, this.constant(Math.SQRT2))]);
    return this.mul(this.mul(x, this.add(erf, this.constant(1))), this.constant(0.5));
  }

  // Linear algebra and convolution.
  matMul(a: string, b: string): string { return this.op('MatMul', [a, b]); }
  gemm(a: string, b: string, c?: string, o: { alpha?: number; beta?: number; transA?: boolean; transB?: boolean } = {}): string {
    const attrs: Attrs = {};
    if (o.alpha !== undefined) attrs.alpha = { f: o.alpha };
    if (o.beta !== undefined) attrs.beta = { f: o.beta };
    if (o.transA) attrs.transA = { i: 1 };
    if (o.transB) attrs.transB = { i: 1 };
    return this.op('Gemm', c ? [a, b, c] : [a, b], attrs);
  }
  conv(x: string, w: string, b?: string, attrs: ConvAttributes = {}): string {
    return this.op('Conv', b ? [x, w, b] : [x, w], convAttrs(attrs));
  }
  /** A 2D convolution with seeded weights [out, in/group, k, k] and bias; 'same' padding by default. */
  conv2d(x: string, inChannels: number, outChannels: number, kernel: number, o: { stride?: number; pad?: number; group?: number } = {}): string {
    const pad = o.pad ?? Math.floor(kernel / 2);
    const group = o.group ?? 1;
    const w = this.randomWeights([outChannels, inChannels / group, kernel, kernel]).name;
    const b = this.randomWeights([outChannels], 0.1).name;
    return this.conv(x, w, b, { strides: [o.stride ?? 1, o.stride ?? 1], pads: [pad, pad, pad, pad], group });
  }
  /** x @ W + b with seeded W [in, out] (x [..., in]). */
  linear(x: string, inFeatures: number, outFeatures: number, bias = true): string {
    const y = this.matMul(x, this.randomWeights([inFeatures, outFeatures], 1 / Math.sqrt(inFeatures)).name);
    return bias ? this.add(y, this.randomWeights([outFeatures], 0.1).name) : y;
  }

  // Shapes.
  reshape(x: string, shape: readonly number[]): string { return this.op('Reshape', [x, this.ints(shape)]); }
  transpose(x: string, perm: readonly number[]): string { return this.op('Transpose', [x], { perm: { ints: perm } }); }
  concat(inputs: readonly string[], axis: number): string { return this.op('Concat', inputs, { axis: { i: axis } }); }
  flatten(x: string, axis = 1): string { return this.op('Flatten', [x], { axis: { i: axis } }); }
  shape(x: string): string { return this.op('Shape', [x]); }
  gather(data: string, indices: string, axis = 0): string { return this.op('Gather', [data, indices], { axis: { i: axis } }); }
  expand(x: string, shape: readonly number[]): string { return this.op('Expand', [x, this.ints(shape)]); }
  unsqueeze(x: string, axes: readonly number[]): string {
    return this.opset >= 13 ? this.op('Unsqueeze', [x, this.ints(axes)]) : this.op('Unsqueeze', [x], { axes: { ints: axes } });
  }
  squeeze(x: string, axes: readonly number[]): string {
    return this.opset >= 13 ? this.op('Squeeze', [x, this.ints(axes)]) : this.op('Squeeze', [x], { axes: { ints: axes } });
  }
  slice(x: string, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): string {
    const inputs = [x, this.ints(starts), this.ints(ends)];
    if (axes || steps) inputs.push(this.ints(axes ?? starts.map((_, i) => i)));
    if (steps) inputs.push(this.ints(steps));
    return this.op('Slice', inputs);
  }
  /** Splits along `axis` into parts of the given sizes. */
  split(x: string, axis: number, sizes: readonly number[]): string[] {
    return this.opset >= 13
      ? this.node('Split', [x, this.ints(sizes)], { axis: { i: axis } }, sizes.length)
      : this.node('Split', [x], { axis: { i: axis }, split: { ints: sizes } }, sizes.length);
  }
  cast(x: string, to: TensorDType): string { return this.op('Cast', [x], { to: { i: ONNX_DATA_TYPE[to] } }); }
  /** Resize by per-axis scales ('nearest' floor/asymmetric repeats pixels; 'linear' is bilinear, half-pixel). */
  resize(x: string, scales: readonly number[], mode: 'nearest' | 'linear' = 'nearest'): string {
    const attrs: Attrs =
      mode === 'nearest'
        ? { mode: { s: 'nearest' }, nearest_mode: { s: 'floor' }, coordinate_transformation_mode: { s: 'asymmetric' } }
        : { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'half_pixel' } };
    return this.op('Resize', [x, '', this.initializer('float32', [scales.length], scales)], attrs);
  }

  // Reductions and normalisation.
  reduceMean(x: string, axes: readonly number[], keepdims = true): string {
    const keep = { keepdims: { i: keepdims ? 1 : 0 } };
    return this.opset >= 18
      ? this.op('ReduceMean', [x, this.ints(axes)], keep)
      : this.op('ReduceMean', [x], { axes: { ints: axes }, ...keep });
  }
  softmax(x: string, axis = -1): string { return this.op('Softmax', [x], { axis: { i: axis } }); }
  /** LayerNormalization (opset 17) over the last axes from `axis`. */
  layerNorm(x: string, scale: string, bias: string, axis = -1, epsilon = 1e-5): string {
    return this.op('LayerNormalization', [x, scale, bias], { axis: { i: axis }, epsilon: { f: epsilon } });
  }
  /** Layer norm from ReduceMean, Sub, Mul, Sqrt, Div (for opsets before 17). */
  layerNormDecomposed(x: string, scale: string, bias: string, axes: readonly number[] = [-1], epsilon = 1e-5): string {
    const centred = this.sub(x, this.reduceMean(x, axes));
    const variance = this.reduceMean(this.mul(centred, centred), axes);
    const normed = this.div(centred, this.sqrt(this.add(variance, this.constant(epsilon))));
    return this.add(this.mul(normed, scale), bias);
  }
  /**
   * Group norm on NCHW x as exported by PyTorch (Reshape to [N, G, -1], InstanceNormalization, Reshape back,
   * then per-channel scale and bias). `shape` is x's static shape.
   */
  groupNorm(x: string, shape: readonly [number, number, number, number], groups: number, epsilon = 1e-5): string {
    const [n, c, h, w] = shape;
    const grouped = this.reshape(x, [n, groups, -1]);
    const ones = this.constant(new Float32Array(groups).fill(1));
    const zeros = this.constant(new Float32Array(groups));
    const normed = this.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: { f: epsilon } });
    const back = this.reshape(normed, [n, c, h, w]);
    const gamma = this.randomWeights([c, 1, 1], 0.1).name;
    const beta = this.randomWeights([c, 1, 1], 0.1).name;
    return this.add(this.mul(back, this.add(gamma, this.constant(1))), beta);
  }
}
