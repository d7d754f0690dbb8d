#!/usr/bin/env python3
"""Builds a DUSt3R architecture twin with random weights and exports it with Vanelia's DUSt3R contract.

Real topology of DUSt3R_ViTLarge_BaseDecoder_512_dpt, written here from the paper's description (no dust3r code):
ViT-L/16 encoder (24 blocks, 1024 wide, 16 heads, 2D RoPE with base 100), a linear projection to 768, two
ViT-B decoders (12 blocks each: self-attention, cross-attention to the other view, MLP; 12 heads, RoPE),
and two DPT heads (hooks on the encoder output and decoder blocks 6, 9, 12) with DUSt3R's output transforms
(points: xyz/|xyz| * expm1|xyz|; confidence: 1 + exp).

Files (per the contract in services/pose/src/dust3r/contract.ts):
  OUT/b<B>/dust3r_encoder.onnx   image [E, 3, H, W] -> features [E, H/16, W/16, C]   (E = --encoder-batch)
  OUT/b<B>/dust3r_decoder.onnx   features1, features2 [B, H/16, W/16, C] -> pts3d1, conf1, pts3d2, conf2
for each B in --pair-batches; the encoder file is written once and hard-linked into every folder.
Static shapes, opset 17, TorchScript exporter (dynamo=False). Float32 inputs and outputs; with --fp16 the
transformer blocks run in float16 inside the graph (heads stay float32, as DUSt3R runs them).

GPU machine:  python3 bench/gpu/pose_dust3r_twin.py --out /tmp/dust3r-twin --device cuda --fp16
This CPU:     python3 bench/gpu/pose_dust3r_twin.py --out /tmp/dust3r-tiny --tiny
"""
import argparse
import inspect
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Rope2d(nn.Module):
    """Rotary position embedding over a fixed patch grid: the first half of each head's channels rotates with
    the patch row, the second half with the column; frequencies base ** (-2i / d) as in RoFormer."""

    def __init__(self, head_dim, rows, cols, base=100.0):
        super().__init__()
        half = head_dim // 2
        inv = 1.0 / (base ** (torch.arange(0, half, 2).float() / half))
        ys = torch.arange(rows).float().repeat_interleave(cols)
        xs = torch.arange(cols).float().repeat(rows)

        def tables(pos):
            angles = torch.outer(pos, inv)
            angles = torch.cat((angles, angles), dim=-1)
            return angles.cos(), angles.sin()

        cy, sy = tables(ys)
        cx, sx = tables(xs)
        self.register_buffer('cos', torch.cat((cy, cx), dim=-1)[None, None], persistent=False)
        self.register_buffer('sin', torch.cat((sy, sx), dim=-1)[None, None], persistent=False)
        self.half = half

    @staticmethod
    def _rotate(t):
        a, b = t.chunk(2, dim=-1)
        return torch.cat((-b, a), dim=-1)

    def forward(self, t):
        y, x = t[..., : self.half], t[..., self.half:]
        rot = torch.cat((self._rotate(y), self._rotate(x)), dim=-1)
        return t * self.cos.to(t.dtype) + rot * self.sin.to(t.dtype)


def attention(q, k, v):
    scale = q.shape[-1] ** -0.5
    weights = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
    return weights @ v


class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, rope):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        out = attention(rope(q), rope(k), v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class CrossAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, y, rope_x, rope_y):
        b, n, c = x.shape
        m = y.shape[1]
        split = lambda t, length: t.reshape(b, length, self.heads, c // self.heads).transpose(1, 2)
        out = attention(rope_x(split(self.q(x), n)), rope_y(split(self.k(y), m)), split(self.v(y), m))
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


def mlp(dim):
    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))


class EncoderBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), SelfAttention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), mlp(dim)

    def forward(self, x, rope):
        x = x + self.attn(self.norm1(x), rope)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), SelfAttention(dim, heads)
        self.norm2, self.norm_y, self.cross = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6), CrossAttention(dim, heads)
        self.norm3, self.mlp = nn.LayerNorm(dim, eps=1e-6), mlp(dim)

    def forward(self, x, y, rope_x, rope_y):
        x = x + self.attn(self.norm1(x), rope_x)
        x = x + self.cross(self.norm2(x), self.norm_y(y), rope_x, rope_y)
        return x + self.mlp(self.norm3(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.rows, self.cols = c['height'] // 16, c['width'] // 16
        self.patch = nn.Conv2d(3, c['enc_dim'], 16, 16)
        self.rope = Rope2d(c['enc_dim'] // c['enc_heads'], self.rows, self.cols)
        self.blocks = nn.ModuleList(EncoderBlock(c['enc_dim'], c['enc_heads']) for _ in range(c['enc_depth']))
        self.norm = nn.LayerNorm(c['enc_dim'], eps=1e-6)

    def forward(self, image):
        dtype = self.patch.weight.dtype
        x = self.patch(image.to(dtype)).flatten(2).transpose(1, 2)
        for block in self.blocks:
            x = block(x, self.rope)
        x = self.norm(x)
        return x.reshape(x.shape[0], self.rows, self.cols, -1).float()


class ConvUnit(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(ch, ch, 3, padding=1), nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class Fusion(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.res1, self.res2, self.out = ConvUnit(ch), ConvUnit(ch), nn.Conv2d(ch, ch, 1)

    def forward(self, x, skip=None):
        if skip is not None:
            x = x + self.res1(skip)
        x = F.interpolate(self.res2(x), scale_factor=2, mode='bilinear', align_corners=True)
        return self.out(x)


class DptHead(nn.Module):
    """DPT regression head: four hooked token maps reassembled at strides 4, 8, 16, 32, fused coarse to fine."""

    def __init__(self, enc_dim, dec_dim, feature, dims):
        super().__init__()
        ins = [enc_dim, dec_dim, dec_dim, dec_dim]
        self.post = nn.ModuleList([
            nn.Sequential(nn.Conv2d(ins[0], dims[0], 1), nn.ConvTranspose2d(dims[0], dims[0], 4, 4)),
            nn.Sequential(nn.Conv2d(ins[1], dims[1], 1), nn.ConvTranspose2d(dims[1], dims[1], 2, 2)),
            nn.Sequential(nn.Conv2d(ins[2], dims[2], 1)),
            nn.Sequential(nn.Conv2d(ins[3], dims[3], 1), nn.Conv2d(dims[3], dims[3], 3, 2, 1)),
        ])
        self.project = nn.ModuleList(nn.Conv2d(d, feature, 3, padding=1, bias=False) for d in dims)
        self.fuse = nn.ModuleList(Fusion(feature) for _ in range(4))
        self.head = nn.Sequential(
            nn.Conv2d(feature, feature // 2, 3, padding=1), nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True),
            nn.Conv2d(feature // 2, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 4, 1))

    def forward(self, tokens, rows, cols):
        maps = [t.float().transpose(1, 2).reshape(t.shape[0], -1, rows, cols) for t in tokens]
        layers = [p(self.post[i](m)) for i, (p, m) in enumerate(zip(self.project, maps))]
        x = self.fuse[3](layers[3])[:, :, :rows, :cols]
        x = self.fuse[2](x, layers[2])
        x = self.fuse[1](x, layers[1])
        x = self.fuse[0](x, layers[0])
        out = self.head(x).permute(0, 2, 3, 1)
        xyz, c = out[..., :3], out[..., 3]
        d = xyz.norm(dim=-1, keepdim=True)
        pts = xyz / d.clamp(min=1e-8) * (torch.exp(d) - 1)  # expm1: no ONNX symbolic in the TorchScript exporter
        return pts, 1 + torch.exp(c)


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.rows, self.cols = c['height'] // 16, c['width'] // 16
        depth = c['dec_depth']
        self.hooks = [0, depth * 2 // 4, depth * 3 // 4, depth]
        self.embed = nn.Linear(c['enc_dim'], c['dec_dim'])
        self.rope = Rope2d(c['dec_dim'] // c['dec_heads'], self.rows, self.cols)
        self.blocks1 = nn.ModuleList(DecoderBlock(c['dec_dim'], c['dec_heads']) for _ in range(depth))
        self.blocks2 = nn.ModuleList(DecoderBlock(c['dec_dim'], c['dec_heads']) for _ in range(depth))
        self.norm = nn.LayerNorm(c['dec_dim'], eps=1e-6)
        self.head1 = DptHead(c['enc_dim'], c['dec_dim'], c['dpt_feature'], c['dpt_dims'])
        self.head2 = DptHead(c['enc_dim'], c['dec_dim'], c['dpt_feature'], c['dpt_dims'])

    def forward(self, features1, features2):
        dtype = self.embed.weight.dtype
        b = features1.shape[0]
        f1 = features1.reshape(b, self.rows * self.cols, -1).to(dtype)
        f2 = features2.reshape(b, self.rows * self.cols, -1).to(dtype)
        out1, out2 = [f1], [f2]
        x1, x2 = self.embed(f1), self.embed(f2)
        for blk1, blk2 in zip(self.blocks1, self.blocks2):
            x1, x2 = blk1(x1, x2, self.rope, self.rope), blk2(x2, x1, self.rope, self.rope)
            out1.append(x1)
            out2.append(x2)
        out1[-1], out2[-1] = self.norm(out1[-1]), self.norm(out2[-1])
        pts1, conf1 = self.head1([out1[i] for i in self.hooks], self.rows, self.cols)
        pts2, conf2 = self.head2([out2[i] for i in self.hooks], self.rows, self.cols)
        return pts1, conf1, pts2, conf2


FULL = dict(enc_dim=1024, enc_depth=24, enc_heads=16, dec_dim=768, dec_depth=12, dec_heads=12, dpt_feature=256, dpt_dims=[96, 192, 384, 768])
TINY = dict(enc_dim=64, enc_depth=2, enc_heads=2, dec_dim=48, dec_depth=4, dec_heads=2, dpt_feature=16, dpt_dims=[8, 16, 16, 32])


def export(module, args, path, inputs, outputs):
    kwargs = dict(opset_version=17, input_names=inputs, output_names=outputs, do_constant_folding=True)
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kwargs['dynamo'] = False
    started = time.time()
    with torch.no_grad():
        torch.onnx.export(module, args, path, **kwargs)
    return time.time() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--height', type=int, default=288)
    parser.add_argument('--width', type=int, default=512)
    parser.add_argument('--encoder-batch', type=int, default=1)
    parser.add_argument('--pair-batches', default='1,4,8', help='decoder batch sizes, one export each')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--fp16', action='store_true', help='transformer blocks in float16 (needs --device cuda)')
    parser.add_argument('--tiny', action='store_true', help='tiny widths and depths (CPU smoke test of the same code)')
    parser.add_argument('--seed', type=int, default=0)
    a = parser.parse_args()
    if a.height % 16 or a.width % 16:
        parser.error('height and width must be multiples of 16')
    if a.fp16 and a.device == 'cpu':
        parser.error('--fp16 needs --device cuda (float16 LayerNorm and GEMM are CUDA kernels)')
    torch.manual_seed(a.seed)
    config = dict(TINY if a.tiny else FULL, height=a.height, width=a.width)
    device = torch.device(a.device)
    encoder = Encoder(config).eval().to(device)
    decoder = Decoder(config).eval().to(device)
    if a.fp16:
        encoder.half()
        decoder.half()
        for head in (decoder.head1, decoder.head2):
            head.float()
    params = lambda m: sum(p.numel() for p in m.parameters())
    os.makedirs(a.out, exist_ok=True)
    report = dict(config=config, fp16=a.fp16, device=str(device), torch=torch.__version__,
                  encoder_params=params(encoder), decoder_params=params(decoder), export_s={})
    rows, cols, ch = a.height // 16, a.width // 16, config['enc_dim']
    enc_path = os.path.join(a.out, 'dust3r_encoder.onnx')
    image = torch.rand(a.encoder_batch, 3, a.height, a.width, device=device) * 2 - 1
    report['export_s']['encoder'] = export(encoder, (image,), enc_path, ['image'], ['features'])
    for batch in [int(b) for b in a.pair_batches.split(',') if b]:
        folder = os.path.join(a.out, f'b{batch}')
        os.makedirs(folder, exist_ok=True)
        feats = torch.randn(batch, rows, cols, ch, device=device)
        report['export_s'][f'decoder_b{batch}'] = export(
            decoder, (feats, feats.flip(0)), os.path.join(folder, 'dust3r_decoder.onnx'),
            ['features1', 'features2'], ['pts3d1', 'conf1', 'pts3d2', 'conf2'])
        link = os.path.join(folder, 'dust3r_encoder.onnx')
        if os.path.exists(link):
            os.remove(link)
        os.link(enc_path, link)
    with open(os.path.join(a.out, 'twin.json'), 'w') as f:
        json.dump(report, f, indent=2)
    print(json.dumps({k: report[k] for k in ('encoder_params', 'decoder_params', 'export_s', 'fp16', 'torch')}))


if __name__ == '__main__':
    main()
