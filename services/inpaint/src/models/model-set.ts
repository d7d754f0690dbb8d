/**
 * An opened model folder: manifest, tokenizer and onnxruntime sessions created on demand for the shapes a job
 * needs (batch and image size fixed through free-dimension overrides, so every run has static shapes). Only
 * one shape is kept per role: asking for another releases the old session and its device memory.
 */
import { createSession, type InferenceRunner, type ProviderConfig, type SessionOptions } from '@vanelia/onnx';
import { VaneliaError, silentLogger, type Logger } from '@vanelia/runtime';
import { loadClipTokenizer } from '../tokenizer/tokenizer-files';
import type { ClipTokenizer } from '../tokenizer/clip-tokenizer';
import { checkModelFolder } from './model-check';
import { dimensionOverrides } from './model-contract';
import { resolveInFolder, type ModelManifest, type ModelRole } from './model-manifest';

/** A session the set can release. */
export interface ManagedRunner extends InferenceRunner {
  release(): Promise<void>;
  /** Provider that runs it, when known. */
  readonly provider?: string;
}

/** Creates a session; tests substitute one (e.g. to inject out-of-memory failures). */
export type SessionFactory = (role: ModelRole, file: string, options: SessionOptions) => Promise<ManagedRunner>;

export interface ModelSetOptions {
  /** Execution providers, tried in order (default ['cpu']). */
  providers?: readonly ProviderConfig[];
  /** Session options passed to every session (providers and overrides are set by the set). */
  sessionOptions?: Omit<SessionOptions, 'providers' | 'freeDimensionOverrides' | 'label'>;
  /** How sessions are made (default: createSession from @vanelia/onnx). */
  sessionFactory?: SessionFactory;
  logger?: Logger;
}

export const defaultSessionFactory: SessionFactory = (role, file, options) =>
  createSession('inpaint', file, { ...options, label: `${role} model` });

export class ModelSet {
  private readonly sessions = new Map<ModelRole, { key: string; runner: Promise<ManagedRunner> }>();
  private lastProvider = '';

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly tokenizer: ClipTokenizer,
    private readonly options: ModelSetOptions,
  ) {}

  /** Opens a folder after checking it; throws MODELS_INVALID (FAILED_PRECONDITION) listing every problem. */
  static async open(dir: string, options: ModelSetOptions = {}): Promise<ModelSet> {
    const report = await checkModelFolder(dir);
    if (!report.ok || !report.manifest) {
      throw new VaneliaError('inpaint', 'MODELS_INVALID', `the models in ${dir} cannot be used: ${report.problems.join('; ')}.`, {
        code: 'FAILED_PRECONDITION',
      });
    }
    const tokenizer = loadClipTokenizer(resolveInFolder(dir, report.manifest.tokenizer));
    return new ModelSet(dir, report.manifest, tokenizer, options);
  }

  /** The provider of the most recently created session ('' before any). */
  get provider(): string {
    return this.lastProvider;
  }

  /** The session of `role` for this batch and image size (pixels; ignored by the text encoder). */
  async session(role: ModelRole, batch: number, heightPx = 0, widthPx = 0): Promise<InferenceRunner> {
    const key = `${batch}x${heightPx}x${widthPx}`;
    const current = this.sessions.get(role);
    if (current?.key === key) return current.runner;
    if (current) {
      this.sessions.delete(role);
      await (await current.runner.catch(() => undefined))?.release();
    }
    const file = resolveInFolder(this.dir, this.manifest.models[role]!);
    const overrides = role === 'text_encoder' ? { batch } : dimensionOverrides(batch, heightPx, widthPx, this.manifest.vaeScaleFactor);
    const logger = this.options.logger ?? silentLogger;
    const started = performance.now();
    const runner = (this.options.sessionFactory ?? defaultSessionFactory)(role, file, {
      ...this.options.sessionOptions,
      providers: this.options.providers ?? ['cpu'],
      freeDimensionOverrides: overrides,
    });
    this.sessions.set(role, { key, runner });
    try {
      const ready = await runner;
      this.lastProvider = ready.provider ?? this.lastProvider;
      logger.info('model session ready', { role, batch, heightPx, widthPx, provider: ready.provider, ms: Math.round(performance.now() - started) });
      return ready;
    } catch (error) {
      this.sessions.delete(role);
      throw error;
    }
  }

  /** Releases the sessions of `roles` (all when omitted). */
  async release(roles: readonly ModelRole[] = [...this.sessions.keys()]): Promise<void> {
    for (const role of roles) {
      const entry = this.sessions.get(role);
      if (!entry) continue;
      this.sessions.delete(role);
      await (await entry.runner.catch(() => undefined))?.release();
    }
  }
}
