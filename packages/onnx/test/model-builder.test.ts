import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelBuilder, Tensor, createSession, float16ToFloat32, float32ToFloat16, readModelHeader, type TensorDType } from '@vanelia/onnx';
import { conv2dReference, erf, matMulReference, maxAbsDiff, normalizeRuns, range } from './reference';

async function runModel(g: ModelBuilder, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await createSession('inpaint', g.build());
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

const f32 = (data: Float32Array, dims: number[]) => new Tensor('float32', data, dims);
const values = (t: Tensor) => t.data as Float32Array;

describe('ModelBuilder', () => {
  it('builds Conv (stride, pads, bias) + Relu that matches a hand convolution', async () => {
    const g = new ModelBuilder({ seed: 11 });
    const x = g.input('x', 'float32', [1, 2, 5, 6]);
    const w = g.randomWeights([3, 2, 3, 3]);
    const b = g.randomWeights([3], 0.5);
    const conv = g.conv(x, w.name, b.name, { strides: [2, 2], pads: [1, 1, 1, 1] });
    g.output(conv, 'conv', 'float32');
    g.output(g.relu(conv), 'relu', 'float32');
    const input = range(60, 0.1, -3);
    const out = await runModel(g, { x: f32(input, [1, 2, 5, 6]) });
    const ref = conv2dReference(input, [1, 2, 5, 6], w.values, [3, 2, 3, 3], b.values, 2, 1);
    expect(out.conv.dims).toEqual(ref.dims);
    expect(maxAbsDiff(values(out.conv), ref.data)).toBeLessThan(1e-5);
    expect(maxAbsDiff(values(out.relu), ref.data.map((v) => Math.max(0, v)))).toBeLessThan(1e-5);
    expect(ref.data.some((v) => v < 0)).toBe(true); // the Relu has something to do
  });

  it('builds MatMul + Add and Gemm (transB, alpha, beta) against hand products', async () => {
    const g = new ModelBuilder({ seed: 2 });
    const a = g.input('a', 'float32', [2, 3]);
    const w = g.randomWeights([3, 4]);
    const bias = g.randomWeights([4]);
    g.output(g.add(g.matMul(a, w.name), bias.name), 'mm', 'float32');
    const wt = g.randomWeights([4, 3]);
    const c = g.randomWeights([4]);
    g.output(g.gemm(a, wt.name, c.name, { transB: true, alpha: 0.5, beta: 2 }), 'gemm', 'float32');
    const input = range(6, 0.5, -1);
    const out = await runModel(g, { a: f32(input, [2, 3]) });
    const mm = matMulReference(input, w.values, 2, 3, 4).map((v, i) => v + bias.values[i % 4]);
    expect(maxAbsDiff(values(out.mm), mm)).toBeLessThan(1e-5);
    const wtT = Float32Array.from({ length: 12 }, (_, i) => wt.values[(i % 4) * 3 + Math.floor(i / 4)]);
    const gemm = matMulReference(input, wtT, 2, 3, 4).map((v, i) => 0.5 * v + 2 * c.values[i % 4]);
    expect(maxAbsDiff(values(out.gemm), gemm)).toBeLessThan(1e-5);
  });

  it('builds activations: Sigmoid, Tanh, SiLU, GELU, Softmax', async () => {
    const g = new ModelBuilder();
    const x = g.input('x', 'float32', [2, 4]);
    g.output(g.sigmoid(x), 'sigmoid', 'float32');
    g.output(g.tanh(x), 'tanh', 'float32');
    g.output(g.silu(x), 'silu', 'float32');
    g.output(g.gelu(x), 'gelu', 'float32');
    g.output(g.softmax(x, -1), 'softmax', 'float32');
    const input = range(8, 0.7, -2.8);
    const out = await runModel(g, { x: f32(input, [2, 4]) });
    const sig = input.map((v) => 1 / (1 + Math.exp(-v)));
    expect(maxAbsDiff(values(out.sigmoid), sig)).toBeLessThan(1e-6);
    expect(maxAbsDiff(values(out.tanh), input.map(Math.tanh))).toBeLessThan(1e-6);
    expect(maxAbsDiff(values(out.silu), input.map((v, i) => v * sig[i]))).toBeLessThan(1e-6);
    expect(maxAbsDiff(values(out.gelu), input.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))))).toBeLessThan(1e-5);
    const soft = new Float32Array(8);
    for (let r = 0; r < 2; r++) {
      const row = input.slice(r * 4, r * 4 + 4);
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((p, q) => p + q, 0);
      e.forEach((v, i) => (soft[r * 4 + i] = v / sum));
    }
    expect(maxAbsDiff(values(out.softmax), soft)).toBeLessThan(1e-6);
  });

  it('builds shape ops: Reshape, Transpose, Concat, Slice, Split, Identity, Cast, Unsqueeze', async () => {
    const g = new ModelBuilder();
    const x = g.input('x', 'float32', [2, 3]);
    g.output(g.transpose(g.reshape(x, [3, 2]), [1, 0]), 'rt', 'float32');
    g.output(g.concat([x, g.identity(x)], 0), 'cat', 'float32');
    g.output(g.slice(x, [0, 1], [2, 3], [0, 1], [1, 1]), 'slice', 'float32');
    const [left, right] = g.split(x, 1, [1, 2]);
    g.output(left, 'left', 'float32');
    g.output(right, 'right', 'float32');
    g.output(g.cast(x, 'int32'), 'int', 'int32');
    g.output(g.unsqueeze(x, [0]), 'unsq', 'float32');
    const input = Float32Array.from([0.4, 1.6, -2.2, 3, 4, 5]);
    const out = await runModel(g, { x: f32(input, [2, 3]) });
    // reshape [3,2] = [[.4,1.6],[-2.2,3],[4,5]] -> transpose [2,3]
    expect(Array.from(values(out.rt))).toEqual(Array.from(Float32Array.from([0.4, -2.2, 4, 1.6, 3, 5])));
    expect(out.cat.dims).toEqual([4, 3]);
    expect(Array.from(values(out.slice))).toEqual(Array.from(Float32Array.from([1.6, -2.2, 4, 5])));
    expect(Array.from(values(out.left))).toEqual(Array.from(Float32Array.from([0.4, 3])));
    expect(out.right.dims).toEqual([2, 2]);
    expect(Array.from(out.int.data as Int32Array)).toEqual([0, 1, -2, 3, 4, 5]);
    expect(out.unsq.dims).toEqual([1, 2, 3]);
  });

  it('builds Resize (nearest repeats pixels) and ReduceMean', async () => {
    const g = new ModelBuilder();
    const x = g.input('x', 'float32', [1, 1, 2, 2]);
    g.output(g.resize(x, [1, 1, 2, 2]), 'up', 'float32');
    g.output(g.reduceMean(x, [2, 3]), 'mean', 'float32');
    const out = await runModel(g, { x: f32(Float32Array.from([1, 2, 3, 4]), [1, 1, 2, 2]) });
    expect(Array.from(values(out.up))).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(Array.from(values(out.mean))).toEqual([2.5]);
  });

  it('builds LayerNormalization, its decomposition and group norm, all matching the hand normalisation', async () => {
    const g = new ModelBuilder({ seed: 5 });
    const x = g.input('x', 'float32', [1, 4, 2, 3]);
    const scale = g.randomWeights([3]);
    const bias = g.randomWeights([3]);
    g.output(g.layerNorm(x, scale.name, bias.name, -1, 1e-5), 'ln', 'float32');
    g.output(g.layerNormDecomposed(x, scale.name, bias.name, [-1], 1e-5), 'lnd', 'float32');
    g.output(g.groupNorm(x, [1, 4, 2, 3], 2, 1e-5), 'gn', 'float32');
    const input = range(24, 0.37, -4).map((v) => v * v * 0.3 - v);
    const out = await runModel(g, { x: f32(input, [1, 4, 2, 3]) });
    const ln = normalizeRuns(input, 3, 1e-5, scale.values, bias.values);
    expect(maxAbsDiff(values(out.ln), ln)).toBeLessThan(1e-4);
    expect(maxAbsDiff(values(out.lnd), ln)).toBeLessThan(1e-4);
    // group norm: 2 groups of 2 channels x 6 pixels, then per-channel affine; check normalised statistics.
    const gn = values(out.gn);
    const plain = normalizeRuns(input, 12, 1e-5);
    for (let c = 0; c < 4; c++) {
      const got = gn.slice(c * 6, c * 6 + 6);
      const ref = plain.slice(c * 6, c * 6 + 6);
      // got = ref * (1 + g_c) + b_c: the same affine map for every pixel of a channel.
      const slope = (got[5] - got[0]) / (ref[5] - ref[0]);
      const offset = got[0] - slope * ref[0];
      expect(maxAbsDiff(got, ref.map((v) => v * slope + offset))).toBeLessThan(1e-4);
    }
  });

  it('builds float16 models whose outputs match the float32 computation within half precision', async () => {
    const g = new ModelBuilder({ seed: 9, floatType: 'float16' });
    const x = g.input('x', 'float16', [1, 3, 4, 4]);
    const w = g.randomWeights([2, 3, 3, 3]);
    const b = g.randomWeights([2], 0.1);
    g.output(g.sigmoid(g.conv(x, w.name, b.name, { pads: [1, 1, 1, 1] })), 'y', 'float16');
    const input = range(48, 0.05, -1.2);
    const out = await runModel(g, { x: new Tensor('float16', float32ToFloat16(input), [1, 3, 4, 4]) });
    expect(out.y.type).toBe('float16');
    // The weights are stored in half precision: compare with those rounded values.
    const wHalf = float16ToFloat32(float32ToFloat16(w.values));
    const bHalf = float16ToFloat32(float32ToFloat16(b.values));
    const xHalf = float16ToFloat32(float32ToFloat16(input));
    const ref = conv2dReference(xHalf, [1, 3, 4, 4], wHalf, [2, 3, 3, 3], bHalf, 1, 1).data.map((v) => 1 / (1 + Math.exp(-v)));
    expect(maxAbsDiff(float16ToFloat32(out.y.data as Uint16Array), ref)).toBeLessThan(2e-3);
  });

  it('writes a model file whose header reads back: opset, IR version, metadata, inputs and outputs', () => {
    const g = new ModelBuilder({ opset: 17 });
    const ids = g.input('input_ids', 'int64', ['batch', 77]);
    const table = g.randomWeights([10, 4]);
    g.output(g.gather(table.name, ids), 'hidden', 'float32', ['batch', 77, 4]);
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-onnx-'));
    const file = join(dir, 'm.onnx');
    writeFileSync(file, g.build({ role: 'text_encoder' }));
    const header = readModelHeader(file);
    expect(header.opsets['']).toBe(17);
    expect(header.irVersion).toBe(8);
    expect(header.metadata).toEqual({ role: 'text_encoder' });
    expect(header.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([['input_ids', 'int64' as TensorDType, ['batch', 77]]]);
    expect(header.outputs[0]).toMatchObject({ name: 'hidden', dtype: 'float32', shape: ['batch', 77, 4] });
    expect(header.initializerCount).toBe(1);
    expect(header.hasExternalData).toBe(false);
  });

  it('rejects initializers whose value count does not match their shape', () => {
    const g = new ModelBuilder();
    expect(() => g.initializer('float32', [2, 2], [1, 2, 3])).toThrow(/3 values for an initializer of shape \[2, 2\]/);
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
  });
});
