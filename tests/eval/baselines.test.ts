// The baselines reproduce shared/references/baselines-kodak.md (same sharp/libvips settings) on Kodak:
// a per-image budget search for JPEG, WebP's lowest sharp setting, and the CompressAI JPEG anchor.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { decodeRgb, downscale, jpegMozjpeg, jpegTurbo, webp, findCwebp, codeAtScale } from "../../host/eval/baselines.ts";
import { bestAtBudget, QualitySweep } from "../../host/eval/budget-search.ts";
import { msssim, psnr } from "../../host/eval/metrics.ts";
import { loadRgb } from "../../host/image/load.ts";
import { KODAK_DIR } from "./msssim-pairs.ts";

const names = readdirSync(KODAK_DIR)
  .filter((f) => f.endsWith(".png"))
  .sort();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("baselines vs baselines-kodak.md", async () => {
  const views = await Promise.all(names.map((n) => loadRgb(join(KODAK_DIR, n), { width: 224, height: 224 })));

  it("has all 24 Kodak images", () => expect(names).toHaveLength(24));

  it("libjpeg-turbo JPEG at 224²: mean per-image MS-SSIM at 1500 / 2000 B is 0.8564 / 0.8967", async () => {
    const at1500: number[] = [],
      at2000: number[] = [];
    for (const im of views) {
      const s = new QualitySweep(jpegTurbo(), im, im, 1);
      const p15 = await s.atBudget(1500),
        p20 = await s.atBudget(2000);
      at1500.push(p15!.msssim);
      at2000.push(p20!.msssim);
      expect(p20!.fileBytes).toBeLessThanOrEqual(2000);
    }
    expect(mean(at1500)).toBeCloseTo(0.8564, 3);
    expect(mean(at2000)).toBeCloseTo(0.8967, 3);
  });

  it("WebP (sharp, q=1, effort 6) at 224²: mean 1357 B and MS-SSIM 0.9066", async () => {
    const bytes: number[] = [],
      ms: number[] = [];
    for (const im of views) {
      const f = await webp(false).encode(im, 1);
      bytes.push(f.length);
      ms.push(msssim(im, await decodeRgb(f)));
    }
    expect(Math.abs(mean(bytes) - 1357)).toBeLessThan(1);
    expect(mean(ms)).toBeCloseTo(0.9066, 3);
  });

  it("Pillow-style JPEG (no optimised Huffman, +18 B JFIF) at q=5 on full Kodak: 0.2212 bpp (CompressAI anchor)", async () => {
    const bpp: number[] = [];
    for (const n of names) {
      const { data, info } = await sharp(join(KODAK_DIR, n)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const f = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
        .jpeg({ quality: 5, optimiseCoding: false })
        .toBuffer();
      bpp.push((8 * (f.length + 18)) / (info.width * info.height));
    }
    expect(mean(bpp)).toBeCloseTo(0.2212, 4);
  });

  it("mozjpeg needs fewer bytes than libjpeg-turbo for the same quality setting", async () => {
    const im = views[22];
    expect((await jpegMozjpeg().encode(im, 30)).length).toBeLessThan((await jpegTurbo().encode(im, 30)).length);
  });

  it("downscaled coding returns full-size reconstructions, and best-of-scales is at least as good as 1×", async () => {
    const im = views[0];
    const smalls = await Promise.all([1, 2, 4].map((s) => downscale(im, s)));
    expect(smalls.map((s) => s.width)).toEqual([224, 112, 56]);
    const r = await codeAtScale(jpegTurbo(), im, smalls[2], 4, 50);
    expect([r.decoded.width, r.decoded.height]).toEqual([224, 224]);
    expect(psnr(im, r.decoded)).toBeGreaterThan(15);
    const sweeps = [1, 2, 4].map((s, i) => new QualitySweep(jpegTurbo(), im, smalls[i], s));
    const best = await bestAtBudget(sweeps, 900),
      one = await sweeps[0].atBudget(900);
    expect(best).not.toBeNull();
    if (one) expect(best!.msssim).toBeGreaterThanOrEqual(one.msssim);
    expect(await sweeps[0].atBudget(10)).toBeNull(); // no JPEG of this image is 10 bytes
  });

  it("WebP below quality 1 goes through cwebp when installed", async () => {
    if (!(await findCwebp())) {
      expect(webp(false).qualities[0]).toBe(1);
      return;
    }
    const f0 = await webp(true).encode(views[0], 0),
      f1 = await webp(true).encode(views[0], 1);
    expect(f0.length).toBeLessThan(f1.length);
    expect((await decodeRgb(f0)).width).toBe(224);
  });
});
