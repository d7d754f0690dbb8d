import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createSession, type OnnxSession, type ProviderConfig } from '@vanelia/onnx';
import { VaneliaError } from '@vanelia/runtime';
import { checkDust3rModels, DUST3R_DECODER_FILE, DUST3R_ENCODER_FILE, type Dust3rModelShapes } from './contract';

/** Whether `modelDir` holds both DUSt3R files (the backend is chosen automatically when it does). */
export function isDust3rInstalled(modelDir: string): boolean {
  return modelDir !== '' && existsSync(join(modelDir, DUST3R_ENCODER_FILE)) && existsSync(join(modelDir, DUST3R_DECODER_FILE));
}

export interface Dust3rModels {
  encoder: OnnxSession;
  decoder: OnnxSession;
  shapes: Dust3rModelShapes;
  release(): Promise<void>;
}

/** Loads both DUSt3R sessions with the given providers (tried in order) and checks them against the contract. */
export async function loadDust3rModels(modelDir: string, providers: readonly ProviderConfig[]): Promise<Dust3rModels> {
  if (!isDust3rInstalled(modelDir)) {
    throw new VaneliaError('pose', 'MODEL_NOT_INSTALLED', `no DUSt3R model in "${modelDir}": it needs ${DUST3R_ENCODER_FILE} and ${DUST3R_DECODER_FILE} (see tools/export/export_dust3r_onnx.py).`, {
      code: 'FAILED_PRECONDITION',
    });
  }
  const encoder = await createSession('pose', join(modelDir, DUST3R_ENCODER_FILE), { providers });
  let decoder: OnnxSession;
  try {
    decoder = await createSession('pose', join(modelDir, DUST3R_DECODER_FILE), { providers });
  } catch (error) {
    await encoder.release();
    throw error;
  }
  try {
    const shapes = checkDust3rModels(encoder, decoder);
    return {
      encoder,
      decoder,
      shapes,
      release: async () => {
        await encoder.release();
        await decoder.release();
      },
    };
  } catch (error) {
    await encoder.release();
    await decoder.release();
    throw error;
  }
}
