import { describe, expect, it } from 'vitest';
import { createRandom } from '@vanelia/onnx';
import { DpmSolverMultistep, karrasSchedule } from '../src/scheduler/dpm-solver';
import { Ddim, ddimTimesteps } from '../src/scheduler/ddim';
import { alphasCumprod, firstStepForStrength } from '../src/scheduler/noise-schedule';
import { createScheduler } from '../src/scheduler/create-scheduler';
import { validateSchedulerSettings } from '../src/scheduler/scheduler';

// Golden values: the issue's timesteps; sigmas from tools/export/sd15_scheduler_reference.py (diffusers' set_timesteps
// transcribed in numpy, float32 where torch is).
const KARRAS_12_TIMESTEPS = [999, 933, 854, 761, 646, 506, 345, 190, 78, 23, 4, 0];
const KARRAS_12_SIGMAS = [
  14.614648818969727, 9.945207595825195, 6.617722988128662, 4.294073104858398, 2.7080414295196533, 1.6531789302825928,
  0.9721179008483887, 0.547242283821106, 0.2926245331764221, 0.14713622629642487, 0.06863962113857269, 0.029167532920837402, 0,
];
const KARRAS_20_TIMESTEPS = [999, 962, 921, 876, 827, 772, 710, 640, 561, 474, 380, 285, 197, 123, 69, 35, 15, 6, 2, 0];
const DDIM_12_TIMESTEPS = [914, 831, 748, 665, 582, 499, 416, 333, 250, 167, 84, 1];

const vp = (sigma: number) => ({ a: 1 / Math.sqrt(1 + sigma * sigma), s: sigma / Math.sqrt(1 + sigma * sigma) });

describe('noise schedule', () => {
  it('matches SD 1.5 alphas_cumprod at its ends and middle', () => {
    const acp = alphasCumprod();
    expect(acp[0]).toBeCloseTo(0.9991499781608582, 7);
    expect(acp[499]).toBeCloseTo(0.27766939997673035, 6);
    expect(acp[999]).toBeCloseTo(0.004660093691200018, 7);
  });

  it('truncates for strength as diffusers does (int(steps * strength) steps from the end)', () => {
    expect(firstStepForStrength(12, 0.3)).toBe(9);
    expect(firstStepForStrength(12, 1)).toBe(0);
    expect(firstStepForStrength(20, 0.55)).toBe(9);
  });
});

describe('DPM++ 2M Karras', () => {
  it('gives the golden 12-step timesteps and sigmas (1e-4)', () => {
    const { timesteps, sigmas } = karrasSchedule(12);
    expect(timesteps).toEqual(KARRAS_12_TIMESTEPS);
    expect(sigmas).toHaveLength(13);
    sigmas.forEach((s, i) => expect(Math.abs(s - KARRAS_12_SIGMAS[i])).toBeLessThan(1e-4));
    expect(karrasSchedule(20).timesteps).toEqual(KARRAS_20_TIMESTEPS);
  });

  it('runs 3 steps from t=23 for the seed defaults (12 steps, strength 0.3)', () => {
    const s = new DpmSolverMultistep(12, 0.3);
    expect(s.timesteps).toEqual([23, 4, 0]);
    expect(s.startSigma).toBeCloseTo(0.147136, 5);
  });

  it('does one first-order then one second-order (midpoint) update as computed by hand', () => {
    const s = new DpmSolverMultistep(12, 1);
    const sample = Float32Array.from([1, -0.5, 0.25]);
    const eps1 = Float32Array.from([0.2, 0.1, -0.3]);
    const eps2 = Float32Array.from([-0.1, 0.4, 0.05]);
    const [s0, s1, s2] = KARRAS_12_SIGMAS;
    // step 0: x0 = (x - σ_vp ε)/α ; x1 = (σ1_vp/σ0_vp) x - α1 (e^-h - 1) x0, λ = log α - log σ_vp
    const c0 = vp(s0), c1 = vp(s1), c2 = vp(s2);
    const lam = (c: { a: number; s: number }) => Math.log(c.a / c.s);
    const x0a = Array.from(sample, (x, k) => (x - c0.s * eps1[k]) / c0.a);
    const h1 = lam(c1) - lam(c0);
    const x1 = Array.from(sample, (x, k) => (c1.s / c0.s) * x - c1.a * (Math.exp(-h1) - 1) * x0a[k]);
    const got1 = s.step(eps1, sample);
    got1.forEach((v, k) => expect(v).toBeCloseTo(x1[k], 5));
    // step 1: D0 = x0b, D1 = (x0b - x0a)/r, r = (λ1 - λ0)/(λ2 - λ1); x2 = (σ2/σ1) x1 - φ D0 - ½ φ D1
    const x0b = Array.from(x1, (x, k) => (x - c1.s * eps2[k]) / c1.a);
    const h2 = lam(c2) - lam(c1);
    const r = h1 / h2;
    const phi = c2.a * (Math.exp(-h2) - 1);
    const x2 = x1.map((x, k) => (c2.s / c1.s) * x - phi * x0b[k] - 0.5 * phi * ((x0b[k] - x0a[k]) / r));
    const got2 = s.step(eps2, Float32Array.from(x1));
    got2.forEach((v, k) => expect(v).toBeCloseTo(x2[k], 5));
  });

  it('recovers the clean sample exactly when the model predicts the true noise', () => {
    for (const [steps, strength] of [[12, 0.3], [12, 1], [20, 0.6], [1, 1]] as const) {
      const rng = createRandom(steps * 10 + Math.round(strength * 10));
      const x0 = rng.normals(64);
      const noise = rng.normals(64);
      const s = new DpmSolverMultistep(steps, strength);
      let x = s.addNoise(x0, noise, 0);
      for (let i = 0; i < s.timesteps.length; i++) {
        // the exact ε of x = αx0 + σε
        const { a, s: sv } = vp(s.sigmaAt(i));
        const eps = x.map((v, k) => (v - a * x0[k]) / sv);
        x = s.step(eps, x);
      }
      x.forEach((v, k) => expect(v).toBeCloseTo(x0[k], 4));
    }
  });

  it('refuses to step past its schedule and restarts after reset', () => {
    const s = new DpmSolverMultistep(12, 0.3);
    const x = new Float32Array(2);
    for (let i = 0; i < 3; i++) s.step(x, x);
    expect(() => s.step(x, x)).toThrow(/all its steps/);
    s.reset();
    expect(() => s.step(x, x)).not.toThrow();
  });
});

