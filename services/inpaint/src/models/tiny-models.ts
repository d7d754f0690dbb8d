/**
 * Tiny models with the full contract of the five roles (same input/output names, ranks, dtypes and spatial
 * structure: /8 VAE, 12 down-block residuals at /1,/2,/4,/8, mid residual, cross-attention on the prompt),
 * seeded random weights and a few channels, built with @vanelia/onnx's graph builder. Tests and the CPU
 * benchmark run the real pipeline on them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelBuilder } from '@vanelia/onnx';
import { CONTROLNET_MID_OUTPUT, controlnetOutput, residualDimName, UNET_MID_INPUT, unetResidualInput } from './model-contract';
import { MANIFEST_FILE, MANIFEST_FORMAT, type ModelManifest, type ModelRole } from './model-manifest';

export interface TinyModelOptions {
  /** Float type of the models (default 'fp32'). */
  precision?: 'fp32' | 'fp16';
  /** 4 (ControlNet inpaint on a plain UNet) or 9 (inpainting UNet) (default 4). */
  unetInChannels?: 4 | 9;
  /** One graph for ControlNet + UNet (default false). */
  controlnetFused?: boolean;
  /** Text width (default 32). */
  hiddenSize?: number;
  /** Weight seed (default 1). */
  seed?: number;
  /** Manifest's tokenizer entry (default 'tokenizer'); tests point it at the shared CLIP BPE folder. */
  tokenizerDir?: string;
  /** Timestep input type (default 'int64'). */
  timestepType?: 'int64' | 'float32';
}

export const TINY_MODEL_DEFAULTS: Required<TinyModelOptions> = {
  precision: 'fp32',
  unetInChannels: 4,
  controlnetFused: false,
  hiddenSize: 32,
  seed: 1,
  tokenizerDir: 'tokenizer',
  timestepType: 'int64',
};

