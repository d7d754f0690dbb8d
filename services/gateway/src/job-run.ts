import { JobState, type Job } from '@vanelia/proto';
import { VaneliaError, errorDetailOf, resolveStoragePath, type Logger } from '@vanelia/runtime';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { applyProgress, StageRates } from './job-progress';
import type { JobCheckpoint } from './job-store';
import type { JobManagerSettings } from './job-manager';
import { countJobEnded, jobRestarts } from './metrics';
import { jobSegmentsFolder, runPipeline, type JobPaths, type PipelineResult } from './pipeline';
import { stageFailure } from './stage-errors';

/** Why a run stopped before its job ended: cancelled by a user, gateway stopping, job taken over. */
export type StopReason = 'cancelled' | 'shutdown' | 'lost';

/** Storage-relative folder of a job's files. */
export const jobFolder = (id: string): string => join('jobs', id);

/** A job's paths: inputs as its spec names them (uploads are in its folder), outputs in its folder. */
export function jobPaths(job: Job): JobPaths {
  return { video: job.spec?.videoUri ?? '', product: job.spec?.productUri ?? '', folder: jobFolder(job.id) };
}

/** Watchers get progress this often at most; the store gets it (and the lease is renewed) every `persistMs`. */
const PUBLISH_MS = 250;
const PERSIST_MAX_MS = 1000;

/**
 * One job running on this gateway, from its claim to its end: runs the pipeline from the job's
 * checkpoint, keeps its lease alive with every save, retries retryable stage failures from the
 * checkpoint, and on a stop either cleans up (cancelled) or gives the job back (shutdown).
 */
