#!/usr/bin/env python3
"""Exports a DUSt3R checkpoint to Vanelia's two-file ONNX contract (see tools/export/dust3r.md).

Run it where the dust3r code and weights are (https://github.com/naver/dust3r, cloned with --recursive so
croco/ is there, and its requirements installed):

  python tools/export/export_dust3r_onnx.py --dust3r /path/to/dust3r \
      --weights naver/DUSt3R_ViTLarge_BaseDecoder_512_dpt --out models/dust3r \
      --height 288 --width 512 --pair-batch 8 [--device cuda --fp16]

--weights takes a Hugging Face repo id (as dust3r's own demo) or a local .pth checkpoint.

Writes into --out:
  dust3r_encoder.onnx  image [E, 3, H, W] float32 in [-1, 1]  ->  features [E, H/16, W/16, C] float32
  dust3r_decoder.onnx  features1, features2 [B, H/16, W/16, C]  ->  pts3d1 [B, H, W, 3], conf1 [B, H, W],
                       pts3d2 [B, H, W, 3], conf2 [B, H, W]  (both pointmaps in view 1's camera frame)
  dust3r_model.json    what was exported (sizes, batches, dtype, weights, licence)
Shapes are static (E = --encoder-batch, B = --pair-batch, H x W = --height x --width): WebGPU runs static
graphs much faster. H and W are DUSt3R's input size for your video: long side 512, the other side the
largest multiple of 16 that fits after resizing (1920x1080 -> 512x288, 1280x960 -> 512x384,
1080x1920 -> 288x512). Vanelia refuses frames whose size needs another export and says which.

What the script changes for the export (outputs are checked against dust3r's own forward unless --no-check):
  * RoPE: dust3r may use the compiled cuRoPE2D kernel, which ONNX cannot express; every attention's rope
    is replaced by an equivalent pure-PyTorch rotary embedding, and the patch positions become constants
    (croco's PositionGetter uses torch.cartesian_prod, which the exporter cannot express).
  * ManyAR_PatchEmbed (training-time landscape/portrait handling) becomes PatchEmbedDust3R, as dust3r's
    own load_model() does for inference.
  * The heads' output transforms (depth_mode, conf_mode) are applied here with exp(x) - 1 in place of
    expm1 (no ONNX symbolic in the TorchScript exporter).
DUSt3R's weights are licensed CC BY-NC-SA 4.0 (non-commercial). The exported files carry that licence.
"""
import argparse
import inspect
import json
import os
import sys
import time

import torch
import torch.nn as nn


class ExportRope2d(nn.Module):
    """Rotary embedding over 2D patch positions: the first half of each head's channels rotates with the
    row (y), the second half with the column (x), frequencies base ** (-2i / d)."""

    def __init__(self, base=100.0, max_positions=1024):
        super().__init__()
        self.base = base
        self.max_positions = max_positions

    @staticmethod
    def _rotate_half(t):
        a, b = t.chunk(2, dim=-1)
        return torch.cat((-b, a), dim=-1)

    def _rope1d(self, tokens, positions):
        d = tokens.shape[-1]
        inv = 1.0 / (self.base ** (torch.arange(0, d, 2, device=tokens.device).float() / d))
        angles = positions.float()[..., None] * inv  # [B, N, d/2]
        angles = torch.cat((angles, angles), dim=-1)[:, None]  # [B, 1, N, d]
        cos, sin = angles.cos().to(tokens.dtype), angles.sin().to(tokens.dtype)
        return tokens * cos + self._rotate_half(tokens) * sin

    def forward(self, tokens, positions):
        y, x = tokens.chunk(2, dim=-1)
        return torch.cat((self._rope1d(y, positions[:, :, 0]), self._rope1d(x, positions[:, :, 1])), dim=-1)


class ExportPositions:
    """Patch (row, column) positions as a constant of the traced graph (croco's PositionGetter builds them with
    torch.cartesian_prod, which the ONNX exporter cannot express)."""

    def __call__(self, b, h, w, device):
        h, w = int(h), int(w)
        grid = torch.tensor([[y, x] for y in range(h) for x in range(w)], dtype=torch.int64, device=device)
        return grid.view(1, h * w, 2).expand(b, -1, 2)


