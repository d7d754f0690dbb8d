#!/usr/bin/env python3
"""Architecture twins of SD 1.5 + ControlNet-inpaint for Vanelia's GPU benchmark (bench/gpu/inpaint.ts).

Our own PyTorch definitions of the real topologies — UNet2DConditionModel (860 M parameters), ControlNetModel
(361 M), AutoencoderKL (84 M) and a CLIP-L text encoder (123 M) — with random weights (diffusers is not needed),
exported to ONNX (opset 17, dynamo=False) with Vanelia's inpaint model contract, plus manifest.json and a
byte-level tokenizer, so `vanelia models check` accepts the folder and the service and the benchmark run it.

    python3 bench/gpu/inpaint_twins.py --out /tmp/twins --precision fp16 --device cuda [--fused] [--attention mha]
    python3 bench/gpu/inpaint_twins.py --out /tmp/twins-tiny --tiny --precision fp32 --device cpu   # CPU check

Also times the same architectures in PyTorch eager (--torch-bench) for an anchor on the same card.
Shapes are exported with named dynamic axes; the session fixes them (free-dimension overrides), or use
--static BATCHxHEIGHTxWIDTH (frames, pixels) for a fully static export.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "export"))
from inpaint_onnx_contract import (  # noqa: E402
    CONTROL_INPUTS, CONTROLNET_OUTPUTS, IMAGE, LATENT, RESIDUAL_DOWNSCALE, UNET_RESIDUAL_INPUTS, BATCH,
    controlnet_axes, export_onnx, unet_axes, write_manifest,
)

# ----------------------------------------------------------------------------------------------- configs

SD15 = dict(
    unet_channels=(320, 640, 1280, 1280), layers=2, heads=8, cross_dim=768, groups=32,
    cond_channels=(16, 32, 96, 256), vae_channels=(128, 256, 512, 512), vae_layers=2,
    text_width=768, text_layers=12, text_heads=12, text_ff=3072, vocab=49408,
)
TINY = dict(
    unet_channels=(32, 64, 64, 64), layers=2, heads=2, cross_dim=32, groups=8,
    cond_channels=(8, 8, 16, 16), vae_channels=(16, 16, 32, 32), vae_layers=1,
    text_width=32, text_layers=1, text_heads=2, text_ff=64, vocab=49408,
)

# ----------------------------------------------------------------------------------------------- blocks


def group_norm(ch, groups, eps):
    return nn.GroupNorm(min(groups, ch), ch, eps=eps)


class MhaFn(torch.autograd.Function):
    """Attention that exports as com.microsoft::MultiHeadAttention (onnxruntime's fused kernel)."""

    @staticmethod
    def forward(ctx, q, k, v, heads):
        return plain_attention(q, k, v, heads)

    @staticmethod
    def symbolic(g, q, k, v, heads):
        return g.op("com.microsoft::MultiHeadAttention", q, k, v, num_heads_i=heads)


def plain_attention(q, k, v, heads):
    b, s, c = q.shape
    d = c // heads
    q = q.reshape(b, -1, heads, d).transpose(1, 2)
    k = k.reshape(b, -1, heads, d).transpose(1, 2)
    v = v.reshape(b, -1, heads, d).transpose(1, 2)
    w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (d ** -0.5), dim=-1)
    return torch.matmul(w, v).transpose(1, 2).reshape(b, -1, c)


ATTENTION = {"mode": "plain"}


def attention(q, k, v, heads):
    if ATTENTION["mode"] == "mha" and torch.onnx.is_in_onnx_export():
        return MhaFn.apply(q, k, v, heads)
    if ATTENTION["mode"] == "sdpa" and hasattr(F, "scaled_dot_product_attention") and not torch.onnx.is_in_onnx_export():
        b, s, c = q.shape
        d = c // heads
        split = lambda t: t.reshape(b, -1, heads, d).transpose(1, 2)  # noqa: E731
        return F.scaled_dot_product_attention(split(q), split(k), split(v)).transpose(1, 2).reshape(b, -1, c)
    return plain_attention(q, k, v, heads)


