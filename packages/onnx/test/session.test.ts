import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VaneliaError } from '@vanelia/runtime';
import {
  ModelBuilder,
  Tensor,
  applyFreeDimensionOverrides,
  checkTensors,
  createSession,
  isOutOfMemoryMessage,
  parseProviderList,
  providerListEnv,
  readModelHeader,
  readModelHeaderFromBytes,
  resolveSessionOptions,
} from '@vanelia/onnx';

function doubler(): Uint8Array {
  const g = new ModelBuilder();
  const x = g.input('x', 'float32', ['batch', 2]);
  g.output(g.mul(x, g.constant(2)), 'y', 'float32', ['batch', 2]);
  return g.build();
}

describe('createSession', () => {
  it('falls back through the providers in order and keeps every failure', async () => {
    const session = await createSession('pose', doubler(), { providers: ['cuda', { name: 'tensorrt', deviceId: 0 }, 'cpu'] });
    expect(session.provider).toBe('cpu');
    expect(session.providerFailures.map((f) => f.provider)).toEqual(['cuda', 'tensorrt']);
    expect(session.providerFailures.every((f) => f.message.length > 0)).toBe(true);
    const out = await session.run({ x: new Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([2, 4, 6, 8]);
    await session.release();
  });

  it('reports all failures at once, with the stage, when no provider loads the model', async () => {
    const error = await createSession('pose', doubler(), { providers: ['cuda', 'tensorrt'], label: 'encoder.onnx' }).catch((e) => e);
    expect(error).toBeInstanceOf(VaneliaError);
    expect(error.reason).toBe('MODEL_LOAD_FAILED');
    expect(error.code).toBe('FAILED_PRECONDITION');
    expect(error.message).toMatch(/^pose: no execution provider could load encoder\.onnx \(cuda: .+; tensorrt: .+\)\.$/);
  });

  it('names a missing model file and rejects a corrupt model', async () => {
    await expect(createSession('inpaint', '/nonexistent/unet.onnx')).rejects.toMatchObject({ reason: 'MODEL_NOT_FOUND', code: 'NOT_FOUND' });
    await expect(createSession('inpaint', Uint8Array.from([8, 1, 0xff]))).rejects.toMatchObject({ reason: 'MODEL_LOAD_FAILED' });
  });

  it('introspects inputs and outputs and fixes free dimensions', async () => {
    const loose = await createSession('inpaint', doubler());
    expect(loose.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 2] }]);
    expect(loose.output('y')?.shape).toEqual(['batch', 2]);
    const fixed = await createSession('inpaint', doubler(), { freeDimensionOverrides: { batch: 3 } });
    expect(fixed.inputs[0].shape).toEqual([3, 2]);
    expect(fixed.outputs[0].shape).toEqual([3, 2]);
    const error = await fixed.run({ x: new Tensor('float32', new Float32Array(4), [2, 2]) }).catch((e) => e);
    expect(error).toMatchObject({ reason: 'INFERENCE_FAILED', code: 'INTERNAL' });
    expect(error.message).toMatch(/^inpaint: model failed to run: .+/);
  });

  it('applies free dimension overrides to a model file with its weights beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-session-'));
    const file = join(dir, 'doubler.onnx');
    writeFileSync(file, doubler());
    const session = await createSession('inpaint', file, { freeDimensionOverrides: { batch: 1 } });
    expect(session.label).toBe('doubler.onnx');
    expect(session.inputs[0].shape).toEqual([1, 2]);
  });

  it('loads weights kept in an external data file, also when free dimensions are fixed', async () => {
    const g = new ModelBuilder({ seed: 4 });
    const x = g.input('x', 'float32', ['batch', 64]);
    const w = g.randomWeights([64, 64]);
    g.output(g.matMul(x, w.name), 'y', 'float32', ['batch', 64]);
    const { model, data } = g.buildWithExternalData('weights.bin', {}, 1024);
    expect(data.length).toBe(64 * 64 * 4);
    expect(model.length).toBeLessThan(1024);
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-external-'));
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'weights.bin'), data);
    expect(readModelHeader(join(dir, 'model.onnx'))).toMatchObject({ hasExternalData: true, externalDataFiles: ['weights.bin'] });
    const input = Float32Array.from({ length: 64 }, (_, i) => (i % 7) - 3);
    const expected = Float32Array.from({ length: 64 }, (_, j) => input.reduce((s, v, k) => s + v * w.values[k * 64 + j], 0));
    for (const options of [{}, { freeDimensionOverrides: { batch: 1 } }]) {
      const session = await createSession('inpaint', join(dir, 'model.onnx'), options);
      const out = await session.run({ x: new Tensor('float32', input, [1, 64]) });
      const got = out.y.data as Float32Array;
      expect(Math.max(...got.map((v, i) => Math.abs(v - expected[i])))).toBeLessThan(1e-4);
      await session.release();
    }
  });

  it('writes an onnxruntime profile when profiling is on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vanelia-profile-'));
    const session = await createSession('inpaint', doubler(), { enableProfiling: true, profileFilePrefix: join(dir, 'p') });
    await session.run({ x: new Tensor('float32', new Float32Array(2), [1, 2]) });
    session.endProfiling();
    const files = readdirSync(dir).filter((f) => f.startsWith('p') && f.endsWith('.json'));
    expect(files.length).toBe(1);
    expect(existsSync(join(dir, files[0]))).toBe(true);
  });
});