function resolve(options: TinyModelOptions): Required<TinyModelOptions> {
  const o = { ...TINY_MODEL_DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return o;
}

/** The manifest of a tiny folder. */
export function tinyManifest(options: TinyModelOptions = {}): ModelManifest {
  const o = resolve(options);
  const models: ModelManifest['models'] = {
    text_encoder: 'text_encoder/model.onnx',
    unet: 'unet/model.onnx',
    vae_encoder: 'vae_encoder/model.onnx',
    vae_decoder: 'vae_decoder/model.onnx',
  };
  if (!o.controlnetFused) models.controlnet = 'controlnet/model.onnx';
  return {
    format: MANIFEST_FORMAT,
    version: 1,
    precision: o.precision,
    models,
    controlnetFused: o.controlnetFused,
    tokenizer: o.tokenizerDir,
    unetInChannels: o.unetInChannels,
    hiddenSize: o.hiddenSize,
    textLength: 77,
    latentChannels: 4,
    vaeScaleFactor: 8,
    vaeScalingFactor: 0.18215,
    residualChannels: [8, 8, 8, 8, 12, 12, 12, 16, 16, 16, 16, 16],
    midChannels: 16,
    residualDownscale: [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8],
    source: `tiny random models (seed ${o.seed})`,
  };
}

type Dtype = 'float32' | 'float16';

class TinyGraph extends ModelBuilder {
  constructor(
    readonly m: ModelManifest,
    seed: number,
    readonly dtype: Dtype,
  ) {
    super({ seed, floatType: dtype, name: 'tiny' });
  }

  conv3(x: string, cin: number, cout: number, stride = 1): string {
    return this.conv2d(x, cin, cout, 3, { stride });
  }

  /** Sinusoidal timestep embedding projected to [N, C, 1, 1]. */
  timeEmbedding(t: string, channels: number): string {
    const tf = this.unsqueeze(this.cast(t, this.dtype), [1]);
    const angles = this.mul(tf, this.constant([1, 0.1, 0.01, 0.001], [1, 4]));
    const features = this.concat([this.sin(angles), this.cos(angles)], 1);
    const hidden = this.silu(this.linear(features, 8, channels));
    return this.unsqueeze(this.linear(hidden, channels, channels), [2, 3]);
  }

  /** Mean prompt embedding projected to [N, C, 1, 1]. */
  textContext(ehs: string, channels: number): string {
    return this.unsqueeze(this.linear(this.reduceMean(ehs, [1], false), this.m.hiddenSize, channels), [2, 3]);
  }

  /** Single-head cross-attention of the pixels of x [N, C, h, w] on the prompt tokens. */
  crossAttention(x: string, ehs: string, channels: number): string {
    const d = this.m.hiddenSize;
    const tokens = this.transpose(this.reshape(x, [0, channels, -1]), [0, 2, 1]);
    const q = this.linear(tokens, channels, d, false);
    const scores = this.mul(this.matMul(q, this.transpose(ehs, [0, 2, 1])), this.constant(1 / Math.sqrt(d)));
    const attended = this.linear(this.matMul(this.softmax(scores, -1), ehs), d, channels, false);
    const back = this.op('Reshape', [this.transpose(attended, [0, 2, 1]), this.shape(x)]);
    return this.add(x, back);
  }

  /** The ControlNet: 12 residuals and the mid residual, each times the conditioning scale. */
  controlnet(sample: string, t: string, ehs: string, cond: string, scale: string): { residuals: string[]; mid: string } {
    const m = this.m;
    const c0 = m.residualChannels[0];
    let hint = cond;
    let channels = 3;
    for (let f = 1; f < m.vaeScaleFactor; f *= 2) {
      hint = this.silu(this.conv3(hint, channels, c0, 2));
      channels = c0;
    }
    let x = this.add(this.add(this.conv3(sample, m.latentChannels, c0), hint), this.timeEmbedding(t, c0));
    x = this.silu(this.add(x, this.textContext(ehs, c0)));
    let scaleNow = 1;
    const residuals: string[] = [];
    for (let i = 0; i < m.residualChannels.length; i++) {
      const out = m.residualChannels[i];
      if (m.residualDownscale[i] > scaleNow) {
        x = this.silu(this.conv3(x, channels, channels, 2));
        scaleNow *= 2;
      }
      x = this.silu(this.conv3(x, channels, out));
      channels = out;
      residuals.push(this.mul(this.conv2d(x, out, out, 1), scale));
    }
    const mid = this.mul(this.conv2d(this.crossAttention(x, ehs, channels), channels, m.midChannels, 1), scale);
    return { residuals, mid };
  }

  /** The UNet body: down path plus residuals, mid with attention, up path with skips, ε out. */
  unet(sample: string, t: string, ehs: string, residuals: string[], mid: string): string {
    const m = this.m;
    const c0 = m.residualChannels[0];
    let x = this.add(this.conv3(sample, m.unetInChannels, c0), this.timeEmbedding(t, c0));
    x = this.silu(this.add(x, this.textContext(ehs, c0)));
    let channels = c0;
    let scaleNow = 1;
    const skips: string[] = [];
    for (let i = 0; i < m.residualChannels.length; i++) {
      if (m.residualDownscale[i] > scaleNow) {
        x = this.silu(this.conv3(x, channels, channels, 2));
        scaleNow *= 2;
      }
      x = this.add(this.silu(this.conv3(x, channels, m.residualChannels[i])), residuals[i]);
      channels = m.residualChannels[i];
      skips.push(x);
    }
    x = this.crossAttention(this.add(this.conv2d(x, channels, m.midChannels, 1), mid), ehs, m.midChannels);
    channels = m.midChannels;
    for (let i = m.residualChannels.length - 1; i >= 0; i--) {
      if (m.residualDownscale[i] < scaleNow) {
        x = this.resize(x, [1, 1, 2, 2]);
        scaleNow /= 2;
      }
      x = this.add(this.silu(this.conv3(x, channels, m.residualChannels[i])), skips[i]);
      channels = m.residualChannels[i];
    }
    return this.conv3(x, channels, m.latentChannels);
  }
}

function latentShape(channels: number): (number | string)[] {
  return ['batch', channels, 'latent_height', 'latent_width'];
}

function residualShape(m: ModelManifest, i: number): (number | string)[] {
  const f = m.residualDownscale[i];
  return ['batch', m.residualChannels[i], residualDimName('height', f), residualDimName('width', f)];
}

function denoiserInputs(g: TinyGraph, o: Required<TinyModelOptions>, channels: number) {
  const m = g.m;
  return {
    sample: g.input('sample', g.dtype, latentShape(channels)),
    t: g.input('timestep', o.timestepType, ['batch']),
    ehs: g.input('encoder_hidden_states', g.dtype, ['batch', m.textLength, m.hiddenSize]),
  };
}

function controlInputs(g: TinyGraph) {
  return {
    cond: g.input('controlnet_cond', g.dtype, ['batch', 3, 'height', 'width']),
    scale: g.input('conditioning_scale', g.dtype, []),
  };
}

/** One tiny model, serialized. */
export function buildTinyModel(role: ModelRole, manifest: ModelManifest, options: TinyModelOptions = {}): Uint8Array {
  const o = resolve(options);
  const dtype: Dtype = manifest.precision === 'fp16' ? 'float16' : 'float32';
  const seedOffset = { text_encoder: 1, controlnet: 2, unet: 3, vae_encoder: 4, vae_decoder: 5 }[role];
  const g = new TinyGraph(manifest, o.seed * 16 + seedOffset, dtype);
  const m = manifest;
  switch (role) {
    case 'text_encoder': {
      const ids = g.input('input_ids', 'int64', ['batch', m.textLength]);
      const table = g.randomWeights([997, m.hiddenSize], 1).name;
      const positions = g.randomWeights([m.textLength, m.hiddenSize], 0.5).name;
      let x = g.add(g.gather(table, g.op('Mod', [ids, g.ints([997], [])])), positions);
      const ones = g.constant(new Float32Array(m.hiddenSize).fill(1));
      const zeros = g.constant(new Float32Array(m.hiddenSize));
      x = g.layerNorm(x, ones, zeros);
      x = g.add(x, g.linear(g.gelu(g.linear(x, m.hiddenSize, m.hiddenSize * 2)), m.hiddenSize * 2, m.hiddenSize));
      g.output(g.layerNorm(x, ones, zeros), 'last_hidden_state', dtype, ['batch', m.textLength, m.hiddenSize]);
      break;
    }
    case 'controlnet': {
      const { sample, t, ehs } = denoiserInputs(g, o, m.latentChannels);
      const { cond, scale } = controlInputs(g);
      const out = g.controlnet(sample, t, ehs, cond, scale);
      out.residuals.forEach((r, i) => g.output(r, controlnetOutput(i), dtype, residualShape(m, i)));
      g.output(out.mid, CONTROLNET_MID_OUTPUT, dtype, ['batch', m.midChannels, 'latent_height_div8', 'latent_width_div8']);
      break;
    }
    case 'unet': {
      const { sample, t, ehs } = denoiserInputs(g, o, m.unetInChannels);
      let residuals: string[];
      let mid: string;
      if (m.controlnetFused) {
        const { cond, scale } = controlInputs(g);
        const latents = m.unetInChannels === m.latentChannels ? sample : g.slice(sample, [0], [m.latentChannels], [1]);
        ({ residuals, mid } = g.controlnet(latents, t, ehs, cond, scale));
      } else {
        residuals = m.residualChannels.map((_, i) => g.input(unetResidualInput(i), dtype, residualShape(m, i)));
        mid = g.input(UNET_MID_INPUT, dtype, ['batch', m.midChannels, 'latent_height_div8', 'latent_width_div8']);
      }
      g.output(g.unet(sample, t, ehs, residuals, mid), 'out_sample', dtype, latentShape(m.latentChannels));
      break;
    }
    case 'vae_encoder': {
      let x = g.input('sample', dtype, ['batch', 3, 'height', 'width']);
      let channels = 3;
      for (let f = 1; f < m.vaeScaleFactor; f *= 2) {
        x = g.silu(g.conv3(x, channels, 8, 2));
        channels = 8;
      }
      g.output(g.conv2d(x, channels, m.latentChannels, 1), 'latent_mean', dtype, latentShape(m.latentChannels));
      break;
    }
    case 'vae_decoder': {
      let x = g.silu(g.conv2d(g.input('latent_sample', dtype, latentShape(m.latentChannels)), m.latentChannels, 8, 1));
      for (let f = 1; f < m.vaeScaleFactor; f *= 2) x = g.silu(g.conv3(g.resize(x, [1, 1, 2, 2]), 8, 8));
      g.output(g.tanh(g.conv3(x, 8, 3)), 'sample', dtype, ['batch', 3, 'height', 'width']);
      break;
    }
  }
  return g.build({ vanelia_role: role });
}

/** Writes a complete tiny model folder (manifest and the ONNX files) and returns its manifest. */
export function writeTinyModelFolder(dir: string, options: TinyModelOptions = {}): ModelManifest {
  const manifest = tinyManifest(options);
  for (const [role, file] of Object.entries(manifest.models) as [ModelRole, string][]) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, buildTinyModel(role, manifest, options));
  }
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
