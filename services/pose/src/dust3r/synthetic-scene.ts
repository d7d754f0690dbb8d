import { mat3Multiply, mat4FromRotationTranslation, rotationFromVector, type Mat3, type Mat4 } from '../geometry';
import type { ModelShape } from './pair-batches';
import type { PairPrediction } from './pair-observations';
import type { ImagePair } from './scene-graph';

/** A made-up scene and camera path with exact geometry, for tests and benchmarks of the alignment. */
export interface SyntheticScene {
  shape: ModelShape;
  focalPx: number;
  /** Camera-to-world (OpenCV axes) per frame. */
  cameras: Mat4[];
  /** Pointmap of each frame in its own camera frame (H×W×3), by ray casting the scene. */
  pointmaps: Float32Array[];
}

export interface SyntheticSceneOptions {
  frames: number;
  shape?: ModelShape;
  focalPx?: number;
  /** Seed of the deterministic generator. */
  seed?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Height of the wavy wall the cameras look at: z = 6 + 0.8 sin(0.9x) cos(1.1y) + 0.3 x. */
function wallZ(x: number, y: number): number {
  return 6 + 0.8 * Math.sin(0.9 * x) * Math.cos(1.1 * y) + 0.3 * x;
}

function castRay(origin: ArrayLike<number>, dir: readonly number[]): [number, number, number] {
  // Solve o_z + s d_z = wallZ(o + s d) by Newton iterations on s.
  let s = (6 - origin[2]) / dir[2];
  for (let i = 0; i < 30; i++) {
    const x = origin[0] + s * dir[0];
    const y = origin[1] + s * dir[1];
    const z = origin[2] + s * dir[2];
    const fx = 0.8 * 0.9 * Math.cos(0.9 * x) * Math.cos(1.1 * y) + 0.3;
    const fy = -0.8 * 1.1 * Math.sin(0.9 * x) * Math.sin(1.1 * y);
    const residual = z - wallZ(x, y);
    const slope = dir[2] - fx * dir[0] - fy * dir[1];
    const step = residual / slope;
    s -= step;
    if (Math.abs(step) < 1e-12) break;
  }
  return [origin[0] + s * dir[0], origin[1] + s * dir[1], origin[2] + s * dir[2]];
}

/**
 * Cameras moving sideways and forward along a gentle arc, turning a little, all looking at a wavy wall
 * about 6 units ahead; pointmaps by exact ray casting with the principal point at the image centre.
 */
export function syntheticScene(options: SyntheticSceneOptions): SyntheticScene {
  const shape = options.shape ?? { heightPx: 48, widthPx: 64 };
  const focalPx = options.focalPx ?? 0.9 * shape.widthPx;
  const random = rng(options.seed ?? 7);
  const cameras: Mat4[] = [];
  const pointmaps: Float32Array[] = [];
  for (let n = 0; n < options.frames; n++) {
    const u = options.frames > 1 ? n / (options.frames - 1) : 0;
    const rotation: Mat3 = mat3Multiply(
      rotationFromVector([0.05 * Math.sin(3 * u) + 0.02 * (random() - 0.5), 0.25 * (u - 0.5), 0.03 * (random() - 0.5)]),
      rotationFromVector([0, 0, 0]),
    );
    const centre = [2.0 * (u - 0.5), 0.2 * Math.sin(2 * u), 0.8 * u + 0.05 * (random() - 0.5)];
    cameras.push(mat4FromRotationTranslation(rotation, centre));
    const map = new Float32Array(shape.heightPx * shape.widthPx * 3);
    for (let y = 0; y < shape.heightPx; y++) {
      for (let x = 0; x < shape.widthPx; x++) {
        const ray = [(x + 0.5 - shape.widthPx / 2) / focalPx, (y + 0.5 - shape.heightPx / 2) / focalPx, 1];
        const dir = [0, 1, 2].map((k) => rotation[k * 3] * ray[0] + rotation[k * 3 + 1] * ray[1] + rotation[k * 3 + 2] * ray[2]);
        const hit = castRay(centre, dir);
        const d = [hit[0] - centre[0], hit[1] - centre[1], hit[2] - centre[2]];
        const i = 3 * (y * shape.widthPx + x);
        for (let k = 0; k < 3; k++) map[i + k] = rotation[k] * d[0] + rotation[3 + k] * d[1] + rotation[6 + k] * d[2];
      }
    }
    pointmaps.push(map);
  }
  return { shape, focalPx, cameras, pointmaps };
}

export interface SyntheticPairOptions {
  /** Relative Gaussian noise on every point (fraction of its distance). */
  noise?: number;
  /** Confidence every pixel gets (DUSt3R's are ≥ 1). */
  confidence?: number;
  seed?: number;
}

/**
 * DUSt3R-like predictions for the pairs: both frames' points in view 1's camera frame, each pair at its
 * own random scale (DUSt3R's outputs are up to scale), with optional relative noise.
 */
export function syntheticPredictions(scene: SyntheticScene, pairs: readonly ImagePair[], options: SyntheticPairOptions = {}): PairPrediction[] {
  const random = rng(options.seed ?? 11);
  const noise = options.noise ?? 0;
  // A table of standard normal draws, read at random offsets (cheap enough for full-size benchmarks).
  const table = new Float64Array(1 << 16);
  for (let i = 0; i < table.length; i++) table[i] = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const pixels = scene.shape.heightPx * scene.shape.widthPx;
  return pairs.map(({ first, second }) => {
    const scale = 0.5 + random();
    const ci = scene.cameras[first];
    const toView1 = (map: Float32Array, cam: Mat4): Float32Array => {
      // view-1 coordinates of a point x in camera `cam`: R_iᵀ (R x + t − t_i); as one affine map M x + m.
      const m = new Float64Array(12);
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) m[r * 4 + c] = ci[r] * cam[c] + ci[4 + r] * cam[4 + c] + ci[8 + r] * cam[8 + c];
        m[r * 4 + 3] = ci[r] * (cam[3] - ci[3]) + ci[4 + r] * (cam[7] - ci[7]) + ci[8 + r] * (cam[11] - ci[11]);
      }
      const out = new Float32Array(map.length);
      let at = Math.floor(random() * table.length);
      for (let p = 0; p < pixels; p++) {
        const x = map[3 * p];
        const y = map[3 * p + 1];
        const z = map[3 * p + 2];
        const amount = noise * Math.sqrt(x * x + y * y + z * z);
        for (let k = 0; k < 3; k++) {
          at = (at + 40503) & (table.length - 1);
          out[3 * p + k] = scale * (m[k * 4] * x + m[k * 4 + 1] * y + m[k * 4 + 2] * z + m[k * 4 + 3] + amount * table[at]);
        }
      }
      return out;
    };
    const conf = new Float32Array(pixels).fill(options.confidence ?? 3);
    return {
      first,
      second,
      pts1: toView1(scene.pointmaps[first], ci),
      conf1: conf,
      pts2: toView1(scene.pointmaps[second], scene.cameras[second]),
      conf2: Float32Array.from(conf),
    };
  });
}
