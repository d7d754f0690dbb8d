/**
 * The diffusion itself, for a batch of prepared crops of one size, as diffusers'
 * StableDiffusionControlNetInpaintPipeline does it: VAE-encode (batched; sliced and tiled when large), noise to
 * the schedule's start with the job's one noise, then per step ControlNet + UNet on the CFG pair
 * [negative, prompt], guidance, scheduler update and — for a 4-channel UNet — the area outside the mask reset
 * to the re-noised original; finally VAE-decode.
 */
import type { InferenceRunner, Tensor } from '@vanelia/onnx';
import type { ModelSet } from '../models/model-set';
import { CONTROLNET_MID_OUTPUT, controlnetOutput, RESIDUAL_COUNT, UNET_MID_INPUT, unetResidualInput } from '../models/model-contract';
import { createScheduler } from '../scheduler/create-scheduler';
import type { SchedulerSettings } from '../scheduler/scheduler';
import { floatFeed, idsFeed, outputValues, passFeed, timestepFeed } from './feeds';
import { runTiled } from './vae-tiling';

/** One crop ready for the models. */
export interface PreparedFrame {
  /** [3, H, W] in [-1, 1]. */
  image: Float32Array;
  /** [H, W], 1 where the refinement may change pixels. */
  mask: Float32Array;
  /** [3, H, W]: the image in [0, 1] with masked pixels set to -1 (ControlNet inpaint's condition). */
  control: Float32Array;
}

export interface DiffusionSettings {
  scheduler: SchedulerSettings;
  guidanceScale: number;
  conditioningScale: number;
  /** VAE tile side in pixels (multiple of 64); larger crops are tiled. */
  vaeTilePx: number;
}

/** The CFG pair's text embeddings, each [textLength, hidden]. */
export interface PromptEmbeddings {
  negative: Float32Array;
  positive: Float32Array;
}

/** Encodes prompt and negative prompt once per job. */
export async function encodePrompt(models: ModelSet, prompt: string, negativePrompt: string): Promise<PromptEmbeddings> {
  const runner = await models.session('text_encoder', 2);
  const length = models.manifest.textLength;
  const ids = [...models.tokenizer.encodePadded(negativePrompt), ...models.tokenizer.encodePadded(prompt)];
  const out = outputValues(await runner.run({ input_ids: idsFeed(runner, ids, [2, length]) }), 'last_hidden_state');
  const size = length * models.manifest.hiddenSize;
  return { negative: out.slice(0, size), positive: out.slice(size, 2 * size) };
}

function repeat(parts: readonly Float32Array[], counts: readonly number[]): Float32Array {
  const size = parts.reduce((s, p, i) => s + p.length * counts[i], 0);
  const out = new Float32Array(size);
  let offset = 0;
  parts.forEach((p, i) => {
    for (let k = 0; k < counts[i]; k++) {
      out.set(p, offset);
      offset += p.length;
    }
  });
  return out;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  return repeat(parts, parts.map(() => 1));
}

/** Nearest downsampling of a [H, W] mask to the latent grid, as torch's interpolate(mode='nearest'). */
function maskToLatent(mask: Float32Array, heightPx: number, widthPx: number, factor: number): Float32Array {
  const h = heightPx / factor;
  const w = widthPx / factor;
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = mask[y * factor * widthPx + x * factor];
  return out;
}

/** A copy of `values` times `factor`. */
function scaled(values: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] * factor;
  return out;
}

/** Splits a [n·size] array into n views. */
function split(values: Float32Array, n: number): Float32Array[] {
  const size = values.length / n;
  return Array.from({ length: n }, (_, i) => values.subarray(i * size, (i + 1) * size));
}

/**
 * VAE-encodes images ([3, H, W] each) to scaled latents: in one batched run when the crop fits one tile,
 * else sliced (one image at a time) and tiled.
 */
