// The speed-ups of `tidepool eval` (cached MS-SSIM reference statistics, lazy decoding, codecs run side
// by side) must not move a figure: every baseline on an odd-sized Kodak crop gives the bytes, PSNR and
// MS-SSIM that the code before them gave (fixtures/rd-figures-crop.json, written by that code). The
// full-size before/after comparison on Kodak images is recorded in docs/evaluation.md.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { defaultBaselines, findCwebp } from "../../host/eval/baselines.ts";
import { bppBudgets, evaluate } from "../../host/eval/rd.ts";
import { KODAK_DIR } from "./msssim-pairs.ts";

type Point = { label: string; reached: number; bytes: number | null; psnr: number | null; msssim: number | null };
const before = JSON.parse(readFileSync(new URL("./fixtures/rd-figures-crop.json", import.meta.url), "utf8")) as { name: string; points: Point[] }[];

describe("eval figures", () => {
  it("are those of the code before the speed-up, to 1e-4, on a 203x171 crop with every baseline", async () => {
    expect(await findCwebp(), "cwebp (Debian package webp) is needed: the fixture sweeps WebP qualities below 1").not.toBeNull();
    const { data, info } = await sharp(join(KODAK_DIR, "kodim03.png"))
      .removeAlpha()
      .extract({ left: 301, top: 117, width: 203, height: 171 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const img = { width: info.width, height: info.height, data: new Uint8Array(data) };
    const r = await evaluate([{ name: "kodim03 203x171 crop", img }], {
      baselines: await defaultBaselines(),
      budgets: bppBudgets([0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0, 1.5]),
      tidepool: null,
      tidepoolStatus: "not requested",
      view: "full size",
    });
    expect(r.curves.map((c) => c.name)).toEqual(before.map((c) => c.name));
    r.curves.forEach((c, ci) => {
      expect(c.points.map((p) => [p.label, p.reached])).toEqual(before[ci].points.map((p) => [p.label, p.reached]));
      c.points.forEach((p, pi) => {
        const b = before[ci].points[pi];
        if (b.bytes === null) {
          expect(p.bytes).toBeNaN();
          return;
        }
        expect(p.bytes, `${c.name} ${p.label}`).toBe(b.bytes);
        expect(Math.abs(p.psnr - (b.psnr as number)), `${c.name} ${p.label} PSNR`).toBeLessThan(1e-4);
        expect(Math.abs(p.msssim - (b.msssim as number)), `${c.name} ${p.label} MS-SSIM`).toBeLessThan(1e-4);
      });
    });
  });
});
