import { describe, expect, it, beforeAll } from "vitest";
import { buildEncoder } from "../../host/build/build.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { randomModel, type LayerSpec } from "../../host/model/random-model.ts";
import { PIXEL_FORMATS, type PixelFormat } from "../../host/core/pixel-format.ts";
import { loadRgb, toFrame } from "../../host/image/load.ts";
import { kodakImages, packFrame, randomRgb } from "../helpers/frames.ts";
import type { Model } from "../../host/core/model-types.ts";

async function encoderFor(model: Model, width: number, height: number, format: PixelFormat) {
  const built = await buildEncoder({ board: "k210", model, width, height, format });
  return EncoderInstance.load(built.wasm, built.board);
}

function expectSameLatent(model: Model, enc: EncoderInstance, frame: Uint8Array, w: number, h: number, f: PixelFormat) {
  const got = enc.encode(frame, w, h, f);
  const want = referenceEncode(model, frame, w, h, f);
  expect([got.width, got.height, got.channels]).toEqual([want.width, want.height, want.channels]);
  // Compare as a whole but report the first mismatch usefully.
  const first = got.data.findIndex((v, i) => v !== want.data[i]);
  expect(first, `first mismatching latent index`).toBe(-1);
  return got;
}

const ARCHS: Record<string, LayerSpec[]> = {
  default: undefined as unknown as LayerSpec[],
  threeLayer: [
    { kernel: 5, stride: 2, padding: 2, outChannels: 8, activation: "relu" },
    { kernel: 3, stride: 2, padding: 1, outChannels: 12, activation: "linear" },
    { kernel: 3, stride: 2, padding: 1, outChannels: 6, activation: "latent" },
  ],
  pointwiseAndNoPadding: [
    { kernel: 4, stride: 3, padding: 0, outChannels: 10, activation: "relu" },
    { kernel: 1, stride: 1, padding: 0, outChannels: 7, activation: "relu" },
    { kernel: 2, stride: 2, padding: 1, outChannels: 5, activation: "latent" },
  ],
};

describe("WASM encoder equals the TypeScript reference bit for bit", () => {
  for (const [name, layers] of Object.entries(ARCHS))
    for (const format of PIXEL_FORMATS)
      it(`${name} architecture, ${format}, odd frame sizes`, async () => {
        const model = randomModel({ seed: name.length * 31 + format.length, layers: layers ?? undefined });
        const enc = await encoderFor(model, 97, 61, format);
        for (const [w, h, seed] of [
          [97, 61, 1],
          [33, 29, 2],
          [20, 17, 3],
          [97, 9, 4],
        ] as const) {
          expectSameLatent(model, enc, packFrame(randomRgb(seed, w, h), w, h, format), w, h, format);
        }
      });

  it("a 1-channel model fed RGB565 and GRAY8", async () => {
    const model = randomModel({ seed: 5, inputChannels: 1 });
    for (const format of ["rgb565", "gray8"] as const) {
      const enc = await encoderFor(model, 75, 50, format);
      expectSameLatent(model, enc, packFrame(randomRgb(9, 75, 50), 75, 50, format), 75, 50, format);
    }
  });

  it("reports protocol errors instead of corrupting state", async () => {
    const model = randomModel({ seed: 2, layers: ARCHS.pointwiseAndNoPadding });
    const enc = await encoderFor(model, 40, 40, "rgb888");
    expect(() => enc.pushRow(new Uint8Array(120))).toThrow(/before tp_init/);
    expect(() => enc.init(41, 40, "rgb888")).toThrow(/larger than the size the module was built for/);
    expect(() => enc.init(2, 2, "rgb888")).toThrow(/smaller than the encoder's receptive field/);
    enc.init(40, 8, "rgb888");
    for (let y = 0; y < 8; y++) enc.pushRow(new Uint8Array(120));
    expect(() => enc.pushRow(new Uint8Array(120))).toThrow(/more rows pushed/);
    // 40x8 -> k4 s3 p0: 13x2 -> k1: 13x2 -> k2 s2 p1: 7x2, 5 channels
    expect(enc.latent().data.length).toBe(5 * 7 * 2);
  });
});

describe("on Kodak photos", () => {
  const images = kodakImages();
  let enc: EncoderInstance;
  const model = randomModel({ seed: 1 });
  beforeAll(async () => {
    enc = await encoderFor(model, 768, 768, "rgb565");
  });

  // Every third Kodak photo (landscape and portrait), full size: the reference encoder is the cost here.
  it.skipIf(images.length === 0)("8 of the 24 images, full size, RGB565 (and RGB888/GRAY8 on a few)", async () => {
    expect(images.length).toBe(24);
    for (const [i, path] of images.filter((_, k) => k % 3 === 0).entries()) {
      const img = await loadRgb(path);
      const formats: PixelFormat[] = i < 3 ? ["rgb565", "rgb888", "gray8"] : ["rgb565"];
      for (const f of formats) {
        const e = f === "rgb565" ? enc : await encoderFor(model, img.width, img.height, f);
        const latent = expectSameLatent(model, e, toFrame(img, f), img.width, img.height, f);
        expect(latent.width * latent.height).toBe((img.width / 8) * (img.height / 8));
      }
    }
  });
});
