import { JobState, type Job } from '@vanelia/proto';

/** One finished segment of a job's output: frames [firstFrame, firstFrame + frameCount) encoded to `path`. */
export interface SegmentRecord {
  index: number;
  firstFrame: number;
  frameCount: number;
  /** Storage-relative mp4 (video only; the assembly adds the audio). */
  path: string;
  sizeBytes: number;
}

/**
 * What a job has finished so far, so that a gateway that takes it over (after a restart, or another
 * replica) continues where it stopped and ends with the same output.
 */
export interface JobCheckpoint {
  /** Frames a segment and a batch, fixed when the job first starts: a resumed job cuts at the same frames. */
  segmentFrames: number;
  batchSize: number;
  /** Storage path of the camera track once pose has run ('' before, or for jobs without pose). */
  trackPath: string;
  /** Finished segments from segment 0, contiguous. */
  segments: SegmentRecord[];
  /** Every frame is in a segment: only the assembly is left. */
  framesComplete: boolean;
}

export interface ListQuery {
  /** Only jobs in this state (UNSPECIFIED: every state). */
  state?: JobState;
  offset: number;
  limit: number;
}

export type JobListener = (job: Job) => void;

/**
 * Where jobs live, shared by every gateway that uses the same store. Work is handed out with leases: a
 * gateway claims a queued job, renews the lease with every update while it runs it, and a job whose lease
 * lapsed (its gateway died) goes back to the queue for any gateway to continue from its checkpoint.
 */
export interface JobStore {
  /** Adds a queued job; when its idempotency key was used before, returns that job instead (created false). */
  create(job: Job): Promise<{ job: Job; created: boolean }>;
  get(id: string): Promise<Job | undefined>;
  findByIdempotencyKey(key: string): Promise<Job | undefined>;
  /** Jobs newest first, and how many match in all. */
  list(query: ListQuery): Promise<{ jobs: Job[]; total: number }>;
  countQueued(): Promise<number>;
  /** Takes the oldest queued job (state RUNNING, lease of `leaseMs` for `owner`); undefined when none. */
  claimNext(owner: string, leaseMs: number): Promise<Job | undefined>;
  /** Saves a job `owner` runs and renews its lease; false when the job was cancelled or taken over: stop. */
  update(job: Job, owner: string, leaseMs: number): Promise<boolean>;
  /** Saves a job's final state (SUCCEEDED or FAILED) and drops its lease; false as for `update`. */
  finish(job: Job, owner: string): Promise<boolean>;
  /** Puts a running job back in the queue (its gateway is stopping); it keeps its checkpoint. */
  release(job: Job, owner: string): Promise<void>;
  /** Cancels a queued or running job (its runner notices on its next update); undefined when unknown. */
  cancel(id: string, nowMs: number): Promise<Job | undefined>;
  /** Re-queues running jobs whose lease lapsed (their gateway went away); returns their ids. */
  requeueExpired(): Promise<string[]>;
  getCheckpoint(id: string): Promise<JobCheckpoint | undefined>;
  /** Saves the checkpoint of a job `owner` runs (false when it no longer does). */
  putCheckpoint(id: string, checkpoint: JobCheckpoint, owner: string): Promise<boolean>;
  /** Tells every gateway on this store that job changed (progress or state). */
  publish(job: Job): Promise<void>;
  /** Calls `listener` with every published change of job `id`; resolves to the unsubscribe function. */
  subscribe(id: string, listener: JobListener): Promise<() => void>;
  /** Calls `listener` whenever some gateway queues a job (wakes idle runners). */
  onQueued(listener: () => void): Promise<() => void>;
  close(): Promise<void>;
}

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export const isTerminal = (state: JobState): boolean => TERMINAL_STATES.has(state);

/** The job as a cancelled one: state, stage and end time set. */
export function asCancelled(job: Job, nowMs: number): Job {
  return { ...job, state: JobState.JOB_STATE_CANCELLED, stage: 'cancelled', updatedUnixMs: nowMs, finishedUnixMs: job.finishedUnixMs || nowMs };
}

/** The job as queued again (its runner stopped before the end). */
export function asRequeued(job: Job, nowMs: number): Job {
  return { ...job, state: JobState.JOB_STATE_QUEUED, stage: 'queued', updatedUnixMs: nowMs };
}

/** A checkpoint from its JSON form, checked (stores keep it as JSON text). */
export function parseCheckpoint(text: string | null | undefined): JobCheckpoint | undefined {
  if (!text) return undefined;
  const value = JSON.parse(text) as JobCheckpoint;
  if (!Number.isInteger(value.segmentFrames) || !Array.isArray(value.segments)) return undefined;
  return value;
}
