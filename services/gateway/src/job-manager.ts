import { JobState, type ErrorDetail, type Job, type JobEvent, type JobSpec, type StageProgress, type VideoInfo } from '@vanelia/proto';
import { VaneliaError, errorDetailOf, type Logger } from '@vanelia/runtime';
import { randomUUID } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { runPipeline, type JobPaths, type PipelineOptions, type PipelineStage, type StageClients } from './pipeline';
import type { JobStore } from './job-store';

export interface JobManagerOptions {
  store: JobStore;
  clients: StageClients;
  logger: Logger;
  /** Storage-relative paths of a job's files. */
  pathsOf: (job: Job) => JobPaths;
  /** Jobs running at once on this gateway. */
  maxConcurrentJobs?: number;
  pipeline?: Omit<PipelineOptions, 'signal'>;
}

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);
export const isTerminal = (state: JobState): boolean => TERMINAL.has(state);

const STAGE_ORDER: PipelineStage[] = ['decode', 'pose', 'composite', 'refine', 'encode'];

/** Accepts jobs, runs them through the mesh (a bounded number at once), persists and broadcasts their state. */
export class JobManager {
  private readonly events = new EventEmitter();
  private readonly running = new Map<string, AbortController>();
  private readonly queue: string[] = [];
  private readonly rates = new Map<string, { startedMs: number }>();
  private readonly maxConcurrent: number;
  private draining = false;

  constructor(private readonly options: JobManagerOptions) {
    this.maxConcurrent = options.maxConcurrentJobs ?? 2;
    this.events.setMaxListeners(0);
  }

  /** Re-queues jobs a previous process left queued or running (nothing submitted is lost on restart). */
  async recover(): Promise<number> {
    const pending = (await this.options.store.list())
      .filter((j) => j.state === JobState.JOB_STATE_QUEUED || j.state === JobState.JOB_STATE_RUNNING)
      .sort((a, b) => a.createdUnixMs - b.createdUnixMs);
    for (const job of pending) {
      job.state = JobState.JOB_STATE_QUEUED;
      job.warnings.push('resumed after a gateway restart');
      await this.save(job);
      this.queue.push(job.id);
    }
    this.pump();
    return pending.length;
  }

  /** Creates a job (or returns the one with the same idempotency key) and queues it. */
  async create(spec: JobSpec, id: string = randomUUID()): Promise<Job> {
    if (spec.idempotencyKey) {
      const existing = await this.options.store.findByIdempotencyKey(spec.idempotencyKey);
      if (existing) return existing;
    }
    const now = Date.now();
    const job: Job = {
      id, state: JobState.JOB_STATE_QUEUED, spec, stage: 'queued', framesDone: 0, framesTotal: 0,
      createdUnixMs: now, updatedUnixMs: now, video: undefined, stages: [], warnings: [], error: undefined, resultSizeBytes: 0,
    };
    await this.save(job);
    this.queue.push(job.id);
    this.pump();
    return job;
  }

  get(id: string): Promise<Job | undefined> {
    return this.options.store.get(id);
  }

  list(): Promise<Job[]> {
    return this.options.store.list();
  }

  async cancel(id: string): Promise<Job> {
    const job = await this.mustGet(id);
    if (isTerminal(job.state)) return job;
    const queued = this.queue.indexOf(id);
    if (queued >= 0) this.queue.splice(queued, 1);
    job.state = JobState.JOB_STATE_CANCELLED;
    job.stage = 'cancelled';
    await this.save(job);
    this.running.get(id)?.abort();
    return job;
  }

