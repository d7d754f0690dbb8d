import { JobState, type Job, type JobEvent, type JobSpec, type VideoInfo } from '@vanelia/proto';
import { VaneliaError, resolveStoragePath, type Logger } from '@vanelia/runtime';
import { rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { jobEvent, newJob } from './job-progress';
import { JobRun, jobFolder } from './job-run';
import { isTerminal, type JobStore } from './job-store';
import { countJobEnded, jobsQueued, jobsRunning } from './metrics';
import type { VideoProbeCache } from './decode-stage';
import type { MeshReplicas, PipelineOptions } from './pipeline';

export interface JobManagerOptions {
  store: JobStore;
  replicas: MeshReplicas;
  storageRoot: string;
  logger: Logger;
  /** This gateway's name in leases (default host, pid and a random suffix). */
  owner?: string;
  /** Jobs this gateway runs at once. */
  maxConcurrentJobs?: number;
  /** Lease on a running job; another gateway continues it this long after its runner stopped renewing. */
  leaseMs?: number;
  /** How often the store is polled for queued jobs and lapsed leases (it also notifies). */
  pollMs?: number;
  /** Attempts of a job whose stage failed in a way a retry may fix (it continues from its checkpoint). */
  maxJobAttempts?: number;
  /** Wait before such a retry. */
  retryBackoffMs?: number;
  pipeline?: PipelineOptions;
  /** Refuses a probed video over the limits (throws a VaneliaError). */
  checkVideo?: (video: VideoInfo) => void;
  /** Probe answers shared with the submission path (a job starting just after it was submitted skips the probe). */
  probeCache?: VideoProbeCache;
}

export const JOB_MANAGER_DEFAULTS = {
  maxConcurrentJobs: 2,
  leaseMs: 15_000,
  pollMs: 1000,
  maxJobAttempts: 3,
  retryBackoffMs: 2000,
};

export type JobManagerSettings = Required<Omit<JobManagerOptions, 'pipeline' | 'checkVideo' | 'probeCache'>> & Pick<JobManagerOptions, 'pipeline' | 'checkVideo' | 'probeCache'>;

/**
 * Accepts jobs into the store and runs them: claims queued jobs (its share, when several gateways share
 * a store), at most `maxConcurrentJobs` at once, and re-queues jobs whose gateway went away so they
 * continue from their checkpoint. Watchers on any gateway see every change through the store.
 */
export class JobManager {
  readonly settings: JobManagerSettings;
  private readonly running = new Map<string, JobRun>();
  private draining = false;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private unsubscribeQueued: (() => void) | undefined;

  constructor(options: JobManagerOptions) {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.settings = { ...JOB_MANAGER_DEFAULTS, owner: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`, ...defined } as JobManagerSettings;
  }

  /** Starts taking work: queued jobs, and jobs a stopped gateway left behind once their lease lapses. */
  async start(): Promise<void> {
    this.unsubscribeQueued = await this.settings.store.onQueued(() => this.pump());
    const poll = async (): Promise<void> => {
      try {
        const requeued = await this.settings.store.requeueExpired();
        if (requeued.length > 0) this.settings.logger.info('re-queued jobs whose gateway stopped', { jobs: requeued });
        jobsQueued.set(await this.settings.store.countQueued());
      } catch (error) {
        this.settings.logger.warn('job store poll failed', { error });
      }
      this.pump();
      if (!this.stopped) this.pollTimer = setTimeout(() => void poll(), this.settings.pollMs);
    };
    await poll();
  }

  /** Creates a job (or returns the one submitted before with the same idempotency key). */
  async create(spec: JobSpec, id: string = randomUUID()): Promise<{ job: Job; created: boolean }> {
    const result = await this.settings.store.create(newJob(id, spec, Date.now()));
    if (result.created) this.settings.logger.info('job queued', { jobId: id });
    this.pump();
    return result;
  }

  async get(id: string): Promise<Job> {
    const job = await this.settings.store.get(id);
    if (!job) throw new VaneliaError('gateway', 'JOB_NOT_FOUND', `no job has id ${JSON.stringify(id)}.`, { code: 'NOT_FOUND' });
    return job;
  }

  findByIdempotencyKey(key: string): Promise<Job | undefined> {
    return this.settings.store.findByIdempotencyKey(key);
  }

  list(state: JobState, offset: number, limit: number): Promise<{ jobs: Job[]; total: number }> {
    return this.settings.store.list({ state, offset, limit });
  }

  /** Cancels a queued or running job on whichever gateway runs it; its work stops and its files go. */
  async cancel(id: string): Promise<Job> {
    const before = await this.get(id);
    if (isTerminal(before.state)) return before;
    const job = await this.settings.store.cancel(id, Date.now());
    if (!job) throw new VaneliaError('gateway', 'JOB_NOT_FOUND', `no job has id ${JSON.stringify(id)}.`, { code: 'NOT_FOUND' });
    if (job.state === JobState.JOB_STATE_CANCELLED) {
      countJobEnded(job, 'cancelled');
      this.settings.logger.info('job cancelled', { jobId: id, was: JobState[before.state] });
      // The runner (here or on another gateway) hears of it, stops and removes the job's files.
      this.running.get(id)?.stop('cancelled');
      await this.settings.store.publish(job);
      await this.running.get(id)?.finished;
      if (before.state === JobState.JOB_STATE_QUEUED) {
        await rm(resolveStoragePath('gateway', this.settings.storageRoot, jobFolder(id)), { recursive: true, force: true });
      }
    }
    return (await this.settings.store.get(id)) ?? job;
  }

  /** The job's current state, then every change until it ends (or `signal` aborts). */
  async *watch(id: string, signal?: AbortSignal): AsyncGenerator<JobEvent> {
    const queue: Job[] = [];
    let wake: (() => void) | undefined;
    // Subscribe before reading the current state, so no change falls between the two.
    const unsubscribe = await this.settings.store.subscribe(id, (job) => {
      queue.push(job);
      wake?.();
    });
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let last = structuredClone(await this.get(id));
      yield jobEvent(last, Date.now());
      while (!isTerminal(last.state) && !signal?.aborted) {
        if (queue.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // Fallback for a missed notification (e.g. the store reconnecting): look every few seconds.
            setTimeout(resolve, 5000).unref();
          });
          wake = undefined;
          if (queue.length === 0 && !signal?.aborted) queue.push(await this.get(id));
          continue;
        }
        const next = queue.shift()!;
        if (next.updatedUnixMs < last.updatedUnixMs && !isTerminal(next.state)) continue;
        last = next;
        yield jobEvent(last, Date.now());
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      unsubscribe();
    }
  }

  /** Stops taking jobs and waits until running ones end or `deadlineMs` (epoch ms) passes. */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    while (this.running.size > 0 && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  /** Stops the jobs still running and gives them back to the queue (another gateway, or the next start, continues them). */
  async stopAll(): Promise<void> {
    this.draining = true;
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.unsubscribeQueued?.();
    const runs = [...this.running.values()];
    for (const run of runs) run.stop('shutdown');
    await Promise.all(runs.map((r) => r.finished));
  }

  runningCount(): number {
    return this.running.size;
  }

  /** Claims queued jobs while there is room (serialised: one claim loop at a time). */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          while (!this.draining && this.running.size < this.settings.maxConcurrentJobs) {
            const job = await this.settings.store.claimNext(this.settings.owner, this.settings.leaseMs);
            if (!job) break;
            this.startRun(job);
          }
        } while (this.pumpAgain && !this.draining);
      } catch (error) {
        this.settings.logger.warn('claiming a job failed', { error });
      } finally {
        this.pumping = false;
      }
    })();
  }

  private startRun(job: Job): void {
    const run = new JobRun(job, this.settings);
    this.running.set(job.id, run);
    jobsRunning.set(this.running.size);
    void run.finished.finally(() => {
      this.running.delete(job.id);
      jobsRunning.set(this.running.size);
      this.pump();
    });
  }
}
