import sharp from 'sharp';
import * as THREE from 'three/webgpu';
import type { CameraPose } from './camera-model';
import { SRGB8_TO_LINEAR, luminance, type RgbImage } from './colour';

/**
 * Image-based lighting estimated from the footage itself. Each sampled frame is blurred, linearised, its
 * clipped highlights expanded, and projected into a world-space equirectangular map through its camera;
 * directions no frame saw take the mirror of what the camera faces (the best guess for what is behind it)
 * and then the mean. The brightest part of the upper hemisphere gives the dominant light direction.
 */

export interface LightEstimateOptions {
  /** Width of the equirectangular map (height is half). */
  envWidthPx?: number;
  /** Frames are downscaled to this width before sampling. */
  sampleWidthPx?: number;
  /** Most frames sampled (spread over those given). */
  maxFrames?: number;
  /** Gain applied to fully clipped whites (inverse tone mapping of highlights). */
  highlightGain?: number;
  /** Lowest elevation of the key light above the plane, degrees (keeps shadows on screen). */
  minKeyElevationDeg?: number;
}

export const LIGHT_ESTIMATE_DEFAULTS: Required<LightEstimateOptions> = {
  envWidthPx: 128,
  sampleWidthPx: 96,
  maxFrames: 8,
  highlightGain: 4,
  minKeyElevationDeg: 25,
};

export interface LightingEstimate {
  envWidthPx: number;
  envHeightPx: number;
  /** Linear RGBA radiance, row 0 = the map's top (world +Y), as three.js's equirectangular mapping reads it. */
  envRgba: Float32Array;
  /** Unit vector towards the dominant light (world). */
  keyDirectionWorld: THREE.Vector3;
  /** 0 (overcast, no clear direction) .. 1 (one strong light). */
  keyStrength: number;
  /** Mean radiance of the upper hemisphere (linear RGB). */
  ambient: [number, number, number];
}

/** Texel (column, row) -> unit direction, inverse of three.js's equirectUV (u = atan(z, x)/2π + .5, v = asin(y)/π + .5). */
export function equirectDirection(column: number, row: number, widthPx: number, heightPx: number): THREE.Vector3 {
  const u = (column + 0.5) / widthPx;
  const v = 1 - (row + 0.5) / heightPx;
  const phi = (u - 0.5) * 2 * Math.PI;
  const theta = (v - 0.5) * Math.PI;
  return new THREE.Vector3(Math.cos(theta) * Math.cos(phi), Math.sin(theta), Math.cos(theta) * Math.sin(phi));
}

interface Sample {
  widthPx: number;
  heightPx: number;
  linear: Float32Array;
  pose: CameraPose;
  scale: number;
}

async function prepareSample(image: RgbImage, pose: CameraPose, opts: Required<LightEstimateOptions>): Promise<Sample> {
  const widthPx = Math.min(opts.sampleWidthPx, image.widthPx);
  const heightPx = Math.max(1, Math.round((image.heightPx * widthPx) / image.widthPx));
  const small = await sharp(image.data, { raw: { width: image.widthPx, height: image.heightPx, channels: 3 } })
    .resize(widthPx, heightPx, { fit: 'fill', kernel: 'cubic' })
    .blur(1)
    .raw()
    .toBuffer();
  const linear = new Float32Array(widthPx * heightPx * 3);
  for (let p = 0; p < widthPx * heightPx; p++) {
    const r = SRGB8_TO_LINEAR[small[p * 3]];
    const g = SRGB8_TO_LINEAR[small[p * 3 + 1]];
    const b = SRGB8_TO_LINEAR[small[p * 3 + 2]];
    const y = luminance(r, g, b);
    const t = Math.max(0, (y - 0.7) / 0.3);
    const gain = 1 + (opts.highlightGain - 1) * t * t;
    linear[p * 3] = r * gain;
    linear[p * 3 + 1] = g * gain;
    linear[p * 3 + 2] = b * gain;
  }
  return { widthPx, heightPx, linear, pose, scale: widthPx / pose.intrinsics.widthPx };
}

