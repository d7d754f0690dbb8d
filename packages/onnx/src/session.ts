/**
 * The one inference-session abstraction over onnxruntime-node: providers tried in order with every failure
 * reported at once, sensible session defaults, input/output introspection and errors that name the stage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { InferenceSession, type Tensor } from 'onnxruntime-node';
import { VaneliaError, type StageName } from '@vanelia/runtime';
import { applyFreeDimensionOverrides } from './free-dimensions';
import { dtypeFromOnnxName, type TensorInfo } from './tensor-info';
import { providerName, toOrtProvider, type ProviderConfig, type ProviderName } from './providers';

export interface SessionOptions {
  /** Execution providers, tried in order until one loads the model (default ['cpu']). */
  providers?: readonly ProviderConfig[];
  /** onnxruntime log level: 0 verbose … 3 error, 4 fatal (default 3, so warnings do not flood logs). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Graph optimisation level (default 'all'). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /** Sizes for symbolic dimensions, e.g. { batch: 2 }: static shapes run faster on WebGPU (default none). */
  freeDimensionOverrides?: Readonly<Record<string, number>>;
  /** Threads inside one operator on the CPU provider; 0 lets onnxruntime decide (default 0). */
  intraOpNumThreads?: number;
  /** Write an onnxruntime profile (Chrome trace JSON) when `endProfiling()` is called (default false). */
  enableProfiling?: boolean;
  /** File name prefix of the profile (default 'onnx-profile'). */
  profileFilePrefix?: string;
  /** Label used in errors and logs (default: the model file's name, or 'model'). */
  label?: string;
}

export const SESSION_DEFAULTS: Required<SessionOptions> = {
  providers: ['cpu'],
  logSeverityLevel: 3,
  graphOptimizationLevel: 'all',
  freeDimensionOverrides: {},
  intraOpNumThreads: 0,
  enableProfiling: false,
  profileFilePrefix: 'onnx-profile',
  label: '',
};

/** A model: a file path, or the serialized ModelProto. */
export type ModelSource = string | Uint8Array;

/** Why one provider could not load the model. */
export interface ProviderFailure {
  provider: ProviderName;
  message: string;
}

export type Feeds = Readonly<Record<string, Tensor>>;
export type Fetches = Record<string, Tensor>;

/** What the pipelines need from a session; tests may wrap one (e.g. to inject an out-of-memory failure). */
export interface InferenceRunner {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  run(feeds: Feeds, outputNames?: readonly string[]): Promise<Fetches>;
}

