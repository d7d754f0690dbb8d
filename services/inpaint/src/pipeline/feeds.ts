/** Tensors in the dtype each model input declares (float16 or float32 models, any timestep type). */
import { Tensor, floatTensor, tensorToFloat32, type InferenceRunner } from '@vanelia/onnx';
import { VaneliaError } from '@vanelia/runtime';

function inputDtype(runner: InferenceRunner, name: string): string {
  const info = runner.inputs.find((i) => i.name === name);
  if (!info?.dtype) throw new VaneliaError('inpaint', 'MODEL_CONTRACT', `the model has no tensor input "${name}".`, { code: 'FAILED_PRECONDITION' });
  return info.dtype;
}

/** A float input from float32 values, converted to the input's type. */
export function floatFeed(runner: InferenceRunner, name: string, values: Float32Array, dims: readonly number[]): Tensor {
  return floatTensor(inputDtype(runner, name) === 'float16' ? 'float16' : 'float32', values, dims);
}

/** The timestep input: `count` copies of `t` in whatever type the model takes. */
export function timestepFeed(runner: InferenceRunner, t: number, count: number): Tensor {
  const dtype = inputDtype(runner, 'timestep');
  if (dtype === 'int64') return new Tensor('int64', new BigInt64Array(count).fill(BigInt(t)), [count]);
  if (dtype === 'int32') return new Tensor('int32', new Int32Array(count).fill(t), [count]);
  return floatFeed(runner, 'timestep', new Float32Array(count).fill(t), [count]);
}

/** Token ids in the input's integer type. */
export function idsFeed(runner: InferenceRunner, ids: readonly number[], dims: readonly number[]): Tensor {
  return inputDtype(runner, 'input_ids') === 'int32'
    ? new Tensor('int32', Int32Array.from(ids), dims)
    : new Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), dims);
}

/** A tensor passed from one model to another, converted only if the input's type differs. */
export function passFeed(runner: InferenceRunner, name: string, tensor: Tensor): Tensor {
  const want = inputDtype(runner, name);
  return tensor.type === want ? tensor : floatFeed(runner, name, tensorToFloat32(tensor), tensor.dims);
}

/** An output's values as float32. */
export function outputValues(outputs: Record<string, Tensor>, name: string): Float32Array {
  const t = outputs[name];
  if (!t) throw new VaneliaError('inpaint', 'MODEL_CONTRACT', `the model gave no output "${name}".`, { code: 'FAILED_PRECONDITION' });
  return tensorToFloat32(t);
}
