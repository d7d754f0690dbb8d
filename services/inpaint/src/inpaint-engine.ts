/**
 * The service's domain object: the installed models (or none), readiness, model status, and jobs. Batches of
 * all jobs run one at a time (one device; onnxruntime-node runs block the event loop anyway).
 */
import { existsSync, readdirSync } from 'node:fs';
import type { ProviderConfig } from '@vanelia/onnx';
import { silentLogger, type Logger } from '@vanelia/runtime';
import { checkModelFolder } from './models/model-check';
import { ModelSet, type SessionFactory } from './models/model-set';
import { resolveRefineSettings, type RefineRequestSettings, type RefineServiceSettings } from './presets';
import { NO_MODELS_REASON, RefineJob } from './refine-job';
import { encodePrompt } from './pipeline/diffusion';

export interface InpaintEngineOptions {
  /** Model folder; '' or a missing/empty folder means no models installed. */
  modelDir?: string;
  providers?: readonly ProviderConfig[];
  deviceMemoryGiB?: number;
  /** Batch size used when a request leaves it 0 (0 = automatic). */
  defaultBatchSize?: number;
  /** onnxruntime CPU threads (0 = its choice). */
  cpuThreads?: number;
  refine?: RefineServiceSettings;
  sessionFactory?: SessionFactory;
  logger?: Logger;
}

export interface ModelStatusData {
  installed: boolean;
  modelDir: string;
  provider: string;
  precision: string;
  problems: string[];
}

export class InpaintEngine {
  private models: ModelSet | undefined;
  private problems: string[] = [];
  private opening: Promise<boolean> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly logger: Logger;

  constructor(private readonly options: InpaintEngineOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Whether a model folder is configured and has anything in it. */
  get installed(): boolean {
    const dir = this.options.modelDir ?? '';
    return dir !== '' && existsSync(dir) && readdirSync(dir).length > 0;
  }

  /**
   * Ready when there are no models (frames pass through) or when the models are open and the device has run
   * the text encoder once. A broken folder keeps the service not ready, its problems in the model status.
   */
  async ready(): Promise<boolean> {
    if (!this.installed) return true;
    if (this.models) return true;
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<boolean> {
    const dir = this.options.modelDir!;
    try {
      const models = await ModelSet.open(dir, {
        providers: this.options.providers,
        sessionFactory: this.options.sessionFactory,
        sessionOptions: { intraOpNumThreads: this.options.cpuThreads ?? 0 },
        logger: this.logger,
      });
      await encodePrompt(models, 'warm up', ''); // loads a session: the device answers
      this.models = models;
      this.problems = [];
      this.logger.info('refinement models ready', { dir, provider: models.provider, precision: models.manifest.precision });
      return true;
    } catch (error) {
      const report = await checkModelFolder(dir);
      this.problems = report.problems.length > 0 ? report.problems : [(error as Error).message];
      this.logger.error('refinement models unusable', { dir, problems: this.problems });
      return false;
    }
  }

  status(): ModelStatusData {
    return {
      installed: this.installed,
      modelDir: this.options.modelDir ?? '',
      provider: this.models?.provider ?? '',
      precision: this.models?.manifest.precision ?? '',
      problems: this.installed ? this.problems : [NO_MODELS_REASON],
    };
  }

  /** A job for a request's settings (throws INVALID_ARGUMENT for bad settings). */
  openJob(jobId: string, enabled: boolean, request: RefineRequestSettings): RefineJob {
    const settings = resolveRefineSettings({ ...request, batchSize: request.batchSize || (this.options.defaultBatchSize ?? 0) }, this.options.refine);
    const unavailableReason = this.installed && !this.models ? `refinement models are not usable: ${this.problems.join('; ')}` : undefined;
    return new RefineJob(jobId, settings, enabled, {
      models: this.models,
      unavailableReason,
      deviceMemoryGiB: this.options.deviceMemoryGiB,
      logger: this.logger,
    });
  }

  /** Runs `work` after every earlier batch has finished. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.models?.release();
  }
}