/** Adds what one frame sees in `direction` to `acc` (colour times weight, and the weight). */
function accumulate(sample: Sample, direction: THREE.Vector3, acc: Float64Array, at: number): void {
  const m = sample.pose.cameraToWorldOpenCv;
  const x = m[0] * direction.x + m[4] * direction.y + m[8] * direction.z;
  const y = m[1] * direction.x + m[5] * direction.y + m[9] * direction.z;
  let z = m[2] * direction.x + m[6] * direction.y + m[10] * direction.z;
  let weight = 1;
  if (z <= 0.05) {
    z = Math.max(-z, 0.05); // behind the camera: mirror what it faces
    weight = 0.15;
  }
  const k = sample.pose.intrinsics;
  const u = ((k.fxPx * x) / z + k.cxPx) * sample.scale;
  const v = ((k.fyPx * y) / z + k.cyPx) * sample.scale;
  const outside = Math.max(0, -u, u - sample.widthPx, -v, v - sample.heightPx) / sample.widthPx;
  weight *= outside > 0 ? 0.2 * Math.exp(-outside * 4) : 1;
  const col = Math.min(sample.widthPx - 1, Math.max(0, Math.floor(u)));
  const row = Math.min(sample.heightPx - 1, Math.max(0, Math.floor(v)));
  const p = (row * sample.widthPx + col) * 3;
  acc[at] += weight * sample.linear[p];
  acc[at + 1] += weight * sample.linear[p + 1];
  acc[at + 2] += weight * sample.linear[p + 2];
  acc[at + 3] += weight;
}

/** Separable box blur of an RGBA float map, wrapping horizontally. */
function blurEquirect(data: Float32Array, widthPx: number, heightPx: number, radius: number): void {
  const tmp = new Float32Array(data.length);
  for (let pass = 0; pass < 2; pass++) {
    for (let row = 0; row < heightPx; row++) {
      for (let col = 0; col < widthPx; col++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let d = -radius; d <= radius; d++) {
            const cc = pass === 0 ? (col + d + widthPx) % widthPx : col;
            const rr = pass === 0 ? row : Math.min(heightPx - 1, Math.max(0, row + d));
            sum += (pass === 0 ? data : tmp)[(rr * widthPx + cc) * 4 + c];
          }
          (pass === 0 ? tmp : data)[(row * widthPx + col) * 4 + c] = sum / (2 * radius + 1);
        }
      }
    }
  }
}

