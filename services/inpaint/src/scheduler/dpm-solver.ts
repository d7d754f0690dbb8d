/**
 * DPM-Solver++ 2M with Karras sigmas, as diffusers' DPMSolverMultistepScheduler (algorithm_type "dpmsolver++",
 * solver_order 2, solver_type "midpoint", use_karras_sigmas, lower_order_final, final sigma 0, epsilon
 * prediction), with img2img strength truncation via the begin index.
 */
import { alphasCumprod, axpby, firstStepForStrength, sigmasFromAlphasCumprod, vpCoefficients, type NoiseScheduleOptions } from './noise-schedule';
import type { Scheduler } from './scheduler';

export interface KarrasSchedule {
  /** `steps` UNet timesteps, descending. */
  timesteps: number[];
  /** `steps + 1` sigmas (float32), the last 0. */
  sigmas: number[];
}

/** diffusers' `_sigma_to_t`: fractional timestep of σ by interpolation in log σ. */
function sigmaToTimestep(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al.'s schedule between SD's smallest and largest training sigmas (rho 7), and its timesteps. */
export function karrasSchedule(steps: number, noise: NoiseScheduleOptions = {}): KarrasSchedule {
  const trainSigmas = sigmasFromAlphasCumprod(alphasCumprod(noise));
  const logSigmas = trainSigmas.map((s) => Math.fround(Math.log(s)));
  const sigmaMin = trainSigmas[0];
  const sigmaMax = trainSigmas[trainSigmas.length - 1];
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const sigmas: number[] = [];
  const timesteps: number[] = [];
  for (let i = 0; i < steps; i++) {
    const ramp = steps === 1 ? 0 : i / (steps - 1);
    const sigma = (maxInv + ramp * (minInv - maxInv)) ** rho;
    // numpy rounds half to even; fractional timesteps exactly on .5 do not occur for SD's schedule
    timesteps.push(Math.round(sigmaToTimestep(sigma, logSigmas)));
    sigmas.push(Math.fround(sigma));
  }
  sigmas.push(0);
  return { timesteps, sigmas };
}

export class DpmSolverMultistep implements Scheduler {
  readonly name = 'dpmpp_2m_karras' as const;
  readonly timesteps: readonly number[];
  readonly startSigma: number;
  /** sigmas[i] is the level before run step i; sigmas[timesteps.length] = 0. */
  private readonly sigmas: readonly number[];
  private index = 0;
  private previousX0: Float32Array | undefined;

  constructor(
    readonly plannedSteps: number,
    strength = 1,
    noise: NoiseScheduleOptions = {},
  ) {
    const schedule = karrasSchedule(plannedSteps, noise);
    const begin = firstStepForStrength(plannedSteps, strength);
    this.timesteps = schedule.timesteps.slice(begin);
    this.sigmas = schedule.sigmas.slice(begin);
    this.startSigma = this.sigmas[0];
  }

  /** Noise level before run step i. */
  sigmaAt(i: number): number {
    return this.sigmas[i];
  }

  addNoise(x0: Float32Array, noise: Float32Array, i: number): Float32Array {
    const { alpha, sigma } = vpCoefficients(this.sigmas[i]);
    return axpby(alpha, x0, sigma, noise);
  }

  step(epsilon: Float32Array, sample: Float32Array): Float32Array {
    const i = this.index;
    if (i >= this.timesteps.length) throw new RangeError('the scheduler has run all its steps');
    const s0 = vpCoefficients(this.sigmas[i]);
    const t = vpCoefficients(this.sigmas[i + 1]);
    // data prediction x0 = (x - σ·ε) / α
    const x0 = axpby(1 / s0.alpha, sample, -s0.sigma / s0.alpha, epsilon);
    const lambda = (c: { alpha: number; sigma: number }) => Math.log(c.alpha) - Math.log(c.sigma);
    const final = i === this.timesteps.length - 1;
    let out: Float32Array;
    if (t.sigma === 0) {
      out = x0; // σ_next = 0: the first-order update reduces to the data prediction
    } else {
      const h = lambda(t) - lambda(s0);
      const phi = t.alpha * (Math.exp(-h) - 1);
      if (this.previousX0 === undefined || final) {
        out = axpby(t.sigma / s0.sigma, sample, -phi, x0);
      } else {
        const s1 = vpCoefficients(this.sigmas[i - 1]);
        const r0 = (lambda(s0) - lambda(s1)) / h;
        // D0 = x0, D1 = (x0 - x0_prev) / r0; x = (σt/σs)·x - φ·D0 - ½φ·D1
        const prev = this.previousX0;
        const a = t.sigma / s0.sigma;
        const c0 = -phi - (0.5 * phi) / r0;
        const c1 = (0.5 * phi) / r0;
        out = new Float32Array(sample.length);
        for (let k = 0; k < out.length; k++) out[k] = a * sample[k] + c0 * x0[k] + c1 * prev[k];
      }
    }
    this.previousX0 = x0;
    this.index++;
    return out;
  }

  reset(): void {
    this.index = 0;
    this.previousX0 = undefined;
  }
}
