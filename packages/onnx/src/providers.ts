/**
 * Execution providers as onnxruntime models them: a union of option objects keyed by `name`, a bare name also
 * accepted. A session tries them in the order given.
 */

export type ProviderName = 'cpu' | 'webgpu' | 'cuda' | 'tensorrt';

export const PROVIDER_NAMES: readonly ProviderName[] = ['cpu', 'webgpu', 'cuda', 'tensorrt'];

export interface CpuProviderOptions {
  readonly name: 'cpu';
  /** Use onnxruntime's CPU memory arena (default true). */
  useArena?: boolean;
}

export interface WebGpuProviderOptions {
  readonly name: 'webgpu';
  /** Layout for layout-sensitive kernels (ORT default NCHW). */
  preferredLayout?: 'NCHW' | 'NHWC';
  /** Validation of WebGPU calls (ORT default 'basic'; 'disabled' may crash the process on GPU errors). */
  validationMode?: 'disabled' | 'wgpuOnly' | 'basic' | 'full';
  /** Reuse of storage buffers (ORT default 'bucket'; 'simple' suits static shapes). */
  storageBufferCacheMode?: 'disabled' | 'lazyRelease' | 'simple' | 'bucket';
  /** Record the run once and replay it (static shapes only). */
  enableGraphCapture?: boolean;
  /** Node names forced onto the CPU. */
  forceCpuNodeNames?: readonly string[];
}

export interface CudaProviderOptions {
  readonly name: 'cuda';
  /** GPU ordinal (default 0). */
  deviceId?: number;
}

export interface TensorRtProviderOptions {
  readonly name: 'tensorrt';
  /** GPU ordinal (default 0). */
  deviceId?: number;
}

export type ProviderOptions = CpuProviderOptions | WebGpuProviderOptions | CudaProviderOptions | TensorRtProviderOptions;

/** A provider by name or with options. */
export type ProviderConfig = ProviderName | ProviderOptions;

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

/** The option object for a provider config (a bare name becomes `{ name }`). */
export function providerOptions(config: ProviderConfig): ProviderOptions {
  return typeof config === 'string' ? ({ name: config } as ProviderOptions) : config;
}

export function providerName(config: ProviderConfig): ProviderName {
  return typeof config === 'string' ? config : config.name;
}

/**
 * Parses a comma-separated provider list as settings give it ("webgpu,cpu"); throws a TypeError naming the
 * unknown entries so config validation can report them.
 */
export function parseProviderList(text: string): ProviderName[] {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
  const unknown = names.filter((n) => !isProviderName(n));
  if (unknown.length > 0) {
    throw new TypeError(`unknown execution provider ${unknown.join(', ')} (known: ${PROVIDER_NAMES.join(', ')})`);
  }
  if (names.length === 0) throw new TypeError('the execution provider list is empty');
  return names as ProviderName[];
}

/**
 * An environment-variable parser for a provider list (fits @vanelia/runtime's `loadConfig` schemas): unset or
 * empty gives `fallback`; errors name the variable.
 */
export function providerListEnv(fallback: string): (raw: string | undefined, name: string) => ProviderName[] {
  return (raw, name) => {
    try {
      return parseProviderList(raw === undefined || raw === '' ? fallback : raw);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  };
}

/** The shape onnxruntime-node's session options expect for one provider. */
export function toOrtProvider(config: ProviderConfig): { name: string } & Record<string, unknown> {
  const options = providerOptions(config);
  const out: { name: string } & Record<string, unknown> = { name: options.name };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value;
  return out;
}