async function vaeEncode(models: ModelSet, images: readonly Float32Array[], heightPx: number, widthPx: number, tilePx: number): Promise<Float32Array[]> {
  const m = models.manifest;
  const encode = async (batch: Float32Array, n: number, th: number, tw: number): Promise<Float32Array> => {
    const runner = await models.session('vae_encoder', n, th, tw);
    return outputValues(await runner.run({ sample: floatFeed(runner, 'sample', batch, [n, 3, th, tw]) }), 'latent_mean');
  };
  let latents: Float32Array[];
  if (heightPx <= tilePx && widthPx <= tilePx) {
    latents = split(await encode(concat(images), images.length, heightPx, widthPx), images.length);
  } else {
    latents = [];
    const spec = { tile: tilePx, overlap: 64, scale: 1 / m.vaeScaleFactor };
    for (const image of images) latents.push(await runTiled(image, 3, heightPx, widthPx, m.latentChannels, spec, (tile, th, tw) => encode(tile, 1, th, tw)));
  }
  return latents.map((l) => scaled(l, m.vaeScalingFactor));
}

/** VAE-decodes scaled latents to images [3, H, W] in [-1, 1], batched or sliced and tiled like vaeEncode. */
async function vaeDecode(models: ModelSet, latents: readonly Float32Array[], heightPx: number, widthPx: number, tilePx: number): Promise<Float32Array[]> {
  const m = models.manifest;
  const f = m.vaeScaleFactor;
  const decode = async (batch: Float32Array, n: number, th: number, tw: number): Promise<Float32Array> => {
    const runner = await models.session('vae_decoder', n, th * f, tw * f);
    return outputValues(await runner.run({ latent_sample: floatFeed(runner, 'latent_sample', batch, [n, m.latentChannels, th, tw]) }), 'sample');
  };
  const unscaled = latents.map((l) => scaled(l, 1 / m.vaeScalingFactor));
  if (heightPx <= tilePx && widthPx <= tilePx) return split(await decode(concat(unscaled), unscaled.length, heightPx / f, widthPx / f), unscaled.length);
  const spec = { tile: tilePx / f, overlap: 64 / f, scale: f };
  const out: Float32Array[] = [];
  for (const latent of unscaled) out.push(await runTiled(latent, m.latentChannels, heightPx / f, widthPx / f, 3, spec, (tile, th, tw) => decode(tile, 1, th, tw)));
  return out;
}

/** The image with the pixels to refine set to 0 (the 9-channel UNet's masked-image input). */
function maskedImage(f: PreparedFrame, n: number): Float32Array {
  const out = f.image.slice();
  for (let k = 0; k < 3; k++) for (let p = 0; p < n; p++) if (f.mask[p] >= 0.5) out[k * n + p] = 0;
  return out;
}

export interface DiffusionInput {
  frames: readonly PreparedFrame[];
  heightPx: number;
  widthPx: number;
  /** The job's noise, [latentChannels, H/8, W/8]. */
  noise: Float32Array;
  prompt: PromptEmbeddings;
  settings: DiffusionSettings;
}

/**
 * Refines up to `batch` crops (fewer are padded with the last one, whose results are dropped, so the
 * sessions keep one static shape). Returns each crop decoded, [3, H, W] in [-1, 1].
 */
