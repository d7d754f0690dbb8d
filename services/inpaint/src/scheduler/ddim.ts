/**
 * DDIM (η = 0) as diffusers' DDIMScheduler with SD 1.5's config: "leading" spacing, steps_offset 1,
 * set_alpha_to_one false, no clipping, epsilon prediction; img2img strength as diffusers truncates it.
 */
import { alphasCumprod, axpby, firstStepForStrength, type NoiseScheduleOptions } from './noise-schedule';
import type { Scheduler } from './scheduler';

/** DDIM's timesteps for `steps` (descending). */
export function ddimTimesteps(steps: number, trainSteps = 1000, stepsOffset = 1): number[] {
  const ratio = Math.floor(trainSteps / steps);
  return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * ratio + stepsOffset);
}

export class Ddim implements Scheduler {
  readonly name = 'ddim' as const;
  readonly timesteps: readonly number[];
  readonly startSigma: number;
  private readonly acp: Float64Array;
  private readonly ratio: number;
  private index = 0;

  constructor(
    readonly plannedSteps: number,
    strength = 1,
    noise: NoiseScheduleOptions = {},
  ) {
    this.acp = alphasCumprod(noise);
    this.ratio = Math.floor(this.acp.length / plannedSteps);
    const all = ddimTimesteps(plannedSteps, this.acp.length);
    this.timesteps = all.slice(firstStepForStrength(plannedSteps, strength));
    const a = this.acp[this.timesteps[0]];
    this.startSigma = Math.sqrt((1 - a) / a);
  }

  /** ᾱ before run step i; after the last step, the clean sample (ᾱ = 1). */
  private alphaBarAt(i: number): number {
    return i < this.timesteps.length ? this.acp[this.timesteps[i]] : 1;
  }

  addNoise(x0: Float32Array, noise: Float32Array, i: number): Float32Array {
    const a = this.alphaBarAt(i);
    return axpby(Math.sqrt(a), x0, Math.sqrt(1 - a), noise);
  }

  step(epsilon: Float32Array, sample: Float32Array): Float32Array {
    const t = this.timesteps[this.index];
    if (t === undefined) throw new RangeError('the scheduler has run all its steps');
    const prevT = t - this.ratio;
    const a = this.acp[t];
    const aPrev = prevT >= 0 ? this.acp[prevT] : this.acp[0];
    // x0 = (x - sqrt(1-ᾱ)ε)/sqrt(ᾱ); x_prev = sqrt(ᾱ_prev)·x0 + sqrt(1-ᾱ_prev)·ε
    const x0Sample = 1 / Math.sqrt(a);
    const x0Eps = -Math.sqrt(1 - a) / Math.sqrt(a);
    const out = axpby(Math.sqrt(aPrev) * x0Sample, sample, Math.sqrt(aPrev) * x0Eps + Math.sqrt(1 - aPrev), epsilon);
    this.index++;
    return out;
  }

  reset(): void {
    this.index = 0;
  }
}
