import { checkTensors, type TensorContract, type TensorInfo } from '@vanelia/onnx';
import { VaneliaError } from '@vanelia/runtime';

/**
 * The DUSt3R model contract: DUSt3R split in two ONNX files so each frame is encoded once and only the
 * decoders run per pair.
 *
 * dust3r_encoder.onnx
 *   in  image     float32 [B, 3, H, W]        RGB, (value/255 − 0.5)/0.5 ∈ [−1, 1]; H, W multiples of 16,
 *                                              long side 512 (DUSt3R's 512 models)
 *   out features  float32 [B, H/16, W/16, C]   the ViT encoder's normalised patch tokens (C = 1024 for ViT-L)
 * dust3r_decoder.onnx (both decoders, both DPT heads and DUSt3R's output transforms)
 *   in  features1 float32 [B, H₁/16, W₁/16, C] view 1 (the reference view)
 *   in  features2 float32 [B, H₂/16, W₂/16, C] view 2
 *   out pts3d1    float32 [B, H₁, W₁, 3]       view 1's points in view 1's camera frame (OpenCV axes)
 *   out conf1     float32 [B, H₁, W₁]          confidence, ≥ 1 (1 + exp(x))
 *   out pts3d2    float32 [B, H₂, W₂, 3]       view 2's points, also in view 1's camera frame
 *   out conf2     float32 [B, H₂, W₂]
 * Dimensions may be fixed (static exports run faster on WebGPU) or symbolic. The RoPE positions are the
 * patch grid, so the decoder derives them from the feature tensors' shapes.
 */
export const DUST3R_ENCODER_FILE = 'dust3r_encoder.onnx';
export const DUST3R_DECODER_FILE = 'dust3r_decoder.onnx';
export const DUST3R_PATCH_PX = 16;
export const DUST3R_LONG_SIDE_PX = 512;

export const ENCODER_INPUTS: readonly TensorContract[] = [{ name: 'image', dtypes: ['float32'], shape: [null, 3, null, null] }];
export const ENCODER_OUTPUTS: readonly TensorContract[] = [{ name: 'features', dtypes: ['float32'], shape: [null, null, null, null] }];
export const DECODER_INPUTS: readonly TensorContract[] = [
  { name: 'features1', dtypes: ['float32'], shape: [null, null, null, null] },
  { name: 'features2', dtypes: ['float32'], shape: [null, null, null, null] },
];
export const DECODER_OUTPUTS: readonly TensorContract[] = [
  { name: 'pts3d1', dtypes: ['float32'], shape: [null, null, null, 3] },
  { name: 'conf1', dtypes: ['float32'], shape: [null, null, null] },
  { name: 'pts3d2', dtypes: ['float32'], shape: [null, null, null, 3] },
  { name: 'conf2', dtypes: ['float32'], shape: [null, null, null] },
];

/** What the two files fix: a number where the export fixed a dimension, undefined where it is symbolic. */
export interface Dust3rModelShapes {
  encoderBatch?: number;
  decoderBatch?: number;
  /** Input height and width the encoder was exported for. */
  heightPx?: number;
  widthPx?: number;
  /** Feature channels C (from the encoder output or the decoder input). */
  channels?: number;
}

interface IoInfo {
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
}

const fixed = (d: unknown): number | undefined => (typeof d === 'number' && d > 0 ? d : undefined);

/**
 * Checks an encoder and a decoder against the contract and against each other; throws one VaneliaError
 * (MODEL_CONTRACT, FAILED_PRECONDITION) listing every problem, or returns the dimensions they fix.
 */
export function checkDust3rModels(encoder: IoInfo, decoder: IoInfo): Dust3rModelShapes {
  const problems = [
    ...checkTensors(DUST3R_ENCODER_FILE, 'input', encoder.inputs, ENCODER_INPUTS),
    ...checkTensors(DUST3R_ENCODER_FILE, 'output', encoder.outputs, ENCODER_OUTPUTS),
    ...checkTensors(DUST3R_DECODER_FILE, 'input', decoder.inputs, DECODER_INPUTS),
    ...checkTensors(DUST3R_DECODER_FILE, 'output', decoder.outputs, DECODER_OUTPUTS),
  ];
  const image = encoder.inputs.find((i) => i.name === 'image')?.shape ?? [];
  const features = encoder.outputs.find((o) => o.name === 'features')?.shape ?? [];
  const f1 = decoder.inputs.find((i) => i.name === 'features1')?.shape ?? [];
  const f2 = decoder.inputs.find((i) => i.name === 'features2')?.shape ?? [];
  const heightPx = fixed(image[2]);
  const widthPx = fixed(image[3]);
  for (const [name, v] of [['height', heightPx], ['width', widthPx]] as const) {
    if (v !== undefined && v % DUST3R_PATCH_PX !== 0) problems.push(`${DUST3R_ENCODER_FILE} input "image" ${name} ${v} is not a multiple of ${DUST3R_PATCH_PX}`);
  }
  const channels = [features[3], f1[3], f2[3]].map(fixed).filter((c): c is number => c !== undefined);
  if (new Set(channels).size > 1) {
    problems.push(`feature channels disagree: encoder gives ${fixed(features[3]) ?? '?'}, decoder takes ${fixed(f1[3]) ?? '?'} and ${fixed(f2[3]) ?? '?'}`);
  }
  if (heightPx !== undefined && fixed(features[1]) !== undefined && fixed(features[1]) !== heightPx / DUST3R_PATCH_PX) {
    problems.push(`${DUST3R_ENCODER_FILE} output "features" has ${fixed(features[1])} patch rows for ${heightPx} pixel rows`);
  }
  const grids = [f1, f2].map((s) => [fixed(s[1]), fixed(s[2])]);
  if (heightPx !== undefined && widthPx !== undefined) {
    for (const [i, [gh, gw]] of grids.entries()) {
      if ((gh !== undefined && gh !== heightPx / DUST3R_PATCH_PX) || (gw !== undefined && gw !== widthPx / DUST3R_PATCH_PX)) {
        problems.push(`${DUST3R_DECODER_FILE} input "features${i + 1}" grid ${gh}x${gw} does not match the encoder's ${heightPx / DUST3R_PATCH_PX}x${widthPx / DUST3R_PATCH_PX}`);
      }
    }
  }
  const decoderBatches = [f1[0], f2[0]].map(fixed);
  if (decoderBatches[0] !== decoderBatches[1]) problems.push(`${DUST3R_DECODER_FILE} inputs have different batch sizes`);
  if (problems.length > 0) {
    throw new VaneliaError('pose', 'MODEL_CONTRACT', `the DUSt3R models do not follow the contract: ${problems.join('; ')}.`, {
      code: 'FAILED_PRECONDITION',
    });
  }
  return { encoderBatch: fixed(image[0]), decoderBatch: decoderBatches[0], heightPx, widthPx, channels: channels[0] };
}
