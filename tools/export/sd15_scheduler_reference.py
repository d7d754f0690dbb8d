#!/usr/bin/env python3
"""Golden values for Vanelia's TypeScript schedulers (services/inpaint/src/scheduler/*).

Prints, as JSON, the DPM++ 2M Karras schedule (timesteps and sigmas) and the DDIM timesteps for SD 1.5's
noise schedule (scaled_linear betas 0.00085..0.012, 1000 training steps, steps_offset 1).

With diffusers installed it asks diffusers itself:
    DPMSolverMultistepScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
                                use_karras_sigmas=True, lower_order_final=True)
Without it, it follows diffusers' set_timesteps line for line in numpy (float32 where diffusers uses
torch float32), which is what produced the values pinned in services/inpaint/test/scheduler.test.ts.

    python3 tools/export/sd15_scheduler_reference.py --steps 12
"""
import argparse
import json

import numpy as np

BETA_START, BETA_END, TRAIN_STEPS = 0.00085, 0.012, 1000


def with_diffusers(steps):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler  # noqa: WPS433

    common = dict(beta_schedule="scaled_linear", beta_start=BETA_START, beta_end=BETA_END, num_train_timesteps=TRAIN_STEPS)
    dpm = DPMSolverMultistepScheduler(
        **common, algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
        use_karras_sigmas=True, lower_order_final=True,
    )
    dpm.set_timesteps(steps)
    ddim = DDIMScheduler(**common, steps_offset=1, set_alpha_to_one=False, clip_sample=False)
    ddim.set_timesteps(steps)
    return {
        "source": "diffusers",
        "karras_timesteps": dpm.timesteps.tolist(),
        "karras_sigmas": dpm.sigmas.tolist(),
        "ddim_timesteps": ddim.timesteps.tolist(),
        "alphas_cumprod_0_499_999": [float(dpm.alphas_cumprod[i]) for i in (0, 499, 999)],
    }


def with_numpy(steps):
    betas = (np.linspace(BETA_START**0.5, BETA_END**0.5, TRAIN_STEPS, dtype=np.float32) ** 2).astype(np.float32)
    alphas = (1.0 - betas).astype(np.float32)
    # torch.cumprod on CPU accumulates in double and stores float32
    acp = np.cumprod(alphas.astype(np.float64)).astype(np.float32)
    sigmas_all = (((1 - acp) / acp) ** 0.5).astype(np.float32)
    log_sigmas = np.log(sigmas_all)
    flipped = np.flip(sigmas_all).copy()
    sigma_min, sigma_max = float(flipped[-1]), float(flipped[0])
    rho = 7.0
    ramp = np.linspace(0, 1, steps)
    karras = (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho

    def sigma_to_t(sigma):
        log_sigma = np.log(np.maximum(sigma, 1e-10))
        dists = log_sigma - log_sigmas[:, np.newaxis]
        low_idx = np.cumsum((dists >= 0), axis=0).argmax(axis=0).clip(max=log_sigmas.shape[0] - 2)
        high_idx = low_idx + 1
        low, high = log_sigmas[low_idx], log_sigmas[high_idx]
        w = np.clip((low - log_sigma) / (low - high), 0, 1)
        return ((1 - w) * low_idx + w * high_idx).reshape(np.shape(sigma))

    timesteps = np.array([sigma_to_t(s) for s in karras]).round().astype(np.int64)
    sigmas = np.concatenate([karras, [0.0]]).astype(np.float32)
    step_ratio = TRAIN_STEPS // steps
    ddim = (np.arange(0, steps) * step_ratio).round()[::-1].astype(np.int64) + 1
    return {
        "source": "numpy transcription of diffusers",
        "karras_timesteps": timesteps.tolist(),
        "karras_sigmas": [float(s) for s in sigmas],
        "ddim_timesteps": ddim.tolist(),
        "alphas_cumprod_0_499_999": [float(acp[i]) for i in (0, 499, 999)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--numpy", action="store_true", help="skip diffusers even when it is installed")
    args = parser.parse_args()
    try:
        if args.numpy:
            raise ImportError
        out = with_diffusers(args.steps)
    except ImportError:
        out = with_numpy(args.steps)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
