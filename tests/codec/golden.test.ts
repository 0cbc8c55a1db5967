// The trained model's golden vectors (from training/export.py's integer simulation of the device)
// must come out of the built WASM bit for bit; the ONNX decoder must turn latents into images.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEncoder, DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { readModel } from "../../host/model/format.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { loadDecoder } from "../../host/receiver/decoder.ts";
import { repoPath } from "../../host/core/paths.ts";
import { DECODER_TASK_ONNX } from "../../host/eval/tidepool-codec.ts";

const golden = JSON.parse(readFileSync(repoPath("models", "golden", "latents.json"), "utf8"));
const model = readModel(readFileSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);

describe("trained model", () => {
  it("the shipped model file is valid and within the MCU budget", () => {
    expect(model.meta.name).toBe("tidepool-limitnet-4bit");
    // The layers the shipped training config names (training/configs/shipped.json), 12 latent channels.
    const config = JSON.parse(readFileSync(repoPath("training", "configs", "shipped.json"), "utf8"));
    expect(model.layers.map((l) => [l.outChannels, l.kernel, l.stride, l.padding])).toEqual(config.encoder);
    expect((model.meta.config as { encoder: unknown }).encoder).toEqual(config.encoder);
    expect(model.latent.levels.length).toBe(12);
    // Issue 3's encoder budget per 224x224 image: <= 15 k parameters, <= 20 M MAC.
    let side = 224,
      cin = 3,
      macs = 0,
      params = 0;
    for (const l of model.layers) {
      side = Math.floor((side + 2 * l.padding - l.kernel) / l.stride) + 1;
      macs += side * side * l.outChannels * cin * l.kernel * l.kernel;
      params += l.outChannels * (cin * l.kernel * l.kernel + 1);
      cin = l.outChannels;
    }
    expect(params).toBeLessThanOrEqual(15_000);
    expect(macs).toBeLessThanOrEqual(20_000_000);
  });

  it("the WASM encoder reproduces the golden latents bit for bit (and so does the TS reference)", async () => {
    for (const v of golden.vectors) {
      const built = await buildEncoder({ board: "k210", model, width: v.width, height: v.height, format: "rgb888" });
      const enc = await EncoderInstance.load(built.wasm, built.board);
      const frame = new Uint8Array(Buffer.from(v.rgb888, "base64"));
      const want = new Uint8Array(Buffer.from(v.latent.symbols, "base64"));
      const got = enc.encode(frame, v.width, v.height, "rgb888");
      expect([got.channels, got.height, got.width]).toEqual([v.latent.channels, v.latent.height, v.latent.width]);
      expect(Buffer.from(got.data).equals(Buffer.from(want)), v.image).toBe(true);
      expect(Buffer.from(referenceEncode(model, frame, v.width, v.height, "rgb888").data).equals(Buffer.from(want))).toBe(true);
    }
  });

  it("the ONNX decoder turns a latent into an image of 8x its size, and degrades gracefully with loss", async () => {
    const dec = await loadDecoder();
    const v = golden.vectors[0];
    const latent = { width: v.latent.width, height: v.latent.height, channels: 12, data: new Uint8Array(Buffer.from(v.latent.symbols, "base64")) };
    const all = await dec.decode(latent, new Uint8Array(latent.data.length).fill(1), model);
    expect([all.width, all.height]).toEqual([latent.width * 8, latent.height * 8]);
    const none = await dec.decode(latent, new Uint8Array(latent.data.length), model);
    // With everything missing the decoder sees zeros and a zero mask: the picture must differ.
    expect(Buffer.from(none.data).equals(Buffer.from(all.data))).toBe(false);
    await expect(dec.decode({ ...latent, channels: 11 }, new Uint8Array(1), model)).rejects.toThrow(/channels/);
    await dec.close();
  });

  it("the task-aware decoder pairs with the same encoder: same latent in, a different picture of the same size out", async () => {
    const task = await loadDecoder(DECODER_TASK_ONNX);
    const recon = await loadDecoder();
    const v = golden.vectors[0];
    const latent = { width: v.latent.width, height: v.latent.height, channels: 12, data: new Uint8Array(Buffer.from(v.latent.symbols, "base64")) };
    const present = new Uint8Array(latent.data.length).fill(1);
    const [a, b] = [await task.decode(latent, present, model), await recon.decode(latent, present, model)];
    expect([a.width, a.height]).toEqual([b.width, b.height]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(false);
    await task.close();
    await recon.close();
  });
});
