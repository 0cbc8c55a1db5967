// MS-SSIM and PSNR against an independent NumPy implementation (reference/msssim_reference.py, values
// committed in fixtures/msssim-reference.json), plus the identities of the definition.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MetricError, msssim, msssimTerms, psnr, MSSSIM_MIN_SIDE } from "../../host/eval/metrics.ts";
import { msssimPairs } from "./msssim-pairs.ts";

const ref = JSON.parse(readFileSync(new URL("./fixtures/msssim-reference.json", import.meta.url), "utf8")) as {
  pairs: { name: string; msssim: number; psnr: number; terms: { cs: number[]; ssim: number[] }[] }[];
};

describe("metrics", async () => {
  const pairs = await msssimPairs();

  it("matches the independent NumPy MS-SSIM, per scale and overall, to 1e-12", () => {
    expect(pairs.map((p) => p.name)).toEqual(ref.pairs.map((p) => p.name));
    pairs.forEach((p, i) => {
      expect(Math.abs(msssim(p.a, p.b) - ref.pairs[i].msssim)).toBeLessThan(1e-12);
      const t = msssimTerms(p.a, p.b);
      for (let ch = 0; ch < 3; ch++)
        for (let s = 0; s < 5; s++) {
          expect(Math.abs(t.cs[ch][s] - ref.pairs[i].terms[ch].cs[s])).toBeLessThan(1e-12);
          expect(Math.abs(t.ssim[ch][s] - ref.pairs[i].terms[ch].ssim[s])).toBeLessThan(1e-12);
        }
    });
  });

  it("matches the reference PSNR", () => {
    pairs.forEach((p, i) => expect(Math.abs(psnr(p.a, p.b) - ref.pairs[i].psnr)).toBeLessThan(1e-9));
  });

  it("MS-SSIM(x, x) = 1 and PSNR(x, x) = Infinity; both are symmetric", () => {
    for (const p of pairs) {
      expect(msssim(p.a, p.a)).toBe(1);
      expect(psnr(p.b, p.b)).toBe(Infinity);
      expect(Math.abs(msssim(p.a, p.b) - msssim(p.b, p.a))).toBeLessThan(1e-12);
      expect(psnr(p.a, p.b)).toBe(psnr(p.b, p.a));
    }
  });

  it("PSNR follows 10·log10(255²/MSE) over all samples", () => {
    const a = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 0, 0, 0]) };
    const b = { width: 2, height: 1, data: new Uint8Array([6, 0, 0, 0, 0, 0]) }; // MSE = 36/6 = 6
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / 6), 12);
  });

  it("rejects mismatched sizes, wrong buffer lengths and images too small for 5 scales", () => {
    const p = pairs[1];
    expect(() => msssim(p.a, pairs[2].a)).toThrow(/differ in size/);
    expect(() => psnr({ ...p.a, data: p.a.data.subarray(1) }, p.b)).toThrow(MetricError);
    const tiny = { width: MSSSIM_MIN_SIDE - 1, height: 200, data: new Uint8Array((MSSSIM_MIN_SIDE - 1) * 200 * 3) };
    expect(() => msssim(tiny, tiny)).toThrow(/needs both sides >= 161/);
  });
});