  /** The job's current state, then every change until it ends. */
  async *watch(id: string, signal?: AbortSignal): AsyncGenerator<JobEvent> {
    const ac = new AbortController();
    signal?.addEventListener('abort', () => ac.abort(), { once: true });
    // Subscribe before reading the current state so no change falls between the two.
    const changes = on(this.events, `job:${id}`, { signal: ac.signal });
    try {
      const job = await this.mustGet(id);
      yield this.eventOf(job);
      if (isTerminal(job.state)) return;
      for await (const [changed] of changes as AsyncIterable<[Job]>) {
        yield this.eventOf(changed);
        if (isTerminal(changed.state)) return;
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    } finally {
      ac.abort();
    }
  }

  /** Stops taking queued jobs and waits until running ones end or `deadlineMs` (epoch ms) passes. */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    while (this.running.size > 0 && Date.now() < deadlineMs) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Cancels running work (used on shutdown: jobs stay RUNNING in the store and resume on the next start). */
  async stopAll(): Promise<void> {
    this.queue.length = 0;
    for (const controller of this.running.values()) controller.abort(new Error('gateway shutting down'));
  }

  runningCount(): number {
    return this.running.size;
  }

  private async mustGet(id: string): Promise<Job> {
    const job = await this.options.store.get(id);
    if (!job) throw new VaneliaError('gateway', 'JOB_NOT_FOUND', `no job has id ${JSON.stringify(id)}.`, { code: 'NOT_FOUND' });
    return job;
  }

  private async save(job: Job): Promise<void> {
    job.updatedUnixMs = Date.now();
    await this.options.store.put(job);
    this.events.emit(`job:${job.id}`, job);
  }

  private eventOf(job: Job): JobEvent {
    const started = this.rates.get(job.id)?.startedMs;
    const elapsedS = started ? (Date.now() - started) / 1000 : 0;
    const fps = elapsedS > 0 ? job.framesDone / elapsedS : 0;
    const eta = fps > 0 && job.framesTotal > 0 ? (job.framesTotal - job.framesDone) / fps : -1;
    return {
      jobId: job.id, state: job.state, stage: job.stage, framesDone: job.framesDone, framesTotal: job.framesTotal,
      framesPerS: fps, etaS: isTerminal(job.state) ? 0 : eta, stages: job.stages, warnings: job.warnings, error: job.error, timeUnixMs: Date.now(),
    };
  }

  private pump(): void {
    while (!this.draining && this.running.size < this.maxConcurrent && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const controller = new AbortController();
      this.running.set(id, controller);
      this.run(id, controller).finally(() => {
        this.running.delete(id);
        this.rates.delete(id);
        this.pump();
      });
    }
  }

  private async run(id: string, controller: AbortController): Promise<void> {
    const job = await this.options.store.get(id);
    if (!job || job.state !== JobState.JOB_STATE_QUEUED) return;
    const log = this.options.logger.child({ jobId: id });
    job.state = JobState.JOB_STATE_RUNNING;
    job.stage = 'probe';
    job.error = undefined;
    this.rates.set(id, { startedMs: Date.now() });
    await this.save(job);
    log.info('job started');

    // Progress events are frequent: persist at most a few times a second, broadcast every time.
    let lastSaved = 0;
    const touch = (): void => {
      if (Date.now() - lastSaved > 500) {
        lastSaved = Date.now();
        void this.save(job).catch((error: unknown) => log.warn('could not persist progress', { error }));
      } else {
        this.events.emit(`job:${job.id}`, job);
      }
    };
    try {
      const result = await runPipeline(this.options.clients, id, job.spec!, this.options.pathsOf(job), {
        onVideo: (video: VideoInfo) => {
          job.video = video;
          job.framesTotal = video.frameCount;
          touch();
        },
        onProgress: (stage, done, total) => {
          updateStage(job.stages, stage, done, total, (Date.now() - this.rates.get(id)!.startedMs) / 1000);
          job.stage = furthestActive(job.stages);
          job.framesDone = job.stages.find((s) => s.stage === 'encode')?.framesDone ?? 0;
          touch();
        },
        onWarning: (message) => {
          if (!job.warnings.includes(message)) job.warnings.push(message);
          touch();
        },
      }, { ...this.options.pipeline, signal: controller.signal });
      const latest = await this.options.store.get(id);
      if (latest?.state === JobState.JOB_STATE_CANCELLED) return;
      job.state = JobState.JOB_STATE_SUCCEEDED;
      job.stage = 'done';
      job.framesDone = result.encode.frameCount;
      job.resultSizeBytes = result.encode.sizeBytes;
      await this.save(job);
      log.info('job succeeded', { frames: result.encode.frameCount });
    } catch (error) {
      const latest = await this.options.store.get(id);
      if (latest?.state === JobState.JOB_STATE_CANCELLED) {
        log.info('job cancelled');
        return;
      }
      if (controller.signal.aborted) {
        log.info('job interrupted by shutdown; it resumes on the next start');
        return;
      }
      const detail: ErrorDetail = errorDetailOf(error, 'gateway');
      job.state = JobState.JOB_STATE_FAILED;
      job.error = detail;
      await this.save(job);
      log.warn('job failed', { error: detail.message });
    }
  }
}

function updateStage(stages: StageProgress[], stage: PipelineStage, done: number, total: number, elapsedS: number): void {
  let entry = stages.find((s) => s.stage === stage);
  if (!entry) {
    entry = { stage, framesDone: 0, framesTotal: total, framesPerS: 0 };
    stages.push(entry);
    stages.sort((a, b) => STAGE_ORDER.indexOf(a.stage as PipelineStage) - STAGE_ORDER.indexOf(b.stage as PipelineStage));
  }
  entry.framesDone = done;
  entry.framesTotal = total;
  entry.framesPerS = elapsedS > 0 ? done / elapsedS : 0;
}

function furthestActive(stages: StageProgress[]): string {
  return stages.length > 0 ? stages[stages.length - 1].stage : 'probe';
}
