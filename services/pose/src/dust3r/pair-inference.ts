import { Tensor } from '@vanelia/onnx';
import { VaneliaError } from '@vanelia/runtime';
import { DUST3R_PATCH_PX } from './contract';
import type { Dust3rModels } from './dust3r-models';
import type { ModelShape, PairBatch } from './pair-batches';
import type { PairPrediction } from './pair-observations';

/** One frame's encoder output, cached for every pair it takes part in. */
export interface FrameFeatures {
  /** Patch rows and columns (H/16, W/16) and channels. */
  rows: number;
  cols: number;
  channels: number;
  data: Float32Array;
}

function expectDims(what: string, tensor: Tensor | undefined, dims: readonly number[]): Float32Array {
  if (!tensor || tensor.dims.length !== dims.length || tensor.dims.some((d, i) => d !== dims[i]) || !(tensor.data instanceof Float32Array)) {
    const got = tensor ? `[${tensor.dims.join(', ')}] ${tensor.type}` : 'nothing';
    throw new VaneliaError('pose', 'MODEL_CONTRACT', `DUSt3R ${what} came back as ${got}, expected float32 [${dims.join(', ')}].`, { code: 'INTERNAL' });
  }
  return tensor.data;
}

/**
 * Runs the encoder over model-size images (CHW float32, all of `shape`), `batch` at a time (padded to a
 * fixed export batch by repeating the last image). Returns one feature block per image.
 */
export async function encodeImages(models: Dust3rModels, images: readonly Float32Array[], shape: ModelShape, batch: number): Promise<FrameFeatures[]> {
  const plane = 3 * shape.heightPx * shape.widthPx;
  const rows = shape.heightPx / DUST3R_PATCH_PX;
  const cols = shape.widthPx / DUST3R_PATCH_PX;
  const size = models.shapes.encoderBatch ?? batch;
  const out: FrameFeatures[] = [];
  for (let start = 0; start < images.length; start += size) {
    const chunk = images.slice(start, start + size);
    const input = new Float32Array(size * plane);
    for (let i = 0; i < size; i++) input.set(chunk[Math.min(i, chunk.length - 1)], i * plane);
    const result = await models.encoder.run({ image: new Tensor('float32', input, [size, 3, shape.heightPx, shape.widthPx]) });
    const features = result.features;
    const channels = features?.dims[3] ?? 0;
    const data = expectDims('encoder features', features, [size, rows, cols, channels]);
    const block = rows * cols * channels;
    for (let i = 0; i < chunk.length; i++) out.push({ rows, cols, channels, data: data.slice(i * block, (i + 1) * block) });
  }
  return out;
}

/**
 * Runs the decoder over one pair batch from cached features (padded to a fixed export batch by repeating
 * the last pair) and returns each pair's prediction.
 */
export async function decodeBatch(models: Dust3rModels, batch: PairBatch, features: readonly FrameFeatures[]): Promise<PairPrediction[]> {
  const size = models.shapes.decoderBatch ?? batch.pairs.length;
  if (batch.pairs.length > size) {
    throw new VaneliaError('pose', 'INVALID_BATCH_SIZE', `a batch of ${batch.pairs.length} pairs exceeds the decoder's fixed batch of ${size}.`, { code: 'INTERNAL' });
  }
  const stack = (pick: 'first' | 'second'): Tensor => {
    const f0 = features[batch.pairs[0][pick]];
    const block = f0.rows * f0.cols * f0.channels;
    const data = new Float32Array(size * block);
    for (let i = 0; i < size; i++) data.set(features[batch.pairs[Math.min(i, batch.pairs.length - 1)][pick]].data, i * block);
    return new Tensor('float32', data, [size, f0.rows, f0.cols, f0.channels]);
  };
  const result = await models.decoder.run({ features1: stack('first'), features2: stack('second') });
  const { heightPx: h1, widthPx: w1 } = batch.first;
  const { heightPx: h2, widthPx: w2 } = batch.second;
  const pts1 = expectDims('pts3d1', result.pts3d1, [size, h1, w1, 3]);
  const conf1 = expectDims('conf1', result.conf1, [size, h1, w1]);
  const pts2 = expectDims('pts3d2', result.pts3d2, [size, h2, w2, 3]);
  const conf2 = expectDims('conf2', result.conf2, [size, h2, w2]);
  const n1 = h1 * w1;
  const n2 = h2 * w2;
  return batch.pairs.map((pair, i) => ({
    first: pair.first,
    second: pair.second,
    pts1: pts1.subarray(i * 3 * n1, (i + 1) * 3 * n1),
    conf1: conf1.subarray(i * n1, (i + 1) * n1),
    pts2: pts2.subarray(i * 3 * n2, (i + 1) * 3 * n2),
    conf2: conf2.subarray(i * n2, (i + 1) * n2),
  }));
}
