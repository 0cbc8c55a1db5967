// The device's fixed-point requantization, bit-exact, and the helper that turns a real scale into
// (multiplier, shift). Rounding rule (docs/model-format.md): out = (acc * m + 2^(s-1)) >> s with an
// arithmetic shift, i.e. round half towards +infinity, computed in 64-bit on the device.
import { MAX_SHIFT, MIN_SHIFT } from "./format.ts";

/**
 * Exact in float64 arithmetic: acc*m is split as acc*mHi*2^16 + acc*mLo so every partial product
 * stays below 2^53, and shift >= 16 lets the low part be folded in before the final power-of-two floor.
 */
export function requantize(acc: number, multiplier: number, shift: number): number {
  const mHi = Math.floor(multiplier / 65536);
  const mLo = multiplier - mHi * 65536;
  const hi = acc * mHi; // |hi| < 2^46
  const lo = acc * mLo + 2 ** (shift - 1); // exact below 2^53
  const loHigh = Math.floor(lo / 65536); // lo >> 16
  return Math.floor((hi + loHigh) / 2 ** (shift - 16));
}

/** Same computation with BigInt; used by tests as an independent check. */
export function requantizeBig(acc: number, multiplier: number, shift: number): number {
  return Number((BigInt(acc) * BigInt(multiplier) + (1n << BigInt(shift - 1))) >> BigInt(shift));
}

/** Nearest (multiplier, shift) with multiplier in [2^30, 2^31) for scale in (0, 2^15). */
export function quantizeScale(scale: number): { multiplier: number; shift: number } {
  if (!(scale > 0) || scale >= 2 ** 15) throw new RangeError(`requantization scale ${scale} outside (0, 32768)`);
  let shift = 31 - Math.floor(Math.log2(scale)) - 1;
  let multiplier = Math.round(scale * 2 ** shift);
  while (multiplier >= 2 ** 31) {
    shift -= 1;
    multiplier = Math.round(scale * 2 ** shift);
  }
  while (multiplier < 2 ** 30 && shift < MAX_SHIFT) {
    shift += 1;
    multiplier = Math.round(scale * 2 ** shift);
  }
  if (shift > MAX_SHIFT) throw new RangeError(`requantization scale ${scale} too small`);
  if (shift < MIN_SHIFT) throw new RangeError(`requantization scale ${scale} too large`);
  return { multiplier, shift };
}
