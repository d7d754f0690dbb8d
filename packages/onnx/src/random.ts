/**
 * A seeded random source (xoshiro128**, state from splitmix32), uniform and standard normal: the same seed gives
 * the same numbers on every machine. Used for test weights and for a job's diffusion noise.
 */

export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** `count` standard normal values. */
  normals(count: number): Float32Array;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A random source from a seed (integers up to 64 bits; both halves matter). */
export function createRandom(seed: number | bigint): Random {
  const s64 = BigInt.asUintN(64, BigInt(seed));
  const low = splitmix32(Number(s64 & 0xffffffffn));
  const high = splitmix32(Number(s64 >> 32n) ^ 0x5bd1e995);
  const state = new Uint32Array([low() ^ high(), low() ^ high(), low() ^ high(), low() ^ high()]);
  if (state.every((v) => v === 0)) state[0] = 1;

  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(state[1], 5), 7), 9) >>> 0;
    const t = state[1] << 9;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
  };
  const uniform = (): number => nextUint32() / 4294967296;
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  return {
    uniform,
    normal,
    normals(count) {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = normal();
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
