/** A seeded pseudo-random generator (mulberry32): deterministic RANSAC and tests. Returns [0, 1). */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** `k` distinct integers from [0, n) (k ≤ n), in draw order. */
export function sampleDistinct(rng: Rng, n: number, k: number): number[] {
  if (k > n) throw new RangeError(`sampleDistinct: cannot draw ${k} of ${n}`);
  const out: number[] = [];
  while (out.length < k) {
    const i = randomInt(rng, n);
    if (!out.includes(i)) out.push(i);
  }
  return out;
}

/** Standard normal sample (Box–Muller). */
export function randomNormal(rng: Rng): number {
  const u = Math.max(rng(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
