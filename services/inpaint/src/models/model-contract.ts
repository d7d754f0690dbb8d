/**
 * The input/output contract of each model role, derived from the manifest, and the names of the symbolic
 * dimensions the export uses (fixed at session creation so every run has static shapes).
 */
import type { TensorContract, TensorDType } from '@vanelia/onnx';
import type { ModelManifest, ModelRole } from './model-manifest';

const FLOAT: readonly TensorDType[] = ['float32', 'float16'];
const TIMESTEP: readonly TensorDType[] = ['int64', 'int32', 'float32', 'float16'];
const IDS: readonly TensorDType[] = ['int64', 'int32'];

export const RESIDUAL_COUNT = 12;
export const controlnetOutput = (i: number) => `down_block_res_sample_${i}`;
export const CONTROLNET_MID_OUTPUT = 'mid_block_res_sample';
export const unetResidualInput = (i: number) => `down_block_additional_residual_${i}`;
export const UNET_MID_INPUT = 'mid_block_additional_residual';

/**
 * Sizes for the symbolic dimensions of the export — batch, image height/width, latent height/width and the
 * latent divided by 2, 4, 8 (residuals) — named as tools/export/sd15_controlnet_inpaint.py names them.
 */
export function dimensionOverrides(batch: number, heightPx: number, widthPx: number, vaeScaleFactor: number): Record<string, number> {
  const lh = heightPx / vaeScaleFactor;
  const lw = widthPx / vaeScaleFactor;
  const out: Record<string, number> = { batch, height: heightPx, width: widthPx, latent_height: lh, latent_width: lw };
  for (const f of [2, 4, 8]) {
    out[residualDimName('height', f)] = Math.ceil(lh / f);
    out[residualDimName('width', f)] = Math.ceil(lw / f);
  }
  return out;
}

/** The dimension name of a residual's spatial axis. */
export function residualDimName(axis: 'height' | 'width', downscale: number): string {
  return downscale === 1 ? `latent_${axis}` : `latent_${axis}_div${downscale}`;
}

/** What each model must take and give. */
export function roleContract(m: ModelManifest, role: ModelRole): { inputs: TensorContract[]; outputs: TensorContract[] } {
  const ehs: TensorContract = { name: 'encoder_hidden_states', dtypes: FLOAT, shape: [null, m.textLength, m.hiddenSize] };
  const timestep: TensorContract = { name: 'timestep', dtypes: TIMESTEP, shape: [null] };
  const control: TensorContract[] = [
    { name: 'controlnet_cond', dtypes: FLOAT, shape: [null, 3, null, null] },
    { name: 'conditioning_scale', dtypes: FLOAT, shape: [] },
  ];
  const residual = (name: string, channels: number): TensorContract => ({ name, dtypes: FLOAT, shape: [null, channels, null, null] });
  switch (role) {
    case 'text_encoder':
      return {
        inputs: [{ name: 'input_ids', dtypes: IDS, shape: [null, m.textLength] }],
        outputs: [{ name: 'last_hidden_state', dtypes: FLOAT, shape: [null, m.textLength, m.hiddenSize] }],
      };
    case 'controlnet':
      return {
        inputs: [residual('sample', m.latentChannels), timestep, ehs, ...control],
        outputs: [
          ...m.residualChannels.map((c, i) => residual(controlnetOutput(i), c)),
          residual(CONTROLNET_MID_OUTPUT, m.midChannels),
        ],
      };
    case 'unet': {
      const residuals = m.controlnetFused
        ? control
        : [...m.residualChannels.map((c, i) => residual(unetResidualInput(i), c)), residual(UNET_MID_INPUT, m.midChannels)];
      return {
        inputs: [residual('sample', m.unetInChannels), timestep, ehs, ...residuals],
        outputs: [residual('out_sample', m.latentChannels)],
      };
    }
    case 'vae_encoder':
      return { inputs: [residual('sample', 3)], outputs: [residual('latent_mean', m.latentChannels)] };
    case 'vae_decoder':
      return { inputs: [residual('latent_sample', m.latentChannels)], outputs: [residual('sample', 3)] };
  }
}

/** Roles a manifest needs (no separate ControlNet when it is fused). */
export function rolesOf(m: ModelManifest): ModelRole[] {
  return m.controlnetFused ? ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder'] : ['text_encoder', 'controlnet', 'unet', 'vae_encoder', 'vae_decoder'];
}

/** Default-domain opsets accepted (onnxruntime-node 1.30 runs them; the export uses 17). */
export const OPSET_RANGE = { min: 14, max: 21 } as const;