def to_outputs(raw, depth_mode, conf_mode):
    """DUSt3R's head post-processing (reg_dense_depth / reg_dense_conf) for the modes its checkpoints use."""
    fmap = raw.permute(0, 2, 3, 1)
    xyz = fmap[..., 0:3]
    mode, vmin, vmax = depth_mode
    if not (vmin == -float('inf') and vmax == float('inf')):
        raise SystemExit(f'unsupported bounded depth_mode {depth_mode}')
    if mode == 'linear':
        pts = xyz
    else:
        d = xyz.norm(dim=-1, keepdim=True)
        unit = xyz / d.clamp(min=1e-8)
        if mode == 'square':
            pts = unit * d.square()
        elif mode == 'exp':
            pts = unit * (torch.exp(d) - 1)
        else:
            raise SystemExit(f'unsupported depth_mode {depth_mode}')
    c = fmap[..., 3]
    mode, vmin, vmax = conf_mode
    if mode == 'exp':
        conf = vmin + c.exp().clamp(max=vmax - vmin)
    elif mode == 'sigmoid':
        conf = (vmax - vmin) * torch.sigmoid(c) + vmin
    else:
        raise SystemExit(f'unsupported conf_mode {conf_mode}')
    return pts, conf


class Encoder(nn.Module):
    def __init__(self, model, height, width):
        super().__init__()
        self.model, self.height, self.width = model, height, width

    def forward(self, image):
        b = image.shape[0]
        dtype = self.model.patch_embed.proj.weight.dtype
        true_shape = torch.tensor([[self.height, self.width]], device=image.device).repeat(b, 1)
        tokens, _, _ = self.model._encode_image(image.to(dtype), true_shape)
        return tokens.float().reshape(b, self.height // 16, self.width // 16, -1)


class Decoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, features1, features2):
        m = self.model
        dtype = m.decoder_embed.weight.dtype
        b, h1, w1, c = features1.shape
        _, h2, w2, _ = features2.shape
        f1 = features1.reshape(b, h1 * w1, c).to(dtype)
        f2 = features2.reshape(b, h2 * w2, c).to(dtype)
        pos1 = m.patch_embed.position_getter(b, h1, w1, f1.device)
        pos2 = m.patch_embed.position_getter(b, h2, w2, f2.device)
        dec1, dec2 = m._decoder(f1, pos1, f2, pos2)
        raw1 = m.downstream_head1.dpt([t.float() for t in dec1], image_size=(h1 * 16, w1 * 16))
        raw2 = m.downstream_head2.dpt([t.float() for t in dec2], image_size=(h2 * 16, w2 * 16))
        pts1, conf1 = to_outputs(raw1, m.depth_mode, m.conf_mode)
        pts2, conf2 = to_outputs(raw2, m.depth_mode, m.conf_mode)
        return pts1, conf1, pts2, conf2


def load_dust3r(repo, weights, device):
    repo = os.path.abspath(repo)
    if not os.path.isdir(os.path.join(repo, 'dust3r')) or not os.path.isdir(os.path.join(repo, 'croco', 'models')):
        raise SystemExit(f'{repo} is not a dust3r checkout with its croco submodule (git clone --recursive)')
    sys.path.insert(0, repo)
    from dust3r.model import AsymmetricCroCo3DStereo  # noqa: E402
    from dust3r.patch_embed import PatchEmbedDust3R  # noqa: E402

    model = AsymmetricCroCo3DStereo.from_pretrained(weights).to(device).eval()
    if type(model.patch_embed).__name__ == 'ManyAR_PatchEmbed':
        model.patch_embed.__class__ = PatchEmbedDust3R
    if getattr(model, 'head_type', 'dpt') != 'dpt':
        raise SystemExit(f'only DPT heads are supported, this checkpoint has {model.head_type}')
    return model


def reference_outputs(model, img1, img2):
    """dust3r's own forward on one pair (before any change to the model)."""
    b, _, h, w = img1.shape
    shape = torch.tensor([[h, w]] * b, device=img1.device)
    view1 = dict(img=img1, true_shape=shape, instance=[str(i) for i in range(b)], idx=list(range(b)))
    view2 = dict(img=img2, true_shape=shape, instance=[str(b + i) for i in range(b)], idx=list(range(b, 2 * b)))
    with torch.no_grad():
        res1, res2 = model(view1, view2)
    return res1['pts3d'], res1['conf'], res2['pts3d_in_other_view'], res2['conf']


def replace_rope(model):
    rope = ExportRope2d(base=getattr(model.rope, 'base', 100.0) if getattr(model, 'rope', None) is not None else 100.0)
    swapped = 0
    for module in model.modules():
        if getattr(module, 'rope', None) is not None and module is not rope:
            module.rope = rope
            swapped += 1
    return swapped


def export(module, args, path, inputs, outputs, opset):
    kwargs = dict(opset_version=opset, input_names=inputs, output_names=outputs, do_constant_folding=True)
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kwargs['dynamo'] = False
    started = time.time()
    with torch.no_grad():
        torch.onnx.export(module, args, path, **kwargs)
    return time.time() - started


