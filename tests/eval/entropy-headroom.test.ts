import { describe, expect, it } from "vitest";
import type { Latent } from "../../host/core/types.ts";
import { seededRandom } from "../../host/core/seeded-random.ts";
import { contexts, fitConditional, idealBits } from "../../host/eval/entropy-headroom.ts";

const OFFSETS = [8, 8];
/** Two channels of 16 levels; `make(c, x, y, rand)` gives each symbol. */
function latent(w: number, h: number, make: (c: number, x: number, y: number, r: () => number, row: number[]) => number, seed: number): Latent {
  const r = seededRandom(seed);
  const data = new Uint8Array(2 * w * h);
  for (let c = 0; c < 2; c++)
    for (let y = 0; y < h; y++) {
      const row: number[] = [];
      for (let x = 0; x < w; x++) {
        const s = make(c, x, y, r, row);
        row.push(s);
        data[c * w * h + y * w + x] = s;
      }
    }
  return { width: w, height: h, channels: 2, data };
}

describe("entropy headroom (ideal code lengths under fitted context tables)", () => {
  it("codes i.i.d. uniform symbols at about 4 bits under every rule", () => {
    const uniform = (s: number) => latent(32, 32, (_c, _x, _y, r) => Math.floor(r() * 16), s);
    const train = [1, 2, 3, 4, 5, 6, 7, 8].map(uniform);
    const test = uniform(99);
    for (const rule of ["static", "causal", "causal+channels"] as const) {
      const bits = idealBits(test, fitConditional(train, rule, 16, OFFSETS)) / test.data.length;
      expect(bits).toBeGreaterThan(3.9);
      expect(bits).toBeLessThan(4.3);
    }
  });

  it("sees what the left neighbour predicts, which a per-channel table cannot", () => {
    // Runs: each symbol repeats its left neighbour with probability 0.9, so the marginal is flat but
    // the conditional is sharp.
    const runs = (s: number) => latent(32, 32, (_c, x, _y, r, row) => (x > 0 && r() < 0.9 ? row[x - 1] : Math.floor(r() * 16)), s);
    const train = Array.from({ length: 48 }, (_, i) => runs(i + 1));
    const test = runs(77);
    const bits = (rule: "static" | "causal" | "oracle") => idealBits(test, fitConditional(train, rule, 16, OFFSETS)) / test.data.length;
    expect(bits("static")).toBeGreaterThan(3.8);
    // Magnitude classes are capped at 3, so the context narrows the symbol to a few values, not one.
    expect(bits("causal")).toBeLessThan(0.8 * bits("static"));
    expect(bits("oracle")).toBeLessThan(bits("causal"));
  });

  it("counts only the first `channels` channels, and contexts stay inside their range", () => {
    const lat = latent(9, 7, (c, x, y) => (c * 5 + x + 2 * y) % 16, 3);
    const t = fitConditional([lat], "causal+channels", 16, OFFSETS);
    expect(idealBits(lat, t, 1)).toBeLessThan(idealBits(lat, t, 2));
    for (const rule of ["static", "causal", "causal+channels", "oracle"] as const) {
      const { ctx, count } = contexts(lat, rule, OFFSETS);
      expect(Math.max(...ctx)).toBeLessThan(count);
      expect(Math.min(...ctx)).toBeGreaterThanOrEqual(0);
    }
  });
});