export async function diffuseBatch(models: ModelSet, batch: number, input: DiffusionInput): Promise<Float32Array[]> {
  const m = models.manifest;
  const { heightPx: H, widthPx: W, settings } = input;
  const h = H / m.vaeScaleFactor;
  const w = W / m.vaeScaleFactor;
  const latentSize = m.latentChannels * h * w;
  const real = input.frames.length;
  const frames = [...input.frames];
  while (frames.length < batch) frames.push(frames[real - 1]);

  // Encode (padding included, so the VAE sessions keep the batch shape too).
  const imageLatents = await vaeEncode(models, frames.map((f) => f.image), H, W, settings.vaeTilePx);
  const maskedLatents =
    m.unetInChannels === 9
      ? await vaeEncode(models, frames.map((f) => maskedImage(f, H * W)), H, W, settings.vaeTilePx)
      : [];
  const latentMasks = frames.map((f) => maskToLatent(f.mask, H, W, m.vaeScaleFactor));
  const x0 = concat(imageLatents);
  const noise = repeat([input.noise], [batch]);

  const scheduler = createScheduler(settings.scheduler);
  let x = scheduler.addNoise(x0, noise, 0);

  // Inputs that stay the same through the steps.
  const n = 2 * batch;
  const controlnet = m.controlnetFused ? undefined : await models.session('controlnet', n, H, W);
  const unet = await models.session('unet', n, H, W);
  const ehsValues = repeat([input.prompt.negative, input.prompt.positive], [batch, batch]);
  const controlValues = repeat([concat(frames.map((f) => f.control))], [2]);
  const conditioning = (runner: InferenceRunner) => ({
    encoder_hidden_states: floatFeed(runner, 'encoder_hidden_states', ehsValues, [n, m.textLength, m.hiddenSize]),
    controlnet_cond: floatFeed(runner, 'controlnet_cond', controlValues, [n, 3, H, W]),
    conditioning_scale: floatFeed(runner, 'conditioning_scale', Float32Array.of(settings.conditioningScale), []),
  });
  const controlFeeds = controlnet ? conditioning(controlnet) : conditioning(unet);
  const unetEhs = controlnet ? floatFeed(unet, 'encoder_hidden_states', ehsValues, [n, m.textLength, m.hiddenSize]) : undefined;
  const extraChannels =
    m.unetInChannels === 9 ? frames.map((_, i) => concat([latentMasks[i], maskedLatents[i]])) : undefined;

  for (const [i, t] of scheduler.timesteps.entries()) {
    const pair = concat([x, x]);
    let unetSample = pair;
    if (extraChannels) {
      const perItem = [...extraChannels, ...extraChannels];
      unetSample = concat(Array.from({ length: n }, (_, k) => concat([pair.subarray(k * latentSize, (k + 1) * latentSize), perItem[k]])));
    }
    const feeds: Record<string, Tensor> = {};
    if (controlnet) {
      const out = await controlnet.run({
        sample: floatFeed(controlnet, 'sample', pair, [n, m.latentChannels, h, w]),
        timestep: timestepFeed(controlnet, t, n),
        ...controlFeeds,
      });
      for (let r = 0; r < RESIDUAL_COUNT; r++) feeds[unetResidualInput(r)] = passFeed(unet, unetResidualInput(r), out[controlnetOutput(r)]);
      feeds[UNET_MID_INPUT] = passFeed(unet, UNET_MID_INPUT, out[CONTROLNET_MID_OUTPUT]);
      feeds.encoder_hidden_states = unetEhs!;
    } else {
      Object.assign(feeds, controlFeeds);
    }
    feeds.sample = floatFeed(unet, 'sample', unetSample, [n, m.unetInChannels, h, w]);
    feeds.timestep = timestepFeed(unet, t, n);
    const eps2 = outputValues(await unet.run(feeds), 'out_sample');
    const half = batch * latentSize;
    const eps = new Float32Array(half);
    for (let k = 0; k < half; k++) eps[k] = eps2[k] + settings.guidanceScale * (eps2[half + k] - eps2[k]);
    x = scheduler.step(eps, x);
    if (m.unetInChannels === 4) {
      const original = scheduler.addNoise(x0, noise, i + 1);
      for (let b = 0; b < batch; b++) {
        const mask = latentMasks[b];
        for (let c = 0; c < m.latentChannels; c++) {
          for (let p = 0; p < h * w; p++) {
            const k = b * latentSize + c * h * w + p;
            x[k] = (1 - mask[p]) * original[k] + mask[p] * x[k];
          }
        }
      }
    }
  }

  return (await vaeDecode(models, split(x, batch), H, W, settings.vaeTilePx)).slice(0, real);
}
