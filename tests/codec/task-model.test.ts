// The task encoder (models/task.tpm, training/configs/task-encoder.json): a second model beside the
// picture codec, trained end to end for the server's classifier. Its golden vectors come out of the
// built WASM bit for bit; `--model task` names it for build, encode and the gateway; it builds for every
// board; its own decoder (models/decoder-task-encoder.onnx) reads its latents.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEncoder, DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { readModel } from "../../host/model/format.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { loadDecoder } from "../../host/receiver/decoder.ts";
import { repoPath } from "../../host/core/paths.ts";
import { loadBoards } from "../../host/core/boards.ts";
import { namedModel, registryEntryForFile, resolveModelPath } from "../../host/core/model-registry.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";

const task = namedModel("task")!;
const shipped = existsSync(task.model);

describe("model registry", () => {
  it("resolves the registered names to the shipped files and leaves paths alone", () => {
    expect(resolveModelPath("default")).toBe(DEFAULT_MODEL_PATH);
    expect(resolveModelPath("task")).toBe(repoPath("models", "task.tpm"));
    expect(resolveModelPath("models/task.tpm")).toBe("models/task.tpm");
    expect(resolveModelPath("./task")).toBe("./task");
    expect(registryEntryForFile(repoPath("models", "task.tpm"))?.decoder).toBe(repoPath("models", "decoder-task-encoder.onnx"));
    expect(registryEntryForFile(DEFAULT_MODEL_PATH)?.ownDecoder).toBe(false);
  });
});

describe.skipIf(!shipped)("task encoder", () => {
  const model = shipped ? readModel(readFileSync(task.model), task.model) : null!;
  const picture = readModel(readFileSync(DEFAULT_MODEL_PATH), DEFAULT_MODEL_PATH);
  const golden = shipped ? JSON.parse(readFileSync(repoPath("models", "golden", "latents-task.json"), "utf8")) : null;

  it("has the picture codec's layers with its own weights and its own entropy tables", () => {
    expect(model.meta.name).toBe("tidepool-task-encoder-4bit");
    expect(model.layers.map((l) => [l.inChannels, l.outChannels, l.kernel, l.stride, l.padding])).toEqual(
      picture.layers.map((l) => [l.inChannels, l.outChannels, l.kernel, l.stride, l.padding]),
    );
    expect(Buffer.from(model.layers[0].weights).equals(Buffer.from(picture.layers[0].weights))).toBe(false);
    expect(model.entropy).not.toBeNull();
    // Packets name their tables in the CRC: the gateway tells the two models apart by it.
    expect(modelTables(model, task.model).id).not.toBe(modelTables(picture, DEFAULT_MODEL_PATH).id);
  });

  it("the built WASM (either loop shape) and the TS reference reproduce its golden latents bit for bit", async () => {
    expect(golden.model).toBe("models/task.tpm");
    const v0 = golden.vectors[0];
    for (const lanes of [1, 2] as const) {
      const built = await buildEncoder({ board: "k210", modelPath: "task", width: v0.width, height: v0.height, format: "rgb888", lanes });
      const enc = await EncoderInstance.load(built.wasm, built.board);
      for (const v of golden.vectors) {
        const frame = new Uint8Array(Buffer.from(v.rgb888, "base64"));
        const want = Buffer.from(v.latent.symbols, "base64");
        const got = enc.encode(frame, v.width, v.height, "rgb888");
        expect([got.channels, got.height, got.width]).toEqual([v.latent.channels, v.latent.height, v.latent.width]);
        expect(Buffer.from(got.data).equals(want), `${v.image} lanes ${lanes}`).toBe(true);
        expect(Buffer.from(referenceEncode(model, frame, v.width, v.height, "rgb888").data).equals(want)).toBe(true);
      }
    }
  });

  it("builds for every board at its camera frame, within the arena budget", async () => {
    for (const board of loadBoards()) {
      const r = await buildEncoder({ board, modelPath: "task" });
      expect(r.model.meta.name, board.name).toBe("tidepool-task-encoder-4bit");
      expect(r.map.arenaBytes, board.name).toBeLessThanOrEqual(r.map.arenaBudgetBytes);
      const map = JSON.parse(readFileSync(repoPath("memory-maps", `${board.name}.task.map.json`), "utf8"));
      expect(map.model, board.name).toBe("tidepool-task-encoder-4bit");
      expect(map.arenaBytes, board.name).toBe(r.map.arenaBytes);
    }
  });

  it("its own decoder turns its latents into an image of 8x the latent size", async () => {
    const dec = await loadDecoder(task.decoder);
    const v = golden.vectors[0];
    const latent = { width: v.latent.width, height: v.latent.height, channels: 12, data: new Uint8Array(Buffer.from(v.latent.symbols, "base64")) };
    const img = await dec.decode(latent, new Uint8Array(latent.data.length).fill(1), model);
    expect([img.width, img.height]).toEqual([latent.width * 8, latent.height * 8]);
    await dec.close();
  });
});