class Attention(nn.Module):
    def __init__(self, dim, heads, context_dim=None, bias=False):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_v = nn.Linear(context_dim or dim, dim, bias=bias)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, context=None):
        context = x if context is None else context
        return self.to_out(attention(self.to_q(x), self.to_k(context), self.to_v(context), self.heads))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1, self.attn1 = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.attn2 = nn.LayerNorm(dim), Attention(dim, heads, context_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(GEGLU(dim, dim * 4), nn.Linear(dim * 4, dim))

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class Transformer2D(nn.Module):
    def __init__(self, ch, heads, context_dim, groups):
        super().__init__()
        self.norm = group_norm(ch, groups, 1e-6)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.block = TransformerBlock(ch, heads, context_dim)
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        y = self.block(y, context).reshape(b, h, w, c).permute(0, 3, 1, 2)
        return x + self.proj_out(y)


class Resnet(nn.Module):
    def __init__(self, cin, cout, groups, temb=None, eps=1e-5):
        super().__init__()
        self.norm1, self.conv1 = group_norm(cin, groups, eps), nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout) if temb else None
        self.norm2, self.conv2 = group_norm(cout, groups, eps), nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return self.shortcut(x) + h


class Downsample(nn.Module):
    def __init__(self, ch, vae=False):
        super().__init__()
        self.vae = vae
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=0 if vae else 1)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)) if self.vae else x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # flip_sin_to_cos=True