describe('session helpers', () => {
  it('merges options without letting undefined override defaults', () => {
    const o = resolveSessionOptions({ logSeverityLevel: undefined, providers: ['webgpu'] });
    expect(o.logSeverityLevel).toBe(3);
    expect(o.providers).toEqual(['webgpu']);
    expect(o.graphOptimizationLevel).toBe('all');
  });

  it('parses provider lists and names unknown providers', () => {
    expect(parseProviderList(' WebGPU, cpu ')).toEqual(['webgpu', 'cpu']);
    expect(() => parseProviderList('metal,cpu')).toThrow(/unknown execution provider metal/);
    expect(() => parseProviderList(' , ')).toThrow(/empty/);
    expect(providerListEnv('cpu')(undefined, 'X_PROVIDERS')).toEqual(['cpu']);
    expect(() => providerListEnv('cpu')('gpu', 'X_PROVIDERS')).toThrow(/^X_PROVIDERS: unknown execution provider gpu/);
  });

  it('recognises out-of-memory messages', () => {
    expect(isOutOfMemoryMessage('Failed to allocate memory for requested buffer of size 123')).toBe(true);
    expect(isOutOfMemoryMessage('CUDA failure 2: out of memory')).toBe(true);
    expect(isOutOfMemoryMessage('Invalid rank for input: x')).toBe(false);
  });

  it('checks tensors against a contract, one sentence a problem', () => {
    const actual = readModelHeaderFromBytes(doubler()).inputs;
    expect(checkTensors('unet', 'input', actual, [{ name: 'x', dtypes: ['float32', 'float16'], shape: [2, 2] }])).toEqual([]);
    expect(checkTensors('unet', 'input', actual, [{ name: 'x', dtypes: ['float16'], shape: [2, 3] }])).toEqual([
      'unet input "x" is float32, expected float16',
      'unet input "x" has shape [batch, 2], expected [2, 3]',
    ]);
    expect(checkTensors('unet', 'input', actual, [{ name: 'sample', dtypes: ['float32'] }])).toEqual([
      'unet has no input "sample" (its inputs: x)',
      'unet has an unexpected input "x"',
    ]);
  });

  it('leaves names it is not asked to fix', () => {
    const { bytes, applied } = applyFreeDimensionOverrides(doubler(), { height: 64 });
    expect(applied).toEqual([]);
    expect(readModelHeaderFromBytes(bytes).inputs[0].shape).toEqual(['batch', 2]);
  });
});