/** Merges options so that `undefined` never overrides a default. */
export function resolveSessionOptions(options: SessionOptions = {}): Required<SessionOptions> {
  const out = { ...SESSION_DEFAULTS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}

const OOM_PATTERN = /out of memory|failed to allocate|bad_alloc|OOM|insufficient memory|buffer size .* exceeds/i;

/** Whether an onnxruntime error says the device ran out of memory. */
export function isOutOfMemoryMessage(message: string): boolean {
  return OOM_PATTERN.test(message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class OnnxSession implements InferenceRunner {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];

  constructor(
    private readonly session: InferenceSession,
    readonly stage: StageName,
    readonly label: string,
    /** The provider that loaded the model. */
    readonly provider: ProviderName,
    /** Providers tried before it, and why they failed. */
    readonly providerFailures: readonly ProviderFailure[],
  ) {
    const info = (m: InferenceSession.ValueMetadata): TensorInfo =>
      m.isTensor
        ? { name: m.name, dtype: dtypeFromOnnxName(m.type), shape: [...m.shape] }
        : { name: m.name, dtype: undefined, shape: undefined };
    this.inputs = session.inputMetadata.map(info);
    this.outputs = session.outputMetadata.map(info);
  }

  input(name: string): TensorInfo | undefined {
    return this.inputs.find((i) => i.name === name);
  }

  output(name: string): TensorInfo | undefined {
    return this.outputs.find((o) => o.name === name);
  }

  /**
   * Runs the model. Errors become VaneliaErrors: reason OUT_OF_MEMORY (RESOURCE_EXHAUSTED, retryable) when the
   * device ran out of memory, INFERENCE_FAILED (INTERNAL) otherwise.
   */
  async run(feeds: Feeds, outputNames?: readonly string[]): Promise<Fetches> {
    try {
      const result = outputNames ? await this.session.run(feeds, outputNames) : await this.session.run(feeds);
      return result as Fetches;
    } catch (error) {
      const message = errorMessage(error);
      if (isOutOfMemoryMessage(message)) {
        throw new VaneliaError(this.stage, 'OUT_OF_MEMORY', `${this.label} ran out of device memory (${message}).`, {
          code: 'RESOURCE_EXHAUSTED',
          retryable: true,
          cause: error,
        });
      }
      throw new VaneliaError(this.stage, 'INFERENCE_FAILED', `${this.label} failed to run: ${message}.`, {
        code: 'INTERNAL',
        cause: error,
      });
    }
  }

  /** Ends profiling (when enabled) and writes the profile file; onnxruntime names it `<prefix>_<date>.json`. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function ortSessionOptions(o: Required<SessionOptions>, provider: ProviderConfig, externalDataDir?: string) {
  const options: InferenceSession.SessionOptions = {
    executionProviders: [toOrtProvider(provider) as InferenceSession.ExecutionProviderConfig],
    logSeverityLevel: o.logSeverityLevel,
    graphOptimizationLevel: o.graphOptimizationLevel,
    ...(o.intraOpNumThreads > 0 ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
    ...(o.enableProfiling ? { enableProfiling: true, profileFilePrefix: o.profileFilePrefix } : {}),
    ...(externalDataDir ? { extra: { session: { model_external_initializers_file_folder_path: externalDataDir } } } : {}),
  };
  return options;
}

/**
 * Loads a model with the first provider that accepts it. When none does, throws one VaneliaError
 * (MODEL_LOAD_FAILED, FAILED_PRECONDITION) that lists every provider's failure.
 */
export async function createSession(stage: StageName, model: ModelSource, options: SessionOptions = {}): Promise<OnnxSession> {
  const o = resolveSessionOptions(options);
  const label = o.label || (typeof model === 'string' ? basename(model) : 'model');
  if (typeof model === 'string' && !existsSync(model)) {
    throw new VaneliaError(stage, 'MODEL_NOT_FOUND', `model file ${model} does not exist.`, { code: 'NOT_FOUND' });
  }
  if (o.providers.length === 0) {
    throw new VaneliaError(stage, 'NO_PROVIDER', `no execution provider was given for ${label}.`);
  }
  let source: string | Uint8Array = model;
  let externalDataDir: string | undefined;
  if (Object.keys(o.freeDimensionOverrides).length > 0) {
    const bytes = typeof model === 'string' ? readFileSync(model) : model;
    source = applyFreeDimensionOverrides(bytes, o.freeDimensionOverrides).bytes;
    // Loaded from memory, the model finds external weight files only when told where they are.
    if (typeof model === 'string') externalDataDir = dirname(model);
  }
  const failures: ProviderFailure[] = [];
  for (const provider of o.providers) {
    try {
      const ortOptions = ortSessionOptions(o, provider, externalDataDir);
      const session =
        typeof source === 'string'
          ? await InferenceSession.create(source, ortOptions)
          : await InferenceSession.create(source, ortOptions);
      return new OnnxSession(session, stage, label, providerName(provider), failures);
    } catch (error) {
      failures.push({ provider: providerName(provider), message: errorMessage(error) });
    }
  }
  const detail = failures.map((f) => `${f.provider}: ${f.message}`).join('; ');
  throw new VaneliaError(stage, 'MODEL_LOAD_FAILED', `no execution provider could load ${label} (${detail}).`, {
    code: 'FAILED_PRECONDITION',
    cause: new AggregateError(failures.map((f) => new Error(`${f.provider}: ${f.message}`))),
  });
}