export class JobRun {
  readonly finished: Promise<void>;
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  /** The job reached its end state: no more saves. */
  private ended = false;
  private readonly rates = new StageRates();
  private saving: Promise<boolean> = Promise.resolve(true);
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly job: Job,
    private readonly s: JobManagerSettings,
  ) {
    this.log = s.logger.child({ jobId: job.id });
    this.finished = this.run().catch((error: unknown) => this.log.error('job run failed unexpectedly', { error }));
  }

  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.controller.abort(new Error(reason));
  }

  private async run(): Promise<void> {
    const { job, s } = this;
    const unsubscribe = await s.store.subscribe(job.id, (changed) => {
      if (changed.state === JobState.JOB_STATE_CANCELLED) this.stop('cancelled');
    });
    const renew = setInterval(() => void this.save({ publish: false }), Math.max(100, Math.min(PERSIST_MAX_MS, s.leaseMs / 3)));
    try {
      job.state = JobState.JOB_STATE_RUNNING;
      job.attempts += 1;
      job.startedUnixMs ||= Date.now();
      job.stage = 'probe';
      job.error = undefined;
      if (job.attempts > 1) {
        jobRestarts.inc({ reason: 'recovered' });
        this.warn(`continued by a gateway after the previous one stopped (attempt ${job.attempts})`);
      }
      if (!(await this.save())) {
        await this.stopped();
        return;
      }
      this.log.info('job started', { attempt: job.attempts });
      let checkpoint = await s.store.getCheckpoint(job.id);
      for (;;) {
        try {
          const result = await runPipeline({
            replicas: s.replicas,
            storageRoot: s.storageRoot,
            jobId: job.id,
            spec: job.spec!,
            paths: jobPaths(job),
            checkpoint,
            attempt: job.attempts,
            probeCache: s.probeCache,
            options: s.pipeline,
            signal: this.controller.signal,
            logger: this.log,
            observer: {
              onVideo: (video) => {
                s.checkVideo?.(video);
                job.video = video;
                job.framesTotal = video.frameCount;
                this.touch();
              },
              onProgress: (stage, done, total) => {
                applyProgress(job, stage, done, total, this.rates, Date.now());
                this.touch();
              },
              onWarning: (message) => this.warn(message),
              onCheckpoint: (cp) => this.saveCheckpoint(cp),
            },
          });
          await this.succeed(result);
          return;
        } catch (error) {
          if (this.stopReason) {
            await this.stopped();
            return;
          }
          const failure = stageFailure(error, 'gateway');
          if (failure.retryable && job.attempts < s.maxJobAttempts) {
            job.attempts += 1;
            jobRestarts.inc({ reason: 'retry' });
            this.warn(`attempt ${job.attempts} continues from frame ${job.framesCheckpointed} after: ${failure.message}`);
            await this.save(); // stops the run when the job is no longer ours
            if (!this.stopReason) await new Promise((resolve) => setTimeout(resolve, s.retryBackoffMs));
            if (this.stopReason) {
              await this.stopped();
              return;
            }
            checkpoint = await s.store.getCheckpoint(job.id);
            continue;
          }
          await this.fail(failure);
          return;
        }
      }
    } finally {
      clearInterval(renew);
      if (this.flushTimer) clearTimeout(this.flushTimer);
      unsubscribe();
    }
  }

  private warn(message: string): void {
    if (this.job.warnings.includes(message)) return;
    this.job.warnings.push(message);
    this.touch();
  }

  /** Progress is frequent: published a few times a second at most (and stored with the next lease renewal). */
  private touch(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.stopReason) void this.s.store.publish(this.job).catch((error: unknown) => this.log.warn('could not publish progress', { error }));
    }, PUBLISH_MS);
  }

  /** Saves the job (renewing the lease) and publishes it; false (and the run stops) when the job is no longer ours. */
  private save(options: { publish?: boolean } = {}): Promise<boolean> {
    this.saving = this.saving.then(async () => {
      if (this.stopReason || this.ended) return false;
      this.job.updatedUnixMs = Date.now();
      try {
        if (!(await this.s.store.update(this.job, this.s.owner, this.s.leaseMs))) {
          const current = await this.s.store.get(this.job.id);
          this.stop(current?.state === JobState.JOB_STATE_CANCELLED ? 'cancelled' : 'lost');
          return false;
        }
        if (options.publish ?? true) await this.s.store.publish(this.job);
        return true;
      } catch (error) {
        // The store is unreachable: keep working; the lease runs out if this lasts.
        this.log.warn('could not save the job', { error });
        return true;
      }
    });
    return this.saving;
  }

  private async saveCheckpoint(checkpoint: JobCheckpoint): Promise<void> {
    if (!(await this.s.store.putCheckpoint(this.job.id, checkpoint, this.s.owner))) {
      const current = await this.s.store.get(this.job.id);
      this.stop(current?.state === JobState.JOB_STATE_CANCELLED ? 'cancelled' : 'lost');
      throw new VaneliaError('gateway', 'JOB_NOT_HELD', `job ${this.job.id} is no longer run by this gateway.`, { code: 'CANCELLED' });
    }
    this.job.framesCheckpointed = checkpoint.segments.reduce((n, seg) => n + seg.frameCount, 0);
    this.touch();
  }

  private async succeed(result: PipelineResult): Promise<void> {
    const { job } = this;
    this.ended = true;
    await this.saving;
    job.state = JobState.JOB_STATE_SUCCEEDED;
    job.stage = 'done';
    job.framesDone = result.frameCount;
    job.framesTotal = result.video.frameCount;
    job.resultSizeBytes = result.sizeBytes;
    job.finishedUnixMs = job.updatedUnixMs = Date.now();
    if (!(await this.s.store.finish(job, this.s.owner))) return;
    await this.s.store.publish(job);
    countJobEnded(job, 'succeeded');
    this.log.info('job succeeded', { frames: result.frameCount, bytes: result.sizeBytes, attempts: job.attempts });
    await this.removeFiles(jobSegmentsFolder(jobPaths(job)));
  }

  private async fail(failure: VaneliaError): Promise<void> {
    const { job } = this;
    this.ended = true;
    await this.saving;
    job.state = JobState.JOB_STATE_FAILED;
    job.error = errorDetailOf(failure, 'gateway');
    job.finishedUnixMs = job.updatedUnixMs = Date.now();
    if (!(await this.s.store.finish(job, this.s.owner))) return;
    await this.s.store.publish(job);
    countJobEnded(job, 'failed');
    this.log.warn('job failed', { error: failure.message });
    await this.removeFiles(jobSegmentsFolder(jobPaths(job)));
  }

  private async stopped(): Promise<void> {
    await this.saving;
    if (this.stopReason === 'shutdown') {
      await this.s.store.release(this.job, this.s.owner);
      const queued = await this.s.store.get(this.job.id);
      if (queued) await this.s.store.publish(queued);
      this.log.info('job handed back to the queue (gateway stopping); it continues from its checkpoint');
    } else if (this.stopReason === 'cancelled') {
      // Its work has stopped: free the disk it used (uploads included).
      await this.removeFiles(jobFolder(this.job.id));
      this.log.info('job cancelled; its files are removed');
    } else {
      this.log.warn('job taken over by another gateway (lease lapsed)');
    }
  }

  private async removeFiles(path: string): Promise<void> {
    await rm(resolveStoragePath('gateway', this.s.storageRoot, path), { recursive: true, force: true }).catch((error: unknown) => this.log.warn('could not remove job files', { path, error }));
  }
}
