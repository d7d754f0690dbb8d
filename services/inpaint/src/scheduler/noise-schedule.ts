/**
 * SD 1.x's training noise schedule ("scaled_linear" betas), computed with the float32 roundings diffusers gets
 * from torch (betas and alphas in float32, cumulative product accumulated in double and stored as float32).
 */

export interface NoiseScheduleOptions {
  /** Training timesteps (default 1000). */
  trainSteps?: number;
  /** First beta (default 0.00085). */
  betaStart?: number;
  /** Last beta (default 0.012). */
  betaEnd?: number;
}

export const NOISE_SCHEDULE_DEFAULTS: Required<NoiseScheduleOptions> = {
  trainSteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
};

const f32 = Math.fround;

/** ᾱ_t for t = 0 … trainSteps-1. */
export function alphasCumprod(options: NoiseScheduleOptions = {}): Float64Array {
  const o = { ...NOISE_SCHEDULE_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, number>)[k] = v;
  const start = f32(Math.sqrt(o.betaStart));
  const end = f32(Math.sqrt(o.betaEnd));
  const out = new Float64Array(o.trainSteps);
  let product = 1;
  for (let i = 0; i < o.trainSteps; i++) {
    // torch.linspace(start, end, n) in float32, squared in float32
    const root = f32(o.trainSteps === 1 ? start : start + ((end - start) * i) / (o.trainSteps - 1));
    const beta = f32(root * root);
    product *= f32(1 - beta);
    out[i] = f32(product);
  }
  return out;
}

/** σ_t = sqrt((1 - ᾱ_t) / ᾱ_t), float32 like diffusers. */
export function sigmasFromAlphasCumprod(acp: Float64Array): Float64Array {
  return acp.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** VP coefficients of a noise level σ: x_σ = alpha·x0 + sigma·ε with alpha = 1/sqrt(σ²+1), sigma = σ·alpha. */
export function vpCoefficients(sigma: number): { alpha: number; sigma: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return { alpha, sigma: sigma * alpha };
}

/**
 * How many of `steps` run for an img2img strength, as diffusers' get_timesteps: `int(steps * strength)`
 * steps from the end of the schedule; returns the index of the first step run.
 */
export function firstStepForStrength(steps: number, strength: number): number {
  const run = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - run, 0);
}

/** out = a·x + b·y elementwise (the schedulers' only tensor arithmetic). */
export function axpby(a: number, x: Float32Array, b: number, y: Float32Array, out = new Float32Array(x.length)): Float32Array {
  if (x.length !== y.length) throw new RangeError(`tensor sizes differ: ${x.length} and ${y.length}`);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i] + b * y[i];
  return out;
}
