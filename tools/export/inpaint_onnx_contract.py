"""Vanelia's inpaint model contract on the Python side: ONNX names, dynamic axis names, export and manifest.

Shared by tools/export/sd15_controlnet_inpaint.py (real weights, diffusers) and bench/gpu/inpaint_twins.py
(architecture twins). The TypeScript side is services/inpaint/src/models/model-contract.ts; keep them equal.
"""
import inspect
import json
import os
import time

import torch

OPSET = 17
TEXT_LENGTH = 77
# Downscale of the 12 ControlNet residuals against the latent, for SD 1.x's UNet.
RESIDUAL_DOWNSCALE = [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8]
CONTROLNET_OUTPUTS = [f"down_block_res_sample_{i}" for i in range(12)] + ["mid_block_res_sample"]
UNET_RESIDUAL_INPUTS = [f"down_block_additional_residual_{i}" for i in range(12)] + ["mid_block_additional_residual"]
CONTROL_INPUTS = ["sample", "timestep", "encoder_hidden_states", "controlnet_cond", "conditioning_scale"]

BATCH = {0: "batch"}
LATENT = {0: "batch", 2: "latent_height", 3: "latent_width"}
IMAGE = {0: "batch", 2: "height", 3: "width"}


def residual_axes(downscale):
    """Axis names of a residual at 1/downscale of the latent (the session fixes them by these names)."""
    if downscale == 1:
        return LATENT
    return {0: "batch", 2: f"latent_height_div{downscale}", 3: f"latent_width_div{downscale}"}


def controlnet_axes():
    axes = {"sample": LATENT, "timestep": BATCH, "encoder_hidden_states": BATCH, "controlnet_cond": IMAGE}
    for name, f in zip(CONTROLNET_OUTPUTS, RESIDUAL_DOWNSCALE + [8]):
        axes[name] = residual_axes(f)
    return axes


def unet_axes(fused):
    axes = {"sample": LATENT, "timestep": BATCH, "encoder_hidden_states": BATCH, "out_sample": LATENT}
    if fused:
        axes["controlnet_cond"] = IMAGE
    else:
        for name, f in zip(UNET_RESIDUAL_INPUTS, RESIDUAL_DOWNSCALE + [8]):
            axes[name] = residual_axes(f)
    return axes


def export_onnx(module, args, path, input_names, output_names, dynamic_axes, static=False):
    """torch.onnx.export (TorchScript exporter, opset 17); weights over 2 GB end in one `model.onnx_data`."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    kwargs = dict(input_names=input_names, output_names=output_names, opset_version=OPSET, do_constant_folding=True)
    if not static:
        kwargs["dynamic_axes"] = {k: v for k, v in dynamic_axes.items() if k in input_names + output_names}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    started = time.time()
    with torch.no_grad():
        torch.onnx.export(module, args, path, **kwargs)
    others = [f for f in os.listdir(folder) if f != os.path.basename(path)]
    if others:  # the exporter wrote one file per large tensor: gather them into one data file
        import onnx  # noqa: WPS433

        model = onnx.load(path)
        for f in others:
            os.remove(os.path.join(folder, f))
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx_data")
    print(f"exported {path} in {time.time() - started:.1f} s", flush=True)


def write_manifest(out, precision, models, fused, unet_in_channels, hidden_size, residual_channels, mid_channels,
                   residual_downscale, source, tokenizer="tokenizer", vae_scaling_factor=0.18215):
    manifest = {
        "format": "vanelia-inpaint-models",
        "version": 1,
        "precision": precision,
        "models": models,
        "controlnetFused": fused,
        "tokenizer": tokenizer,
        "unetInChannels": unet_in_channels,
        "hiddenSize": hidden_size,
        "textLength": TEXT_LENGTH,
        "latentChannels": 4,
        "vaeScaleFactor": 8,
        "vaeScalingFactor": vae_scaling_factor,
        "residualChannels": residual_channels,
        "midChannels": mid_channels,
        "residualDownscale": residual_downscale,
        "source": source,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest
