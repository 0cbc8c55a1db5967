// The grey model shipped for GRAY8 cameras (models/default-grey.tpm, training/configs/grey.json): one
// input channel, the same layers as the colour model, its golden vectors reproduced bit for bit by the
// built WASM (GRAY8 rows, and RGB888 rows through the device's luma), picked by default for gray8 builds.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEncoder, DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { readModel } from "../../host/model/format.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { loadDecoder } from "../../host/receiver/decoder.ts";
import { repoPath } from "../../host/core/paths.ts";

const shipped = existsSync(DEFAULT_GREY_MODEL_PATH);

describe.skipIf(!shipped)("grey model", () => {
  const grey = shipped ? readModel(readFileSync(DEFAULT_GREY_MODEL_PATH), DEFAULT_GREY_MODEL_PATH) : null!;
  const colour = readModel(readFileSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);
  const golden = shipped ? JSON.parse(readFileSync(repoPath("models", "golden", "latents-grey.json"), "utf8")) : null;

  it("reads one channel, has the colour model's layers, its own entropy tables, and fits the codec budget", () => {
    expect(grey.meta.name).toBe("tidepool-limitnet-4bit-grey");
    expect(grey.input.channels).toBe(1);
    expect(grey.layers.map((l) => [l.outChannels, l.kernel, l.stride, l.padding])).toEqual(
      colour.layers.map((l) => [l.outChannels, l.kernel, l.stride, l.padding]),
    );
    expect(grey.layers[0].inChannels).toBe(1);
    expect(grey.entropy).not.toBeNull();
    expect(grey.latent.levels.length).toBe(12);
  });

  it("the built WASM reproduces the golden latents from GRAY8 and from RGB888 rows (device luma), with either loop shape", async () => {
    expect(golden.model).toBe("models/default-grey.tpm");
    const v0 = golden.vectors[0];
    for (const lanes of [1, 2] as const)
      for (const format of ["gray8", "rgb888"] as const) {
        const b = await buildEncoder({ board: "gap8", model: grey, width: v0.width, height: v0.height, format, lanes });
        const enc = await EncoderInstance.load(b.wasm, b.board);
        for (const v of golden.vectors) {
          const frame = new Uint8Array(Buffer.from(format === "gray8" ? v.gray8 : v.rgb888, "base64"));
          const want = Buffer.from(v.latent.symbols, "base64");
          expect(Buffer.from(enc.encode(frame, v.width, v.height, format).data).equals(want), `${v.image} ${format} lanes ${lanes}`).toBe(true);
          expect(Buffer.from(referenceEncode(grey, frame, v.width, v.height, format).data).equals(want)).toBe(true);
        }
      }
  });

  it("GRAY8 boards build it by default; colour boards keep the colour model", async () => {
    const gap8 = await buildEncoder({ board: "gap8" });
    expect(gap8.model.meta.name).toBe("tidepool-limitnet-4bit-grey");
    expect(gap8.model.input.channels).toBe(1);
    const rgbOnGap8 = await buildEncoder({ board: "gap8", format: "rgb565", width: 64, height: 48 });
    expect(rgbOnGap8.model.input.channels).toBe(3);
    const k210 = await buildEncoder({ board: "k210", width: 64, height: 48 });
    expect(k210.model.meta.name).toBe("tidepool-limitnet-4bit");
    const map = JSON.parse(readFileSync(repoPath("memory-maps", "gap8.map.json"), "utf8"));
    expect(map.model).toBe("tidepool-limitnet-4bit-grey");
  });

  it("the shipped decoder turns its latents into an image of 8x the latent size", async () => {
    const dec = await loadDecoder();
    const v = golden.vectors[0];
    const latent = { width: v.latent.width, height: v.latent.height, channels: 12, data: new Uint8Array(Buffer.from(v.latent.symbols, "base64")) };
    const img = await dec.decode(latent, new Uint8Array(latent.data.length).fill(1), grey);
    expect([img.width, img.height]).toEqual([latent.width * 8, latent.height * 8]);
    await dec.close();
  });
});
