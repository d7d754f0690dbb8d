/** What the pipeline needs from a sampler: the steps to run, noising to a step's level, and one update. */

export type SchedulerName = 'dpmpp_2m_karras' | 'ddim';

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['dpmpp_2m_karras', 'ddim'];

export interface Scheduler {
  readonly name: SchedulerName;
  /** Steps of the full schedule (before strength truncation). */
  readonly plannedSteps: number;
  /** UNet timesteps of the steps that run, in order. */
  readonly timesteps: readonly number[];
  /** Noise level σ (sqrt((1-ᾱ)/ᾱ)) the first step starts from. */
  readonly startSigma: number;
  /**
   * x0 noised to the level before run step `i` (0 = the start; `timesteps.length` = clean, returns x0):
   * the same noise for every call keeps frames of a job consistent.
   */
  addNoise(x0: Float32Array, noise: Float32Array, i: number): Float32Array;
  /** Advances one step from the model's ε prediction; call once per entry of `timesteps`, in order. */
  step(epsilon: Float32Array, sample: Float32Array): Float32Array;
  /** Forgets the history so the same schedule runs again (next batch). */
  reset(): void;
}

export interface SchedulerSettings {
  name: SchedulerName;
  steps: number;
  /** 0 < strength <= 1: share of the schedule run, from the noisy end. */
  strength: number;
}

/** Strength must lie in (0, 1]; steps at least 1. */
export function validateSchedulerSettings(s: SchedulerSettings): string[] {
  const problems: string[] = [];
  if (!SCHEDULER_NAMES.includes(s.name)) problems.push(`scheduler "${s.name}" is not one of ${SCHEDULER_NAMES.join(', ')}`);
  if (!Number.isInteger(s.steps) || s.steps < 1 || s.steps > 1000) problems.push(`steps ${s.steps} is not an integer from 1 to 1000`);
  if (!(s.strength > 0 && s.strength <= 1)) problems.push(`strength ${s.strength} is not in (0, 1]`);
  else if (Math.floor(s.steps * s.strength) < 1) problems.push(`strength ${s.strength} of ${s.steps} steps runs no step`);
  return problems;
}