class TimeEmbedding(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.cin = cin
        self.linear_1, self.linear_2 = nn.Linear(cin, cout), nn.Linear(cout, cout)

    def forward(self, t, dtype):
        return self.linear_2(F.silu(self.linear_1(timestep_embedding(t, self.cin).to(dtype))))


class Encoder(nn.Module):
    """UNet / ControlNet down path and mid block; returns the 12 skip states and the mid output."""

    def __init__(self, c, in_channels):
        super().__init__()
        ch, g, L = c["unet_channels"], c["groups"], c["layers"]
        temb = ch[0] * 4
        self.conv_in = nn.Conv2d(in_channels, ch[0], 3, padding=1)
        self.time_embedding = TimeEmbedding(ch[0], temb)
        self.down = nn.ModuleList()
        prev = ch[0]
        for i, out in enumerate(ch):
            block = nn.Module()
            block.resnets = nn.ModuleList([Resnet(prev if j == 0 else out, out, g, temb) for j in range(L)])
            block.attns = nn.ModuleList([Transformer2D(out, c["heads"], c["cross_dim"], g) for _ in range(L)]) if i < 3 else None
            block.downsample = Downsample(out) if i < 3 else None
            self.down.append(block)
            prev = out
        self.mid_resnets = nn.ModuleList([Resnet(ch[-1], ch[-1], g, temb), Resnet(ch[-1], ch[-1], g, temb)])
        self.mid_attn = Transformer2D(ch[-1], c["heads"], c["cross_dim"], g)

    def forward(self, x, temb, context, hint=None):
        x = self.conv_in(x)
        if hint is not None:
            x = x + hint
        skips = [x]
        for block in self.down:
            for j, resnet in enumerate(block.resnets):
                x = resnet(x, temb)
                if block.attns is not None:
                    x = block.attns[j](x, context)
                skips.append(x)
            if block.downsample is not None:
                x = block.downsample(x)
                skips.append(x)
        x = self.mid_resnets[0](x, temb)
        x = self.mid_attn(x, context)
        return skips, self.mid_resnets[1](x, temb)


class UNet(nn.Module):
    def __init__(self, c, in_channels=4):
        super().__init__()
        ch, g, L = c["unet_channels"], c["groups"], c["layers"]
        temb = ch[0] * 4
        self.encoder = Encoder(c, in_channels)
        rev = list(reversed(ch))
        self.up = nn.ModuleList()
        prev = rev[0]
        skip_channels = [ch[0]] + [o for i, o in enumerate(ch) for _ in range(L + (1 if i < 3 else 0))]
        for i, out in enumerate(rev):
            block = nn.Module()
            resnets = []
            for j in range(L + 1):
                skip = skip_channels.pop()
                resnets.append(Resnet((prev if j == 0 else out) + skip, out, g, temb))
            block.resnets = nn.ModuleList(resnets)
            block.attns = nn.ModuleList([Transformer2D(out, c["heads"], c["cross_dim"], g) for _ in range(L + 1)]) if i > 0 else None
            block.upsample = Upsample(out) if i < 3 else None
            self.up.append(block)
            prev = out
        self.norm_out, self.conv_out = group_norm(ch[0], g, 1e-5), nn.Conv2d(ch[0], 4, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, residuals, mid_residual):
        temb = self.encoder.time_embedding(timestep, sample.dtype)
        skips, x = self.encoder(sample, temb, encoder_hidden_states)
        skips = [s + r for s, r in zip(skips, residuals)]
        x = x + mid_residual
        for block in self.up:
            for j, resnet in enumerate(block.resnets):
                x = resnet(torch.cat([x, skips.pop()], dim=1), temb)
                if block.attns is not None:
                    x = block.attns[j](x, encoder_hidden_states)
            if block.upsample is not None:
                x = block.upsample(x)
        return self.conv_out(F.silu(self.norm_out(x)))


class ControlNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, cc = c["unet_channels"], c["cond_channels"]
        self.encoder = Encoder(c, 4)
        layers = [nn.Conv2d(3, cc[0], 3, padding=1), nn.SiLU()]
        for a, b in zip(cc[:-1], cc[1:]):
            layers += [nn.Conv2d(a, a, 3, padding=1), nn.SiLU(), nn.Conv2d(a, b, 3, padding=1, stride=2), nn.SiLU()]
        layers += [nn.Conv2d(cc[-1], ch[0], 3, padding=1)]
        self.cond_embedding = nn.Sequential(*layers)
        out_channels = [ch[0]] + [o for i, o in enumerate(ch) for _ in range(c["layers"] + (1 if i < 3 else 0))]
        self.zero_convs = nn.ModuleList([nn.Conv2d(o, o, 1) for o in out_channels])
        self.mid_zero_conv = nn.Conv2d(ch[-1], ch[-1], 1)

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        temb = self.encoder.time_embedding(timestep, sample.dtype)
        skips, mid = self.encoder(sample, temb, encoder_hidden_states, self.cond_embedding(controlnet_cond))
        residuals = [conv(s) * conditioning_scale for conv, s in zip(self.zero_convs, skips)]
        return residuals, self.mid_zero_conv(mid) * conditioning_scale


class VaeAttention(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.norm = group_norm(ch, groups, 1e-6)
        self.attn = Attention(ch, 1, bias=True)

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        return x + self.attn(y).transpose(1, 2).reshape(b, c, h, w)


class VaeEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, g, L = c["vae_channels"], c["groups"], c["vae_layers"]
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        blocks, prev = [], ch[0]
        for i, out in enumerate(ch):
            blocks += [Resnet(prev if j == 0 else out, out, g, eps=1e-6) for j in range(L)]
            if i < len(ch) - 1:
                blocks.append(Downsample(out, vae=True))
            prev = out
        self.down = nn.Sequential(*blocks)
        self.mid = nn.Sequential(Resnet(ch[-1], ch[-1], g, eps=1e-6), VaeAttention(ch[-1], g), Resnet(ch[-1], ch[-1], g, eps=1e-6))
        self.norm_out, self.conv_out = group_norm(ch[-1], g, 1e-6), nn.Conv2d(ch[-1], 8, 3, padding=1)
        self.quant_conv = nn.Conv2d(8, 8, 1)

    def forward(self, sample):
        x = self.mid(self.down(self.conv_in(sample)))
        moments = self.quant_conv(self.conv_out(F.silu(self.norm_out(x))))
        return moments[:, :4]  # the latent distribution's mean


class VaeDecoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, g, L = list(reversed(c["vae_channels"])), c["groups"], c["vae_layers"]
        self.post_quant_conv = nn.Conv2d(4, 4, 1)
        self.conv_in = nn.Conv2d(4, ch[0], 3, padding=1)
        self.mid = nn.Sequential(Resnet(ch[0], ch[0], g, eps=1e-6), VaeAttention(ch[0], g), Resnet(ch[0], ch[0], g, eps=1e-6))
        blocks, prev = [], ch[0]
        for i, out in enumerate(ch):
            blocks += [Resnet(prev if j == 0 else out, out, g, eps=1e-6) for j in range(L + 1)]
            if i < len(ch) - 1:
                blocks.append(Upsample(out))
            prev = out
        self.up = nn.Sequential(*blocks)
        self.norm_out, self.conv_out = group_norm(ch[-1], g, 1e-6), nn.Conv2d(ch[-1], 3, 3, padding=1)

    def forward(self, latent_sample):
        x = self.up(self.mid(self.conv_in(self.post_quant_conv(latent_sample))))
        return self.conv_out(F.silu(self.norm_out(x)))


class TextEncoder(nn.Module):
    """CLIP ViT-L/14 text transformer (causal self-attention, quick-GELU MLP, final layer norm)."""

    def __init__(self, c):
        super().__init__()
        w = c["text_width"]
        self.token_embedding = nn.Embedding(c["vocab"], w)
        self.position_embedding = nn.Parameter(torch.randn(77, w) * 0.01)
        self.layers = nn.ModuleList()
        for _ in range(c["text_layers"]):
            layer = nn.Module()
            layer.norm1, layer.attn = nn.LayerNorm(w), Attention(w, c["text_heads"], bias=True)
            layer.norm2, layer.fc1, layer.fc2 = nn.LayerNorm(w), nn.Linear(w, c["text_ff"]), nn.Linear(c["text_ff"], w)
            self.layers.append(layer)
        self.final_norm = nn.LayerNorm(w)
        self.heads = c["text_heads"]

    def forward(self, input_ids):
        x = self.token_embedding(input_ids) + self.position_embedding
        mask = torch.full((77, 77), float("-inf"), device=x.device, dtype=x.dtype).triu(1)
        for layer in self.layers:
            h = layer.norm1(x)
            b, s, c = h.shape
            d = c // self.heads
            split = lambda t: t.reshape(b, s, self.heads, d).transpose(1, 2)  # noqa: E731
            q, k, v = split(layer.attn.to_q(h)), split(layer.attn.to_k(h)), split(layer.attn.to_v(h))
            a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * d ** -0.5 + mask, dim=-1)
            x = x + layer.attn.to_out(torch.matmul(a, v).transpose(1, 2).reshape(b, s, c))
            h = layer.fc1(layer.norm2(x))
            x = x + layer.fc2(h * torch.sigmoid(1.702 * h))
        return self.final_norm(x)


# ----------------------------------------------------------------------------------------------- export wrappers


class UNetWithResiduals(nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, *residuals):
        return self.unet(sample, timestep, encoder_hidden_states, list(residuals[:12]), residuals[12])


class ControlNetOutputs(nn.Module):
    def __init__(self, controlnet):
        super().__init__()
        self.controlnet = controlnet

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        residuals, mid = self.controlnet(sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale)
        return (*residuals, mid)


class FusedControlNetUNet(nn.Module):
    def __init__(self, unet, controlnet):
        super().__init__()
        self.unet, self.controlnet = unet, controlnet

    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale):
        residuals, mid = self.controlnet(sample[:, :4], timestep, encoder_hidden_states, controlnet_cond, conditioning_scale)
        return self.unet(sample, timestep, encoder_hidden_states, residuals, mid)


