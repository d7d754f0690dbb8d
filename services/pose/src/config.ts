/** The pose service's settings from the environment, parsed once. */
import { parseProviderList, type ProviderName } from '@vanelia/onnx';
import { baseServiceSchema, env, loadConfig, type ConfigOf } from '@vanelia/runtime';

const providers = (fallback: string) => (raw: string | undefined, name: string): ProviderName[] => {
  try {
    return parseProviderList(raw === undefined || raw === '' ? fallback : raw);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`);
  }
};

export function poseSchema() {
  return {
    ...baseServiceSchema('pose'),
    /** Folder with dust3r_encoder.onnx and dust3r_decoder.onnx; without them the weight-free tracker runs. */
    VANELIA_POSE_MODEL_DIR: env.string(''),
    /** onnxruntime execution providers for DUSt3R, tried in order, e.g. "cuda,cpu". */
    VANELIA_POSE_PROVIDERS: providers('cpu'),
    /** DUSt3R image pairs a decoder batch when a request leaves it 0. */
    VANELIA_POSE_BATCH_SIZE: env.int(8, { min: 1, max: 256 }),
    /** Camera height above the supporting plane assumed for the anchor's metric scale, centimetres. */
    VANELIA_POSE_CAMERA_HEIGHT_CM: env.int(140, { min: 1, max: 100_000 }),
    /** Tracker working resolution: frames are reduced by an integer factor to about this long side (pixels). */
    VANELIA_TRACKER_LONG_SIDE_PX: env.int(1100, { min: 320, max: 8192 }),
  };
}

export type PoseConfig = ConfigOf<ReturnType<typeof poseSchema>>;

export function loadPoseConfig(source: NodeJS.ProcessEnv = process.env): PoseConfig {
  return loadConfig('pose', poseSchema(), source);
}
