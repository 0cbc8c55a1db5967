// Deterministic image pairs for validating MS-SSIM against an independent implementation
// (reference/msssim_reference.py). Sources are lossless PNG crops of Kodak; distortions are pure
// integer code here, so the pairs do not depend on any codec library's version.
import sharp from "sharp";
import { join } from "node:path";
import { SHARED_DIR } from "../../host/core/paths.ts";
import type { RgbImage } from "../../host/core/types.ts";

export const KODAK_DIR = join(SHARED_DIR, "datasets", "kodak");

async function crop(name: string, left: number, top: number, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(join(KODAK_DIR, `${name}.png`))
    .removeAlpha()
    .extract({ left, top, width, height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** 32-bit LCG (Numerical Recipes constants): the same sequence on every platform. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

function map(im: RgbImage, f: (x: number, y: number, c: number, v: number) => number): RgbImage {
  const out = new Uint8Array(im.data.length);
  for (let y = 0; y < im.height; y++)
    for (let x = 0; x < im.width; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * im.width + x) * 3 + c;
        out[i] = clamp(Math.round(f(x, y, c, im.data[i])));
      }
  return { width: im.width, height: im.height, data: out };
}

const at = (im: RgbImage, x: number, y: number, c: number) =>
  im.data[(Math.min(im.height - 1, Math.max(0, y)) * im.width + Math.min(im.width - 1, Math.max(0, x))) * 3 + c];

export async function msssimPairs(): Promise<{ name: string; a: RgbImage; b: RgbImage }[]> {
  const k01 = await crop("kodim01", 0, 0, 768, 512);
  const k04 = await crop("kodim04", 100, 200, 177, 203); // odd sides: exercises the pooling padding
  const k23 = await crop("kodim23", 300, 150, 224, 224);
  const k13 = await crop("kodim13", 400, 100, 161, 161); // smallest size 5-scale MS-SSIM accepts
  const r1 = lcg(1),
    r3 = lcg(3);
  return [
    {
      name: "kodim01 768x512 box-blur3 + noise±8",
      a: k01,
      b: map(k01, (x, y, c) => {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += at(k01, x + dx, y + dy, c);
        return s / 9 + ((r1() >>> 24) % 17) - 8;
      }),
    },
    { name: "kodim04 177x203 quantised to step 32", a: k04, b: map(k04, (_x, _y, _c, v) => Math.floor(v / 32) * 32 + 16) },
    { name: "kodim23 224x224 noise±60", a: k23, b: map(k23, (_x, _y, _c, v) => v + ((r3() >>> 24) % 121) - 60) },
    { name: "kodim13 161x161 shifted 2 px right, contrast 0.6", a: k13, b: map(k13, (x, y, c) => 0.6 * at(k13, x - 2, y, c) + 40) },
  ];
}
