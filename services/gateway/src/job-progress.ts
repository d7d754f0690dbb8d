import { Job, JobState, type JobEvent, type JobSpec, type StageProgress } from '@vanelia/proto';
import { isTerminal } from './job-store';
import type { PipelineStage } from './pipeline';

const STAGE_ORDER: PipelineStage[] = ['probe', 'decode', 'pose', 'composite', 'refine', 'encode', 'assemble'];

/** A queued job as first stored (every other field at its proto default). */
export function newJob(id: string, spec: JobSpec, nowMs: number): Job {
  return Job.fromPartial({ id, state: JobState.JOB_STATE_QUEUED, spec, stage: 'queued', createdUnixMs: nowMs, updatedUnixMs: nowMs });
}

/** Frames a second of each stage over the last `windowMs` (the rate now, not since the start). */
export class StageRates {
  private readonly samples = new Map<string, Array<{ atMs: number; done: number }>>();
  constructor(private readonly windowMs = 10_000) {}

  record(stage: string, done: number, nowMs: number): number {
    let list = this.samples.get(stage);
    if (!list) {
      list = [];
      this.samples.set(stage, list);
    }
    list.push({ atMs: nowMs, done });
    while (list.length > 2 && nowMs - list[1].atMs > this.windowMs) list.shift();
    const first = list[0];
    const seconds = (nowMs - first.atMs) / 1000;
    return seconds > 0.2 ? Math.max(0, (done - first.done) / seconds) : 0;
  }
}

/** Records a stage's progress on the job: per-stage counts and rates, the stage shown, the frames done. */
export function applyProgress(job: Job, stage: PipelineStage, done: number, total: number, rates: StageRates, nowMs: number): void {
  if (stage === 'probe' || stage === 'assemble') {
    // Steps without frames: shown as the stage, not counted.
    job.stage = stage;
    return;
  }
  let entry = job.stages.find((s) => s.stage === stage);
  if (!entry) {
    entry = { stage, framesDone: 0, framesTotal: total, framesPerS: 0 };
    job.stages.push(entry);
    job.stages.sort((a, b) => STAGE_ORDER.indexOf(a.stage as PipelineStage) - STAGE_ORDER.indexOf(b.stage as PipelineStage));
  }
  entry.framesDone = done;
  entry.framesTotal = total;
  entry.framesPerS = rates.record(stage, done, nowMs);
  job.stage = activeStage(job.stages);
  if (stage === 'encode') job.framesDone = done;
}

/** The furthest stage that has started and not finished (or the last one). */
function activeStage(stages: StageProgress[]): string {
  for (let i = stages.length - 1; i >= 0; i--) {
    const s = stages[i];
    if (s.framesDone > 0 && s.framesDone < s.framesTotal) return s.stage;
  }
  const started = stages.filter((s) => s.framesDone > 0);
  return (started[started.length - 1] ?? stages[stages.length - 1])?.stage ?? 'probe';
}

/** What watchers see: the job's state with its throughput (final frames a second) and time left. */
export function jobEvent(job: Job, nowMs: number): JobEvent {
  const encode = job.stages.find((s) => s.stage === 'encode');
  const active = job.stages.find((s) => s.stage === job.stage);
  const framesPerS = encode?.framesPerS || active?.framesPerS || 0;
  const left = job.framesTotal - job.framesDone;
  const etaS = isTerminal(job.state) ? 0 : encode && encode.framesPerS > 0 && job.framesTotal > 0 ? left / encode.framesPerS : -1;
  return {
    jobId: job.id,
    state: job.state,
    stage: job.stage,
    framesDone: job.framesDone,
    framesTotal: job.framesTotal,
    framesPerS,
    etaS,
    stages: job.stages,
    warnings: job.warnings,
    error: job.error,
    timeUnixMs: nowMs,
    attempts: job.attempts,
    framesCheckpointed: job.framesCheckpointed,
  };
}