def max_relative_error(a, b):
    scale = b.abs().max().clamp(min=1e-6)
    return float((a.float() - b.float()).abs().max() / scale)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dust3r', required=True, help='path of the dust3r repository (with croco/)')
    p.add_argument('--weights', default='naver/DUSt3R_ViTLarge_BaseDecoder_512_dpt', help='HF repo id or .pth file')
    p.add_argument('--out', required=True, help='output folder (Vanelia model dir)')
    p.add_argument('--height', type=int, default=288)
    p.add_argument('--width', type=int, default=512)
    p.add_argument('--encoder-batch', type=int, default=1)
    p.add_argument('--pair-batch', type=int, default=8)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--fp16', action='store_true', help='encoder and decoder blocks in float16 (heads stay float32); needs cuda')
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--no-check', action='store_true', help='skip comparing against dust3r and onnxruntime')
    a = p.parse_args()
    if a.height % 16 or a.width % 16 or max(a.height, a.width) != 512:
        print(f'warning: {a.width}x{a.height} is not a DUSt3R 512 input size (long side 512, multiples of 16)', file=sys.stderr)
    if a.fp16 and a.device == 'cpu':
        raise SystemExit('--fp16 needs --device cuda')
    device = torch.device(a.device)
    model = load_dust3r(a.dust3r, a.weights, device)
    torch.manual_seed(0)
    img1 = torch.rand(a.pair_batch, 3, a.height, a.width, device=device) * 2 - 1
    img2 = torch.roll(img1, shifts=a.width // 8, dims=3)
    reference = None if a.no_check else reference_outputs(model, img1, img2)

    swapped = replace_rope(model)
    model.patch_embed.position_getter = ExportPositions()
    if a.fp16:
        model.half()
        model.downstream_head1.float()
        model.downstream_head2.float()
    encoder = Encoder(model, a.height, a.width).eval()
    decoder = Decoder(model).eval()
    os.makedirs(a.out, exist_ok=True)
    enc_path = os.path.join(a.out, 'dust3r_encoder.onnx')
    dec_path = os.path.join(a.out, 'dust3r_decoder.onnx')
    timings = {}
    timings['encoder_s'] = export(encoder, (img1[: a.encoder_batch],), enc_path, ['image'], ['features'], a.opset)
    with torch.no_grad():
        feats1, feats2 = encoder(img1), encoder(img2)
        ours = decoder(feats1, feats2)
    timings['decoder_s'] = export(decoder, (feats1, feats2), dec_path, ['features1', 'features2'], ['pts3d1', 'conf1', 'pts3d2', 'conf2'], a.opset)

    checks = {}
    if reference is not None:
        for name, x, y in zip(['pts3d1', 'conf1', 'pts3d2', 'conf2'], ours, reference):
            checks[f'torch_vs_dust3r_{name}'] = max_relative_error(x, y)
        try:
            import onnxruntime as ort
            enc = ort.InferenceSession(enc_path, providers=['CPUExecutionProvider'])
            dec = ort.InferenceSession(dec_path, providers=['CPUExecutionProvider'])
            f1 = [enc.run(None, {'image': img1[i: i + a.encoder_batch].float().cpu().numpy()})[0] for i in range(0, a.pair_batch, a.encoder_batch)]
            f2 = [enc.run(None, {'image': img2[i: i + a.encoder_batch].float().cpu().numpy()})[0] for i in range(0, a.pair_batch, a.encoder_batch)]
            import numpy as np
            onnx_out = dec.run(None, {'features1': np.concatenate(f1), 'features2': np.concatenate(f2)})
            for name, x, y in zip(['pts3d1', 'conf1', 'pts3d2', 'conf2'], onnx_out, reference):
                checks[f'onnx_vs_dust3r_{name}'] = max_relative_error(torch.from_numpy(x), y.cpu())
        except ImportError:
            checks['onnx'] = 'onnxruntime not installed: ONNX outputs not compared'
    tolerance = 5e-2 if a.fp16 else 1e-3
    failed = [k for k, v in checks.items() if isinstance(v, float) and not v < tolerance]
    manifest = dict(
        contract='vanelia-dust3r-1', weights=a.weights, height=a.height, width=a.width,
        encoder_batch=a.encoder_batch, pair_batch=a.pair_batch, dtype='float16' if a.fp16 else 'float32',
        opset=a.opset, torch=torch.__version__, rope_modules_replaced=swapped, export_seconds=timings, checks=checks,
        license='DUSt3R weights: CC BY-NC-SA 4.0 (non-commercial use only)')
    with open(os.path.join(a.out, 'dust3r_model.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest, indent=2))
    if failed:
        raise SystemExit(f'exported outputs differ from dust3r beyond {tolerance}: {failed}')


if __name__ == '__main__':
    main()
