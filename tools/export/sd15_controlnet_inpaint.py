#!/usr/bin/env python3
"""Exports Stable Diffusion 1.5 + ControlNet-inpaint from diffusers into a Vanelia inpaint model folder.

Run it where the weights are (a machine with the Hugging Face cache or network access); the folder it writes is
what the inpaint service loads (VANELIA_INPAINT_MODEL_DIR) and what `vanelia models check DIR` validates:

    DIR/manifest.json                 roles, precision and architecture numbers (format vanelia-inpaint-models/1)
    DIR/text_encoder/model.onnx       input_ids [batch, 77] int64 -> last_hidden_state [batch, 77, 768]
    DIR/controlnet/model.onnx         sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale
                                      -> down_block_res_sample_0..11, mid_block_res_sample
    DIR/unet/model.onnx               sample, timestep, encoder_hidden_states, down_block_additional_residual_0..11,
                                      mid_block_additional_residual -> out_sample   (weights in model.onnx_data)
    DIR/vae_encoder/model.onnx        sample [batch, 3, H, W] in [-1, 1] -> latent_mean [batch, 4, H/8, W/8] (unscaled)
    DIR/vae_decoder/model.onnx        latent_sample (unscaled) -> sample [batch, 3, H, W] in [-1, 1]
    DIR/tokenizer/                    vocab.json, merges.txt, special_tokens_map.json, tokenizer_config.json

With --fuse-controlnet the ControlNet is exported inside the UNet graph (inputs sample, timestep,
encoder_hidden_states, controlnet_cond, conditioning_scale): the 13 residuals then stay on the GPU instead of
crossing to the host and back at every step, which matters with onnxruntime-node (no device-resident outputs).

Axes are dynamic with fixed names (batch, height, width, latent_height, latent_width, latent_height_div2/4/8 …);
the service fixes them per job through free-dimension overrides, so every run has static shapes (WebGPU ran a
UNet twice as fast with static shapes). --static FRAMESxHxW exports fixed shapes instead (then only that batch
and crop size work).

Examples:
    pip install "diffusers>=0.27" "transformers>=4.38" "torch>=2.1" onnx onnxruntime
    python3 tools/export/sd15_controlnet_inpaint.py --out models/sd15-inpaint --precision fp16 --device cuda
    python3 tools/export/sd15_controlnet_inpaint.py --out models/sd15-inpaint-fp32 --precision fp32 --device cpu --verify
    python3 tools/export/sd15_controlnet_inpaint.py --out models/sd15-inpainting --inpainting-unet runwayml/stable-diffusion-inpainting

Notes:
- fp16 export needs a CUDA device (PyTorch has no fp16 convolution on the CPU). The manifest's precision is the
  one float type of every model input and output; timestep is int64 and conditioning_scale follows the precision.
- The VAE encoder returns the latent distribution's mean (the reference pipeline samples it): deterministic
  latents keep consecutive frames consistent.
- --inpainting-unet takes the UNet (9 input channels: latents, mask, masked-image latents) from an inpainting
  checkpoint; the ControlNet still conditions it. Leave it out for the usual ControlNet-inpaint on SD 1.5.
- Licences: SD 1.5 weights are under the CreativeML OpenRAIL-M licence, ControlNet v1.1 under its own; check them
  before deploying. Nothing here downloads weights at run time: the service only reads this folder.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inpaint_onnx_contract import (  # noqa: E402
    BATCH, CONTROL_INPUTS, CONTROLNET_OUTPUTS, IMAGE, LATENT, UNET_RESIDUAL_INPUTS,
    controlnet_axes, export_onnx, unet_axes, write_manifest,
)


class TextEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids, return_dict=False)[0]


class ControlNetOutputs(nn.Module):
    def __init__(self, controlnet):
        super().__init__()
        self.controlnet = controlnet

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        down, mid = self.controlnet(sample, timestep, encoder_hidden_states=encoder_hidden_states, controlnet_cond=controlnet_cond,
                                    conditioning_scale=conditioning_scale, guess_mode=False, return_dict=False)
        return (*down, mid)


class UNetWithResiduals(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, *residuals):
        return self.unet(sample, timestep, encoder_hidden_states, down_block_additional_residuals=list(residuals[:12]),
                         mid_block_additional_residual=residuals[12], return_dict=False)[0]


class FusedControlNetUNet(nn.Module):
    def __init__(self, unet, controlnet):
        super().__init__()
        self.unet, self.controlnet = unet, controlnet

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        down, mid = self.controlnet(sample[:, :4], timestep, encoder_hidden_states=encoder_hidden_states, controlnet_cond=controlnet_cond,
                                    conditioning_scale=conditioning_scale, guess_mode=False, return_dict=False)
        return self.unet(sample, timestep, encoder_hidden_states, down_block_additional_residuals=list(down),
                         mid_block_additional_residual=mid, return_dict=False)[0]


class VaeEncoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample).latent_dist.mean


class VaeDecoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


def verify(path, input_names, args, expected, label):
    """Runs the exported model in onnxruntime (CPU) on the export's inputs and prints the largest difference."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        print(f"verify {label}: onnxruntime is not installed, skipped")
        return
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {name: a.detach().cpu().numpy() for name, a in zip(input_names, args)}
    outputs = session.run(None, feeds)
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    worst = max(float(np.max(np.abs(o.astype(np.float32) - e.detach().float().cpu().numpy()))) for o, e in zip(outputs, expected))
    print(f"verify {label}: largest difference to PyTorch {worst:.3g}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--base", default="runwayml/stable-diffusion-v1-5", help="diffusers SD 1.5 model id or local folder")
    p.add_argument("--controlnet", default="lllyasviel/control_v11p_sd15_inpaint", help="ControlNet inpaint model id or folder")
    p.add_argument("--inpainting-unet", default="", help="take a 9-channel UNet from this inpainting model id or folder")
    p.add_argument("--precision", choices=["fp16", "fp32"], default="fp16")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--fuse-controlnet", action="store_true")
    p.add_argument("--static", default="", help="FRAMESxHEIGHTxWIDTH: fixed shapes (UNet batch = 2 x frames for guidance)")
    p.add_argument("--sample-size", type=int, default=512, help="crop side used for the export's example inputs")
    p.add_argument("--verify", action="store_true", help="compare onnxruntime (CPU) with PyTorch on the example inputs")
    a = p.parse_args()

    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor
    from transformers import CLIPTextModel, CLIPTokenizer

    if a.precision == "fp16" and a.device == "cpu":
        sys.exit("fp16 export needs --device cuda (PyTorch has no fp16 convolution on the CPU); use --precision fp32")
    dtype = torch.float16 if a.precision == "fp16" else torch.float32
    dev = a.device
    load = dict(torch_dtype=dtype)
    text_encoder = CLIPTextModel.from_pretrained(a.base, subfolder="text_encoder", **load).to(dev).eval()
    tokenizer = CLIPTokenizer.from_pretrained(a.base, subfolder="tokenizer")
    unet = UNet2DConditionModel.from_pretrained(a.inpainting_unet or a.base, subfolder="unet", **load).to(dev).eval()
    vae = AutoencoderKL.from_pretrained(a.base, subfolder="vae", **load).to(dev).eval()
    controlnet = ControlNetModel.from_pretrained(a.controlnet, **load).to(dev).eval()
    for model in (unet, controlnet, vae):
        model.set_attn_processor(AttnProcessor())  # plain matmul attention: exports on every opset-17 runtime

    frames, height, width = (int(x) for x in a.static.split("x")) if a.static else (1, a.sample_size, a.sample_size)
    static, out, n = bool(a.static), a.out, 2 * frames
    hidden = text_encoder.config.hidden_size
    in_channels = unet.config.in_channels
    ids = torch.tensor([tokenizer("a photo", padding="max_length", max_length=77).input_ids] * 2, dtype=torch.int64, device=dev)
    ehs = torch.randn(n, 77, hidden, device=dev, dtype=dtype)
    t = torch.full((n,), 23, device=dev, dtype=torch.int64)
    sample = torch.randn(n, in_channels, height // 8, width // 8, device=dev, dtype=dtype)
    cond = torch.rand(n, 3, height, width, device=dev, dtype=dtype)
    scale = torch.tensor(1.0, device=dev, dtype=dtype)
    image = torch.rand(1, 3, height, width, device=dev, dtype=dtype) * 2 - 1
    latent = torch.randn(1, 4, height // 8, width // 8, device=dev, dtype=dtype)

    models = {"text_encoder": "text_encoder/model.onnx", "unet": "unet/model.onnx", "vae_encoder": "vae_encoder/model.onnx",
              "vae_decoder": "vae_decoder/model.onnx"}
    exports = []  # (module, args, file, inputs, outputs, axes, static)
    exports.append((TextEncoder(text_encoder), (ids,), "text_encoder/model.onnx", ["input_ids"], ["last_hidden_state"],
                    {"input_ids": BATCH, "last_hidden_state": BATCH}, False))
    with torch.no_grad():
        down, mid = controlnet(sample[:, :4], t, encoder_hidden_states=ehs, controlnet_cond=cond, conditioning_scale=scale,
                               guess_mode=False, return_dict=False)
    residual_channels = [int(r.shape[1]) for r in down]
    downscale = [int(sample.shape[2] // r.shape[2]) for r in down]
    if a.fuse_controlnet:
        exports.append((FusedControlNetUNet(unet, controlnet), (sample, t, ehs, cond, scale), "unet/model.onnx", CONTROL_INPUTS,
                        ["out_sample"], unet_axes(True), static))
    else:
        models["controlnet"] = "controlnet/model.onnx"
        exports.append((ControlNetOutputs(controlnet), (sample[:, :4], t, ehs, cond, scale), "controlnet/model.onnx", CONTROL_INPUTS,
                        CONTROLNET_OUTPUTS, controlnet_axes(), static))
        exports.append((UNetWithResiduals(unet), (sample, t, ehs, *down, mid), "unet/model.onnx",
                        ["sample", "timestep", "encoder_hidden_states", *UNET_RESIDUAL_INPUTS], ["out_sample"], unet_axes(False), static))
    exports.append((VaeEncoder(vae), (image,), "vae_encoder/model.onnx", ["sample"], ["latent_mean"],
                    {"sample": IMAGE, "latent_mean": LATENT}, False))
    exports.append((VaeDecoder(vae), (latent,), "vae_decoder/model.onnx", ["latent_sample"], ["sample"],
                    {"latent_sample": LATENT, "sample": IMAGE}, False))

    for module, args, file, inputs, outputs, axes, fixed in exports:
        path = os.path.join(out, file)
        export_onnx(module, args, path, inputs, outputs, axes, fixed)
        if a.verify:
            with torch.no_grad():
                expected = module(*args)
            verify(path, inputs, args, expected, file)
    tokenizer.save_pretrained(os.path.join(out, "tokenizer"))
    source = f"{a.base} + {a.controlnet}" + (f" (UNet from {a.inpainting_unet})" if a.inpainting_unet else "")
    write_manifest(out, a.precision, models, a.fuse_controlnet, in_channels, hidden, residual_channels, int(mid.shape[1]),
                   downscale, source, vae_scaling_factor=float(vae.config.scaling_factor))
    print(f"wrote {out}; check it with: vanelia models check {out}")


if __name__ == "__main__":
    main()