/** Estimates the lighting from frames and their cameras; `upWorld` is the supporting plane's normal. */
export async function estimateLighting(
  frames: { image: RgbImage; pose: CameraPose }[],
  upWorld: THREE.Vector3,
  options: LightEstimateOptions = {},
): Promise<LightingEstimate> {
  const opts = { ...LIGHT_ESTIMATE_DEFAULTS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (opts as Record<string, number>)[key] = value;
  const step = Math.max(1, frames.length / opts.maxFrames);
  const picked = Array.from({ length: Math.min(frames.length, opts.maxFrames) }, (_, i) => frames[Math.floor(i * step)]);
  const samples = await Promise.all(picked.map((f) => prepareSample(f.image, f.pose, opts)));

  const width = opts.envWidthPx;
  const height = Math.max(2, width >> 1);
  const acc = new Float64Array(width * height * 4);
  const directions: THREE.Vector3[] = [];
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const direction = equirectDirection(col, row, width, height);
      directions.push(direction);
      for (const sample of samples) accumulate(sample, direction, acc, (row * width + col) * 4);
    }
  }
  const env = new Float32Array(width * height * 4);
  let mean = [0, 0, 0];
  let total = 0;
  for (let p = 0; p < width * height; p++) {
    if (acc[p * 4 + 3] <= 0) continue;
    for (let c = 0; c < 3; c++) mean[c] += acc[p * 4 + c];
    total += acc[p * 4 + 3];
  }
  mean = mean.map((v) => (total > 0 ? v / total : 0.5));
  for (let p = 0; p < width * height; p++) {
    const w = acc[p * 4 + 3];
    const blend = Math.min(1, w); // little evidence: lean on the mean
    for (let c = 0; c < 3; c++) env[p * 4 + c] = w > 0 ? (acc[p * 4 + c] / w) * blend + mean[c] * (1 - blend) : mean[c];
    env[p * 4 + 3] = 1;
  }
  blurEquirect(env, width, height, Math.max(1, Math.round(width / 64)));

  // Dominant light: luminance-weighted (to the 4th power) mean direction over the upper hemisphere.
  const up = upWorld.clone().normalize();
  const sum = new THREE.Vector3();
  let weightSum = 0;
  const lums: number[] = [];
  const ambient: [number, number, number] = [0, 0, 0];
  let ambientWeight = 0;
  directions.forEach((direction, p) => {
    const elevation = direction.dot(up);
    if (elevation <= 0.05) return;
    const solid = Math.cos(Math.asin(Math.max(-1, Math.min(1, direction.y)))); // equirect texel area
    const y = luminance(env[p * 4], env[p * 4 + 1], env[p * 4 + 2]);
    lums.push(y);
    const w = y ** 4 * solid;
    sum.addScaledVector(direction, w);
    weightSum += w;
    for (let c = 0; c < 3; c++) ambient[c] += env[p * 4 + c] * solid;
    ambientWeight += solid;
  });
  for (let c = 0; c < 3; c++) ambient[c] /= Math.max(ambientWeight, 1e-9);
  const coherence = weightSum > 0 ? sum.length() / weightSum : 0;
  lums.sort((a, b) => b - a);
  const top = lums.slice(0, Math.max(1, Math.round(lums.length * 0.05)));
  const peakRatio = top.reduce((a, b) => a + b, 0) / top.length / Math.max(luminance(...ambient), 1e-6);
  const keyStrength = Math.max(0, Math.min(1, coherence * Math.min(1, (peakRatio - 1) / 2.5)));

  let key = sum.length() > 0 ? sum.normalize() : up.clone();
  const minSin = Math.sin(THREE.MathUtils.degToRad(opts.minKeyElevationDeg));
  if (key.dot(up) < minSin) {
    const horizontal = key.clone().addScaledVector(up, -key.dot(up));
    key = horizontal.lengthSq() > 1e-12 ? horizontal.normalize().multiplyScalar(Math.sqrt(1 - minSin * minSin)).addScaledVector(up, minSin) : up.clone();
  }
  return { envWidthPx: width, envHeightPx: height, envRgba: env, keyDirectionWorld: key.normalize(), keyStrength, ambient };
}

/**
 * Studio lighting for renders without footage (and before an estimate exists): a soft sky, brighter above
 * the plane than below, and a moderate key light from above and in front of `facing`.
 */
export function neutralLighting(upWorld: THREE.Vector3, facing = new THREE.Vector3(0, 0, 1), envWidthPx = 64): LightingEstimate {
  const height = envWidthPx >> 1;
  const env = new Float32Array(envWidthPx * height * 4);
  const up = upWorld.clone().normalize();
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < envWidthPx; col++) {
      const elevation = equirectDirection(col, row, envWidthPx, height).dot(up);
      const value = 0.55 + 0.35 * elevation;
      env.set([value, value, value, 1], (row * envWidthPx + col) * 4);
    }
  }
  const front = facing.clone().addScaledVector(up, -facing.dot(up));
  const key = (front.lengthSq() > 1e-12 ? front.normalize() : new THREE.Vector3()).multiplyScalar(0.6).addScaledVector(up, 1).normalize();
  return { envWidthPx, envHeightPx: height, envRgba: env, keyDirectionWorld: key, keyStrength: 0.6, ambient: [0.75, 0.75, 0.75] };
}
