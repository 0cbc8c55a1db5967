// A seeded random source: the same seed gives the same sequence everywhere (tests, fuzzing, loss models).

/** mulberry32: small, fast, good enough for test data and loss simulation (not for cryptography). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * xorshift32 (Marsaglia): the sequence the adaptive-level policy, its drift simulation and outcome
 * noise were built and their fixtures recorded with, so it stays beside mulberry32 rather than
 * replaced by it. Returns unsigned 32-bit values; seed 0 is taken as 1 (xorshift's fixed point).
 */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** xorshift32 scaled to [0, 1). */
export function xorshiftRandom(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 4294967296;
}