describe('DDIM', () => {
  it('gives diffusers timesteps for SD 1.5 (leading, offset 1) and truncates for strength', () => {
    expect(ddimTimesteps(12)).toEqual(DDIM_12_TIMESTEPS);
    expect(new Ddim(12, 0.3).timesteps).toEqual([167, 84, 1]);
    expect(new Ddim(12, 0.5).timesteps).toEqual([416, 333, 250, 167, 84, 1]);
  });

  it('does one update as computed by hand and, with the true noise, ends at ᾱ_0 (set_alpha_to_one false)', () => {
    const acp = alphasCumprod();
    const s = new Ddim(12, 1);
    const x = Float32Array.from([0.3, -1.2]);
    const eps = Float32Array.from([0.5, 0.25]);
    const a = acp[914];
    const ap = acp[831];
    const expected = Array.from(x, (v, k) => Math.sqrt(ap) * ((v - Math.sqrt(1 - a) * eps[k]) / Math.sqrt(a)) + Math.sqrt(1 - ap) * eps[k]);
    s.step(eps, x).forEach((v, k) => expect(v).toBeCloseTo(expected[k], 6));

    const oracle = new Ddim(12, 0.5);
    const rng = createRandom(3);
    const x0 = rng.normals(16);
    const noise = rng.normals(16);
    let sample = oracle.addNoise(x0, noise, 0);
    for (const t of oracle.timesteps) {
      const at = acp[t];
      sample = oracle.step(sample.map((v, k) => (v - Math.sqrt(at) * x0[k]) / Math.sqrt(1 - at)), sample);
    }
    // the last step lands on ᾱ_0, not on 1, exactly as diffusers' DDIM with set_alpha_to_one=False
    sample.forEach((v, k) => expect(v).toBeCloseTo(Math.sqrt(acp[0]) * x0[k] + Math.sqrt(1 - acp[0]) * noise[k], 4));
  });
});

describe('scheduler settings', () => {
  it('creates by name and validates steps and strength', () => {
    expect(createScheduler({ name: 'ddim', steps: 12, strength: 0.3 }).name).toBe('ddim');
    expect(createScheduler({ name: 'dpmpp_2m_karras', steps: 12, strength: 0.3 }).timesteps).toHaveLength(3);
    expect(validateSchedulerSettings({ name: 'dpmpp_2m_karras', steps: 12, strength: 0.3 })).toEqual([]);
    expect(validateSchedulerSettings({ name: 'dpmpp_2m_karras', steps: 0, strength: 1.5 })).toEqual([
      'steps 0 is not an integer from 1 to 1000',
      'strength 1.5 is not in (0, 1]',
    ]);
    expect(validateSchedulerSettings({ name: 'dpmpp_2m_karras', steps: 4, strength: 0.2 })).toEqual(['strength 0.2 of 4 steps runs no step']);
  });
});
