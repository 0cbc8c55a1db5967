import { describe, expect, it } from "vitest";
import { lowestQualityReaching, memoByQuality } from "../../host/eval/equal-quality.ts";

describe("lowest JPEG quality reaching a target MS-SSIM", () => {
  const curve = (q: number) => 1 - 0.5 / q; // rises with quality: 0.5 at q1, 0.995 at q100

  it("returns the first quality at or above the target, and null past the top", async () => {
    for (const target of [0.5, 0.9, 0.95, 0.96, 0.99]) expect(await lowestQualityReaching(target, curve)).toBe(Math.ceil(0.5 / (1 - target) - 1e-9));
    expect(await lowestQualityReaching(0.999, curve)).toBeNull();
    expect(await lowestQualityReaching(0.9, curve, 1, 95)).toBe(5);
  });

  it("never returns a quality below the target even where the curve dips", async () => {
    const dip = (q: number) => (q === 30 ? 0.8 : curve(q));
    const q = (await lowestQualityReaching(0.97, dip))!;
    expect(dip(q)).toBeGreaterThanOrEqual(0.97);
  });

  it("computes each quality once", async () => {
    let calls = 0;
    const score = memoByQuality(async (q) => {
      calls++;
      return curve(q);
    });
    for (const t of [0.9, 0.95, 0.96]) await lowestQualityReaching(t, score);
    expect(calls).toBeLessThan(3 * 8);
    const again = calls;
    await lowestQualityReaching(0.95, score);
    expect(calls).toBe(again);
  });
});
