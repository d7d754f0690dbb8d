/** The inpaint service's settings from the environment, parsed once. */
import { baseServiceSchema, env, loadConfig, type ConfigOf } from '@vanelia/runtime';
import { providerListEnv } from '@vanelia/onnx';
import { SCHEDULER_NAMES, type SchedulerName } from './scheduler/scheduler';

export function inpaintSchema() {
  return {
    ...baseServiceSchema('inpaint'),
    /** Model folder (manifest.json + ONNX files); empty: no refinement models, frames pass through. */
    VANELIA_INPAINT_MODEL_DIR: env.string(''),
    /** Execution providers tried in order, e.g. "webgpu,cpu" or "cuda,cpu". */
    VANELIA_INPAINT_PROVIDERS: providerListEnv('cpu'),
    /** Device memory for the automatic batch size (0 = unknown: 4 on GPUs, 1 on the CPU). */
    VANELIA_INPAINT_DEVICE_MEMORY_GIB: env.int(0, { min: 0, max: 4096 }),
    /** Frames a UNet batch when a request leaves it 0 (0 = automatic). */
    VANELIA_INPAINT_BATCH_SIZE: env.int(0, { min: 0, max: 64 }),
    VANELIA_INPAINT_SCHEDULER: env.oneOf<SchedulerName>(SCHEDULER_NAMES, 'dpmpp_2m_karras'),
    VANELIA_INPAINT_ROI_MARGIN_PX: env.int(32, { min: 0, max: 1024 }),
    VANELIA_INPAINT_FEATHER_PX: env.int(8, { min: 0, max: 256 }),
    /** VAE tile side (multiple of 64); crops above it are encoded and decoded in overlapping tiles. */
    VANELIA_INPAINT_VAE_TILE_PX: (raw: string | undefined, name: string): number => {
      const value = env.int(512, { min: 64, max: 4096 })(raw, name);
      if (value % 64 !== 0) throw new Error(`${name}=${JSON.stringify(raw)} is not a multiple of 64`);
      return value;
    },
    /** onnxruntime threads inside an operator on the CPU (0 = onnxruntime decides). */
    VANELIA_INPAINT_CPU_THREADS: env.int(0, { min: 0, max: 256 }),
  };
}

export type InpaintConfig = ConfigOf<ReturnType<typeof inpaintSchema>>;

export function loadInpaintConfig(source: NodeJS.ProcessEnv = process.env): InpaintConfig {
  return loadConfig('inpaint', inpaintSchema(), source);
}
