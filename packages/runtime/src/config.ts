import { VaneliaError, type StageName } from './errors';
import type { LogLevel } from './logger';

/** One environment variable's parser: returns the value or throws a sentence saying what is wrong. */
export type EnvParser<T> = (raw: string | undefined, name: string) => T;

function invalid(name: string, raw: string, expected: string): Error {
  return new Error(`${name}=${JSON.stringify(raw)} is not ${expected}`);
}

export const env = {
  string:
    (fallback?: string): EnvParser<string> =>
    (raw, name) => {
      if (raw !== undefined && raw !== '') return raw;
      if (fallback === undefined) throw new Error(`${name} is required`);
      return fallback;
    },
  int:
    (fallback: number | undefined, range: { min?: number; max?: number } = {}): EnvParser<number> =>
    (raw, name) => {
      if (raw === undefined || raw === '') {
        if (fallback === undefined) throw new Error(`${name} is required`);
        return fallback;
      }
      const value = Number(raw);
      if (!Number.isInteger(value)) throw invalid(name, raw, 'an integer');
      if (range.min !== undefined && value < range.min) throw invalid(name, raw, `>= ${range.min}`);
      if (range.max !== undefined && value > range.max) throw invalid(name, raw, `<= ${range.max}`);
      return value;
    },
  bool:
    (fallback: boolean): EnvParser<boolean> =>
    (raw, name) => {
      if (raw === undefined || raw === '') return fallback;
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw invalid(name, raw, 'a boolean (true/false)');
    },
  oneOf:
    <T extends string>(values: readonly T[], fallback: T): EnvParser<T> =>
    (raw, name) => {
      if (raw === undefined || raw === '') return fallback;
      if (!(values as readonly string[]).includes(raw)) throw invalid(name, raw, `one of ${values.join(', ')}`);
      return raw as T;
    },
  absolutePath:
    (fallback: string): EnvParser<string> =>
    (raw, name) => {
      if (raw === undefined || raw === '') return fallback;
      if (!raw.startsWith('/')) throw invalid(name, raw, 'an absolute path');
      return raw;
    },
  list:
    (fallback: string[] = []): EnvParser<string[]> =>
    (raw) =>
      raw === undefined || raw === '' ? fallback : raw.split(',').map((s) => s.trim()).filter(Boolean),
};

export type ConfigSchema = Record<string, EnvParser<unknown>>;
export type ConfigOf<S extends ConfigSchema> = { [K in keyof S]: S[K] extends EnvParser<infer T> ? T : never };

/**
 * Parses `source` (process.env by default) against `schema` once, collecting every problem so a
 * misconfigured pod reports all of them in one line.
 */
export function loadConfig<S extends ConfigSchema>(
  stage: StageName,
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, parse] of Object.entries(schema)) {
    try {
      out[name] = parse(source[name], name);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) {
    throw new VaneliaError(stage, 'INVALID_CONFIG', `invalid configuration: ${problems.join('; ')}.`, {
      code: 'FAILED_PRECONDITION',
    });
  }
  return out as ConfigOf<S>;
}

/** Default gRPC ports of the mesh. */
export const DEFAULT_PORTS: Record<Exclude<StageName, 'cli'>, number> = {
  gateway: 50050,
  decoder: 50051,
  pose: 50052,
  compositor: 50053,
  inpaint: 50054,
};

/** Settings every service has. */
export function baseServiceSchema(stage: Exclude<StageName, 'cli'>) {
  return {
    VANELIA_HOST: env.string('0.0.0.0'),
    VANELIA_PORT: env.int(DEFAULT_PORTS[stage], { min: 0, max: 65535 }),
    VANELIA_METRICS_PORT: env.int(9464, { min: 0, max: 65535 }),
    VANELIA_STORAGE_ROOT: env.string('/var/lib/vanelia'),
    VANELIA_LOG_LEVEL: env.oneOf<LogLevel>(['debug', 'info', 'warn', 'error', 'silent'], 'info'),
    VANELIA_SHUTDOWN_GRACE_MS: env.int(30_000, { min: 0 }),
    ...frameMemorySchema(),
  };
}

/**
 * The shared-memory frame transport (frame-memory.ts): a folder that processes on one machine share
 * (tmpfs); unset = off, frames travel inside the gRPC messages.
 */
export function frameMemorySchema() {
  return {
    VANELIA_FRAME_MEMORY_DIR: env.absolutePath(''),
    // A process's frame folder untouched this long is a dead process's: the sweeper deletes its files.
    VANELIA_FRAME_MEMORY_MAX_AGE_MS: env.int(10 * 60_000, { min: 1000 }),
    // Bytes of one call's frames that may wait unread in the folder before the sender waits (backpressure).
    VANELIA_FRAME_MEMORY_CALL_BYTES: env.int(128 * 1024 * 1024, { min: 1024 * 1024 }),
  };
}

export type FrameMemoryConfig = ConfigOf<ReturnType<typeof frameMemorySchema>>;

export type BaseServiceConfig = ConfigOf<ReturnType<typeof baseServiceSchema>>;