def byte_tokenizer(folder):
    """A valid CLIP-format tokenizer with no merges (byte symbols only): enough to drive the pipeline."""
    os.makedirs(folder, exist_ok=True)
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    symbols = [chr(c) for c in cs]
    vocab = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")


def count(module):
    return sum(p.numel() for p in module.parameters())


def torch_bench(unet, controlnet, c, device, dtype, batch, h, w, steps=3, repeats=3):
    """PyTorch eager time of `steps` ControlNet + UNet evaluations on a CFG batch of 2·batch (seconds)."""
    n = 2 * batch
    sample = torch.randn(n, 4, h // 8, w // 8, device=device, dtype=dtype)
    t = torch.full((n,), 23, device=device, dtype=torch.int64)
    ehs = torch.randn(n, 77, c["cross_dim"], device=device, dtype=dtype)
    cond = torch.randn(n, 3, h, w, device=device, dtype=dtype)
    scale = torch.tensor(1.0, device=device, dtype=dtype)
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.time()
            for _ in range(steps):
                r, m = controlnet(sample, t, ehs, cond, scale)
                unet(sample, t, ehs, r, m)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.time() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--tiny", action="store_true", help="small channels (CPU check of the script)")
    p.add_argument("--precision", choices=["fp16", "fp32"], default="fp16")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--fused", action="store_true", help="export ControlNet and UNet as one graph")
    p.add_argument("--attention", choices=["plain", "mha"], default="plain", help="mha: com.microsoft::MultiHeadAttention")
    p.add_argument("--static", default="", help="FRAMESxHEIGHTxWIDTH: export fixed shapes (CFG doubles the UNet batch)")
    p.add_argument("--torch-bench", default="", help="comma list of FRAMESxHEIGHTxWIDTH to time in PyTorch eager")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    c = TINY if a.tiny else SD15
    dtype = torch.float16 if a.precision == "fp16" else torch.float32
    dev = a.device
    unet, controlnet = UNet(c).to(dev, dtype).eval(), ControlNet(c).to(dev, dtype).eval()
    vae_enc, vae_dec, text = VaeEncoder(c).to(dev, dtype).eval(), VaeDecoder(c).to(dev, dtype).eval(), TextEncoder(c).to(dev, dtype).eval()
    params = {"unet": count(unet), "controlnet": count(controlnet), "vae": count(vae_enc) + count(vae_dec), "text_encoder": count(text)}
    print("parameters:", {k: f"{v / 1e6:.1f} M" for k, v in params.items()}, flush=True)

    results = {"params": params, "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "precision": a.precision}
    if a.torch_bench:
        ATTENTION["mode"] = "sdpa"
        results["torch_eager"] = []
        for spec in a.torch_bench.split(","):
            b, h, w = (int(x) for x in spec.split("x"))
            try:
                s = torch_bench(unet, controlnet, c, dev, dtype, b, h, w)
                row = {"frames": b, "height": h, "width": w, "denoise_s_per_batch": s, "denoise_frames_per_s": b / s}
            except RuntimeError as error:  # out of memory
                row = {"frames": b, "height": h, "width": w, "error": str(error).split("\n")[0]}
                torch.cuda.empty_cache() if dev == "cuda" else None
            print("torch eager (ControlNet + UNet, 3 steps, CFG):", row, flush=True)
            results["torch_eager"].append(row)

    ATTENTION["mode"] = a.attention
    frames, height, width = (int(x) for x in a.static.split("x")) if a.static else (1, 64 if a.tiny else 512, 64 if a.tiny else 512)
    n, static, out = 2 * frames, bool(a.static), a.out
    ehs = torch.randn(n, 77, c["cross_dim"], device=dev, dtype=dtype)
    t = torch.full((n,), 23, device=dev, dtype=torch.int64)
    sample = torch.randn(n, 4, height // 8, width // 8, device=dev, dtype=dtype)
    cond = torch.randn(n, 3, height, width, device=dev, dtype=dtype)
    scale = torch.tensor(1.0, device=dev, dtype=dtype)
    models = {"text_encoder": "text_encoder/model.onnx", "unet": "unet/model.onnx", "vae_encoder": "vae_encoder/model.onnx", "vae_decoder": "vae_decoder/model.onnx"}

    export_onnx(text, (torch.zeros(2, 77, dtype=torch.int64, device=dev),), f"{out}/text_encoder/model.onnx",
                ["input_ids"], ["last_hidden_state"], {"input_ids": BATCH, "last_hidden_state": BATCH}, static)
    if a.fused:
        export_onnx(FusedControlNetUNet(unet, controlnet), (sample, t, ehs, cond, scale), f"{out}/unet/model.onnx",
                    CONTROL_INPUTS, ["out_sample"], unet_axes(True), static)
    else:
        with torch.no_grad():
            residuals, mid = controlnet(sample, t, ehs, cond, scale)
        export_onnx(ControlNetOutputs(controlnet), (sample, t, ehs, cond, scale), f"{out}/controlnet/model.onnx",
                    CONTROL_INPUTS, CONTROLNET_OUTPUTS, controlnet_axes(), static)
        export_onnx(UNetWithResiduals(unet), (sample, t, ehs, *residuals, mid), f"{out}/unet/model.onnx",
                    ["sample", "timestep", "encoder_hidden_states", *UNET_RESIDUAL_INPUTS], ["out_sample"], unet_axes(False), static)
        models["controlnet"] = "controlnet/model.onnx"
    vae_tile = 64 if a.tiny else 512
    export_onnx(vae_enc, (torch.randn(1, 3, vae_tile, vae_tile, device=dev, dtype=dtype),), f"{out}/vae_encoder/model.onnx",
                ["sample"], ["latent_mean"], {"sample": IMAGE, "latent_mean": LATENT})
    export_onnx(vae_dec, (torch.randn(1, 4, vae_tile // 8, vae_tile // 8, device=dev, dtype=dtype),), f"{out}/vae_decoder/model.onnx",
                ["latent_sample"], ["sample"], {"latent_sample": LATENT, "sample": IMAGE})
    byte_tokenizer(f"{out}/tokenizer")
    ch = c["unet_channels"]
    residual_channels = [ch[0]] + [o for i, o in enumerate(ch) for _ in range(c["layers"] + (1 if i < 3 else 0))]
    source = (f"architecture twins, random weights (seed {a.seed}), {'tiny' if a.tiny else 'SD 1.5 sizes'}, attention {a.attention}"
              + (f", static {a.static}" if static else ""))
    write_manifest(out, a.precision, models, a.fused, 4, c["cross_dim"], residual_channels, ch[-1], RESIDUAL_DOWNSCALE, source)
    with open(f"{out}/twins.json", "w") as f:
        json.dump(results, f, indent=2)
    print("wrote", out, flush=True)


if __name__ == "__main__":
    main()
