/**
 * A tiny DUSt3R model pair with the real contract, generated with @vanelia/onnx's builder. Its geometry is
 * exact, so the whole path (preprocess → encoder → decoder → alignment) can be checked against the truth:
 * the encoder's first feature channel is each patch's mean red; the decoder reads a camera position
 * x = K · mean(red) from each view's features and casts rays of a pinhole camera (focal FOCAL at the model
 * size, centred principal point) onto the slanted plane z = Z0 + SLOPE · x of a world in which camera n sits
 * at (xₙ, 0, 0) looking along +z. Outputs follow DUSt3R: both pointmaps in view 1's frame, confidences ≥ 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelBuilder } from '@vanelia/onnx';
import type { Frame } from '@vanelia/proto';
import { rgbFrame } from '@vanelia/runtime';
import { DUST3R_DECODER_FILE, DUST3R_ENCODER_FILE } from '../src/dust3r/contract';

export const TINY = { K: 2, Z0: 4, SLOPE: 0.3, FOCAL: 400, CHANNELS: 4 } as const;

export interface TinyModelOptions {
  heightPx: number;
  widthPx: number;
  /** Fixed batch sizes; undefined leaves a symbolic 'batch' dimension. */
  encoderBatch?: number;
  decoderBatch?: number;
  /** Leave out the decoder output conf2 (to test the contract check). */
  dropConf2?: boolean;
}

export function tinyEncoder(o: TinyModelOptions): Uint8Array {
  const b = new ModelBuilder({ name: 'tiny_dust3r_encoder', seed: 3 });
  const image = b.input('image', 'float32', [o.encoderBatch ?? 'batch', 3, o.heightPx, o.widthPx]);
  const c = TINY.CHANNELS;
  const weights = new Float32Array(c * 3 * 256);
  for (let k = 0; k < 3; k++) for (let i = 0; i < 256; i++) weights[(k * 3 + k) * 256 + i] = 1 / 256;
  for (let i = 0; i < 3 * 256; i++) weights[3 * 3 * 256 + i] = 0.01 * Math.sin(i);
  const w = b.initializer('float32', [c, 3, 16, 16], weights);
  const patches = b.conv(image, w, undefined, { strides: [16, 16] });
  b.output(b.transpose(patches, [0, 2, 3, 1]), 'features', 'float32');
  return b.build();
}

export function tinyDecoder(o: TinyModelOptions): Uint8Array {
  const b = new ModelBuilder({ name: 'tiny_dust3r_decoder', seed: 4 });
  const batch = o.decoderBatch ?? 'batch';
  const grid = [batch, o.heightPx / 16, o.widthPx / 16, TINY.CHANNELS] as const;
  const f1 = b.input('features1', 'float32', grid);
  const f2 = b.input('features2', 'float32', grid);
  const h = o.heightPx;
  const w = o.widthPx;
  const p = new Float32Array(h * w);
  const q = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      p[y * w + x] = (x + 0.5 - w / 2) / TINY.FOCAL;
      q[y * w + x] = (y + 0.5 - h / 2) / TINY.FOCAL;
    }
  }
  const P = b.initializer('float32', [1, h, w, 1], p);
  const Q = b.initializer('float32', [1, h, w, 1], q);
  const position = (features: string): string =>
    b.mul(b.reduceMean(b.slice(features, [0], [1], [3]), [1, 2], true), b.constant(TINY.K));
  const x1 = position(f1);
  const x2 = position(f2);
  // Ray parameter to the plane z = Z0 + SLOPE·x from camera (xₙ, 0, 0): t = (Z0 + SLOPE xₙ) / (1 − SLOPE p).
  const denominator = b.sub(b.constant(1), b.mul(b.constant(TINY.SLOPE), P));
  const own = (x: string): { pts: string; t: string } => {
    const t = b.div(b.add(b.constant(TINY.Z0), b.mul(b.constant(TINY.SLOPE), x)), denominator);
    return { pts: b.concat([b.mul(t, P), b.mul(t, Q), t], 3), t };
  };
  const v1 = own(x1);
  const v2 = own(x2);
  const dx = b.sub(x2, x1);
  const zero = b.mul(dx, b.constant(0));
  const pts2 = b.add(v2.pts, b.concat([dx, zero, zero], 3));
  const conf = (t: string, bias: number): string => b.add(b.constant(1), b.exp(b.add(b.mul(b.squeeze(t, [3]), b.constant(0)), b.constant(bias))));
  b.output(v1.pts, 'pts3d1', 'float32');
  b.output(conf(v1.t, 1.5), 'conf1', 'float32');
  b.output(pts2, 'pts3d2', 'float32');
  if (!o.dropConf2) b.output(conf(v2.t, 1.2), 'conf2', 'float32');
  return b.build();
}

/** Writes the pair into `dir` under the contract's file names. */
export function writeTinyModels(dir: string, o: TinyModelOptions): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DUST3R_ENCODER_FILE), tinyEncoder(o));
  writeFileSync(join(dir, DUST3R_DECODER_FILE), tinyDecoder(o));
}

/** Solid frames whose red level encodes the camera position the tiny model reads: x = K · (red/127.5 − 1). */
export function tinyFrames(positions: readonly number[], widthPx: number, heightPx: number): Frame[] {
  return positions.map((x, index) => {
    const red = Math.round((x / TINY.K + 1) * 127.5);
    const data = new Uint8Array(widthPx * heightPx * 3);
    for (let i = 0; i < widthPx * heightPx; i++) {
      data[3 * i] = red;
      data[3 * i + 1] = 90;
      data[3 * i + 2] = 160;
    }
    return rgbFrame(index, widthPx, heightPx, data);
  });
}

/** The red level's position exactly as the model will read it (after 8-bit rounding). */
export function tinyPosition(x: number): number {
  return TINY.K * (Math.round((x / TINY.K + 1) * 127.5) / 127.5 - 1);
}
