import { JobState } from '@vanelia/proto';
import { specFromArgs } from '@vanelia/cli';
import { describe, expect, it } from 'vitest';
import { StageRates, applyProgress, jobEvent, newJob } from '../src/job-progress';

describe('job progress', () => {
  it('reports per-stage counts, the stage at work, throughput of final frames and the time left', () => {
    const job = newJob('j', specFromArgs({}), 0);
    job.state = JobState.JOB_STATE_RUNNING;
    job.framesTotal = 300;
    const rates = new StageRates(10_000);
    // Encode runs at 10 frames/s; decode is ahead at 20 frames/s.
    for (let t = 0; t <= 5; t++) {
      applyProgress(job, 'decode', Math.min(300, 20 * t + 40), 300, rates, t * 1000);
      applyProgress(job, 'composite', 10 * t + 8, 300, rates, t * 1000);
      applyProgress(job, 'encode', 10 * t, 300, rates, t * 1000);
    }
    const event = jobEvent(job, 5000);
    expect(event.stages.map((s) => s.stage)).toEqual(['decode', 'composite', 'encode']);
    expect(event.stage).toBe('encode');
    expect(event.framesDone).toBe(50);
    expect(event.framesPerS).toBeCloseTo(10, 5);
    expect(event.etaS).toBeCloseTo(25, 5);
    expect(event.stages[0].framesPerS).toBeCloseTo(20, 5);
  });

  it('measures the recent rate, not the average since the start', () => {
    const rates = new StageRates(2000);
    let rate = 0;
    for (let t = 0; t <= 10; t++) rate = rates.record('encode', t < 5 ? 100 * t : 400 + 10 * (t - 4), t * 1000);
    expect(rate).toBeCloseTo(10, 0);
  });

  it('shows steps without frames (probe, assemble) as the stage, and no time left once the job ended', () => {
    const job = newJob('j', specFromArgs({}), 0);
    job.state = JobState.JOB_STATE_RUNNING;
    job.framesTotal = 10;
    const rates = new StageRates();
    applyProgress(job, 'encode', 10, 10, rates, 0);
    applyProgress(job, 'assemble', 0, 1, rates, 100);
    expect(job.stage).toBe('assemble');
    expect(job.stages.map((s) => s.stage)).toEqual(['encode']);
    expect(jobEvent(job, 200).etaS).toBe(-1);
    job.state = JobState.JOB_STATE_SUCCEEDED;
    expect(jobEvent(job, 300).etaS).toBe(0);
  });
});
