// Deterministic PRNGs for tests, so random inputs are reproducible from a seed. Two generators
// because existing seeds were chosen against each: switching one would change what those tests feed.

/** mulberry32: uniform floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** xorshift32: uniform floats in [0, 1). Seed 0 (a fixed point of xorshift) is taken as 1. */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 0x100000000; };
}
