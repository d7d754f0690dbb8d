/**
 * The model folder's manifest (manifest.json): which ONNX files play which role and the architecture numbers
 * the contract check and the pipeline need. Written by tools/export/sd15_controlnet_inpaint.py and by the
 * tiny-model generator.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'vanelia-inpaint-models';

export type ModelRole = 'text_encoder' | 'controlnet' | 'unet' | 'vae_encoder' | 'vae_decoder';
export const MODEL_ROLES: readonly ModelRole[] = ['text_encoder', 'controlnet', 'unet', 'vae_encoder', 'vae_decoder'];

export interface ModelManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  /** Float type of the models' inputs and outputs. */
  precision: 'fp16' | 'fp32';
  /** ONNX file of each role, relative to the folder; `controlnet` absent when it is fused into the UNet. */
  models: Partial<Record<ModelRole, string>>;
  /** The UNet takes the ControlNet's inputs itself (one graph, residuals stay on the device). */
  controlnetFused: boolean;
  /** Tokenizer folder (vocab.json + merges.txt), relative to the folder or absolute. */
  tokenizer: string;
  /** 4 (ControlNet inpaint on a plain UNet) or 9 (inpainting UNet: latents, mask, masked-image latents). */
  unetInChannels: 4 | 9;
  /** Text encoder width (768 for SD 1.x). */
  hiddenSize: number;
  /** Prompt length in tokens (77). */
  textLength: number;
  latentChannels: number;
  /** Pixels per latent cell (8). */
  vaeScaleFactor: number;
  /** Latents are multiplied by this after encoding (0.18215 for SD 1.x). */
  vaeScalingFactor: number;
  /** Channels of the 12 down-block residuals. */
  residualChannels: number[];
  /** Channels of the mid-block residual. */
  midChannels: number;
  /** Downscale of each residual against the latent (1,1,1,2,2,2,4,4,4,8,8,8 for SD 1.x). */
  residualDownscale: number[];
  /** Where the weights came from, for reports (free text). */
  source?: string;
}

/** SD 1.5 + ControlNet v1.1 inpaint, as the export script writes it. */
export const SD15_ARCHITECTURE = {
  hiddenSize: 768,
  textLength: 77,
  latentChannels: 4,
  vaeScaleFactor: 8,
  vaeScalingFactor: 0.18215,
  residualChannels: [320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280],
  midChannels: 1280,
  residualDownscale: [1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8],
} as const;

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function isIntList(v: unknown, length: number): boolean {
  return Array.isArray(v) && v.length === length && v.every(isPositiveInt);
}

/** Problems of a parsed manifest, one sentence each. */
export function manifestProblems(m: Partial<ModelManifest>): string[] {
  const p: string[] = [];
  if (m.format !== MANIFEST_FORMAT) p.push(`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
  if (m.version !== 1) p.push(`version is ${JSON.stringify(m.version)}, expected 1`);
  if (m.precision !== 'fp16' && m.precision !== 'fp32') p.push(`precision is ${JSON.stringify(m.precision)}, expected "fp16" or "fp32"`);
  const needed = MODEL_ROLES.filter((r) => !(r === 'controlnet' && m.controlnetFused));
  for (const role of needed) if (typeof m.models?.[role] !== 'string') p.push(`models.${role} is missing`);
  if (typeof m.tokenizer !== 'string') p.push('tokenizer is missing');
  if (m.unetInChannels !== 4 && m.unetInChannels !== 9) p.push(`unetInChannels is ${JSON.stringify(m.unetInChannels)}, expected 4 or 9`);
  for (const key of ['hiddenSize', 'textLength', 'latentChannels', 'vaeScaleFactor', 'midChannels'] as const) {
    if (!isPositiveInt(m[key])) p.push(`${key} is not a positive integer`);
  }
  if (!(typeof m.vaeScalingFactor === 'number' && m.vaeScalingFactor > 0)) p.push('vaeScalingFactor is not a positive number');
  if (!isIntList(m.residualChannels, 12)) p.push('residualChannels is not a list of 12 positive integers');
  if (!isIntList(m.residualDownscale, 12)) p.push('residualDownscale is not a list of 12 positive integers');
  return p;
}

export type ManifestResult = { manifest: ModelManifest; problems: [] } | { manifest: undefined; problems: string[] };

/** Reads and validates `dir/manifest.json`. */
export function readManifest(dir: string): ManifestResult {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return { manifest: undefined, problems: [`${file} is missing`] };
  let parsed: Partial<ModelManifest>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ModelManifest>;
  } catch (error) {
    return { manifest: undefined, problems: [`${file} is not valid JSON (${(error as Error).message})`] };
  }
  const withDefaults = { controlnetFused: false, ...parsed };
  const problems = manifestProblems(withDefaults);
  if (problems.length > 0) return { manifest: undefined, problems: problems.map((s) => `${MANIFEST_FILE}: ${s}`) };
  return { manifest: withDefaults as ModelManifest, problems: [] };
}

/** Absolute path of a manifest entry. */
export function resolveInFolder(dir: string, entry: string): string {
  return isAbsolute(entry) ? entry : join(dir, entry);
}
