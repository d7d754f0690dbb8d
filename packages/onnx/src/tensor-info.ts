/** Names, element types and shapes of a model's inputs and outputs, and checks against an expected contract. */
import type { Dim, TensorDType } from './proto/onnx-types';

export interface TensorInfo {
  name: string;
  /** Undefined for non-tensor values or element types we do not name. */
  dtype: TensorDType | undefined;
  /** Fixed sizes and symbolic names; undefined when unknown. */
  shape: Dim[] | undefined;
}

const ORT_NAMES = new Set<string>([
  'float32', 'float16', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string',
]);

/** The dtype of an onnxruntime type name ('float32', 'float16' …). */
export function dtypeFromOnnxName(name: string): TensorDType | undefined {
  return ORT_NAMES.has(name) ? (name as TensorDType) : undefined;
}

/** One input or output a model must have. */
export interface TensorContract {
  name: string;
  /** Accepted element types. */
  dtypes: readonly TensorDType[];
  /**
   * Expected shape: a number must match a fixed dimension (a symbolic dimension is accepted: it is resolved at
   * run time); null accepts any size. Undefined skips the shape check.
   */
  shape?: readonly (number | null)[];
}

function formatShape(shape: readonly (Dim | null)[] | undefined): string {
  return shape === undefined ? 'unknown' : `[${shape.map((d) => (d === null ? '*' : d)).join(', ')}]`;
}

/**
 * Problems of `actual` against `expected`, one sentence each (empty when it conforms); `what` names the model
 * in the sentences. Extra inputs are problems (the caller cannot feed them); extra outputs are not.
 */
export function checkTensors(
  what: string,
  kind: 'input' | 'output',
  actual: readonly TensorInfo[],
  expected: readonly TensorContract[],
): string[] {
  const problems: string[] = [];
  for (const want of expected) {
    const got = actual.find((a) => a.name === want.name);
    if (!got) {
      const names = actual.map((a) => a.name).join(', ') || 'none';
      problems.push(`${what} has no ${kind} "${want.name}" (its ${kind}s: ${names})`);
      continue;
    }
    if (!got.dtype || !want.dtypes.includes(got.dtype)) {
      problems.push(`${what} ${kind} "${want.name}" is ${got.dtype ?? 'of an unsupported type'}, expected ${want.dtypes.join(' or ')}`);
    }
    if (want.shape === undefined) continue;
    const shape = got.shape;
    const matches =
      shape !== undefined &&
      shape.length === want.shape.length &&
      want.shape.every((d, i) => d === null || typeof shape[i] === 'string' || shape[i] === d);
    if (!matches) {
      problems.push(`${what} ${kind} "${want.name}" has shape ${formatShape(shape)}, expected ${formatShape(want.shape)}`);
    }
  }
  if (kind === 'input') {
    for (const extra of actual.filter((a) => !expected.some((e) => e.name === a.name))) {
      problems.push(`${what} has an unexpected input "${extra.name}"`);
    }
  }
  return problems;
}
