import { describe, expect, it } from "vitest";
import { quantizeScale, requantize, requantizeBig } from "../../host/model/requantize.ts";
import { seededRandom } from "../../host/core/seeded-random.ts";

describe("fixed-point requantization", () => {
  it("matches 64-bit integer arithmetic exactly, including rounding of halves and negatives", () => {
    const rand = seededRandom(11);
    const edge = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 123456789, -987654321];
    for (let i = 0; i < 20000; i++) {
      const acc = i < edge.length ? edge[i] : Math.floor((rand() * 2 - 1) * 2 ** 31);
      const m = Math.floor(rand() * 2 ** 31);
      const s = 16 + Math.floor(rand() * 47);
      expect(requantize(acc, m, s)).toBe(requantizeBig(acc, m, s));
    }
  });

  it("rounds half towards +infinity", () => {
    // m/2^s = 1/2: 3 * 0.5 = 1.5 -> 2; -3 * 0.5 = -1.5 -> -1
    expect(requantize(3, 2 ** 30, 31)).toBe(2);
    expect(requantize(-3, 2 ** 30, 31)).toBe(-1);
  });

  it("quantizeScale gives a multiplier in [2^30, 2^31) that reproduces the scale", () => {
    for (const scale of [1e-4, 0.0031, 0.5, 0.999, 1, 3.7, 100]) {
      const { multiplier, shift } = quantizeScale(scale);
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 30);
      expect(multiplier).toBeLessThan(2 ** 31);
      expect(Math.abs(multiplier / 2 ** shift - scale) / scale).toBeLessThan(1e-8);
    }
    expect(() => quantizeScale(0)).toThrow(/outside/);
  });
});
