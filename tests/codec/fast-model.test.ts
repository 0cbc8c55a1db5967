// The fast encoder (models/fast.tpm, models/fast-grey.tpm; training/configs/fast*.json): a 4x4 stride-4
// first layer and one 3x3 stride-2 layer to the shipped 12 latent channels at H/8, decoded by the
// shared models/decoder.onnx. Per model (table rows): its golden vectors come out of the built WASM and
// the TS reference bit for bit; `--model fast` names it and GRAY8 frames get fast-grey; it fits every
// board, as its committed maps say.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildEncoder, DEFAULT_GREY_MODEL_PATH, DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { EncoderInstance } from "../../host/build/runtime/encoder-instance.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { loadBoards } from "../../host/core/boards.ts";
import { modelPathForFormat, namedModel, resolveModelPath } from "../../host/core/model-registry.ts";
import { repoPath } from "../../host/core/paths.ts";
import { readModel } from "../../host/model/format.ts";
import { macs } from "../../host/model/geometry.ts";
import { loadDecoder } from "../../host/receiver/decoder.ts";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { runCliInProcess } from "../helpers/cli.ts";

const fast = namedModel("fast")!;
const shipped = existsSync(fast.model) && existsSync(namedModel("fast-grey")!.model);

describe("model registry: fast", () => {
  it("names fast and fast-grey; a GRAY8 frame gets the grey variant, other paths stay as given", () => {
    expect(resolveModelPath("fast")).toBe(repoPath("models", "fast.tpm"));
    expect(resolveModelPath("fast-grey")).toBe(repoPath("models", "fast-grey.tpm"));
    expect(fast.decoder).toBe(repoPath("models", "decoder.onnx"));
    if (shipped) expect(modelPathForFormat(fast.model, "gray8")).toBe(repoPath("models", "fast-grey.tpm"));
    expect(modelPathForFormat(fast.model, "rgb565")).toBe(fast.model);
    expect(modelPathForFormat(DEFAULT_MODEL_PATH, "gray8")).toBe(DEFAULT_MODEL_PATH);
    expect(modelPathForFormat("./fast", "gray8")).toBe("./fast");
  });
});

const ROWS = [
  {
    name: "fast",
    config: "fast.json",
    golden: "latents-fast.json",
    format: "rgb888",
    board: "k210",
    reference: DEFAULT_MODEL_PATH,
    channels: 3,
    maxMacPerPixel: 60,
  },
  {
    name: "fast-grey",
    config: "fast-grey.json",
    golden: "latents-fast-grey.json",
    format: "gray8",
    board: "gap8",
    reference: DEFAULT_GREY_MODEL_PATH,
    channels: 1,
    maxMacPerPixel: 35,
  },
] as const;

describe.skipIf(!shipped)("fast encoder", () => {
  for (const row of ROWS) {
    const entry = namedModel(row.name)!;
    const model = shipped ? readModel(readFileSync(entry.model), entry.model) : null!;
    const golden = shipped ? JSON.parse(readFileSync(repoPath("models", "golden", row.golden), "utf8")) : null;

    it(`${row.name}: the config's layers, 12 latent channels at H/8, its own tables, at most ${row.maxMacPerPixel} MAC per pixel`, () => {
      const config = JSON.parse(readFileSync(repoPath("training", "configs", row.config), "utf8"));
      expect(model.layers.map((l) => [l.outChannels, l.kernel, l.stride, l.padding])).toEqual(config.encoder);
      expect(model.input.channels).toBe(row.channels);
      expect(model.latent.levels.length).toBe(12);
      expect(macs(model, 224, 224) / (224 * 224)).toBeLessThanOrEqual(row.maxMacPerPixel);
      const ref = readModel(readFileSync(row.reference), row.reference);
      expect(model.entropy).not.toBeNull();
      // Packets name their tables in the CRC: the gateway tells the models apart by it.
      expect(modelTables(model, entry.model).id).not.toBe(modelTables(ref, row.reference).id);
    });

    it(`${row.name}: the built WASM and the TS reference reproduce its golden latents bit for bit`, async () => {
      expect(golden.model).toBe(`models/${row.name}.tpm`);
      const v0 = golden.vectors[0];
      const built = await buildEncoder({ board: row.board, modelPath: entry.model, width: v0.width, height: v0.height, format: row.format });
      const enc = await EncoderInstance.load(built.wasm, built.board);
      for (const v of golden.vectors) {
        const frame = new Uint8Array(Buffer.from(row.format === "gray8" ? v.gray8 : v.rgb888, "base64"));
        const want = Buffer.from(v.latent.symbols, "base64");
        const got = enc.encode(frame, v.width, v.height, row.format);
        expect([got.channels, got.height, got.width]).toEqual([v.latent.channels, v.latent.height, v.latent.width]);
        expect(Buffer.from(got.data).equals(want), v.image).toBe(true);
        expect(Buffer.from(referenceEncode(model, frame, v.width, v.height, row.format).data).equals(want)).toBe(true);
      }
    });
  }

  it("`--model fast` builds every board at its camera frame within budget (fast-grey on GRAY8 cameras), as the committed maps say", async () => {
    for (const board of loadBoards()) {
      const r = await buildEncoder({ board, modelPath: "fast" });
      const want = board.camera.format === "gray8" ? "tidepool-fast-4bit-grey" : "tidepool-fast-4bit";
      expect(r.model.meta.name, board.name).toBe(want);
      expect(r.map.arenaBytes, board.name).toBeLessThanOrEqual(r.map.arenaBudgetBytes);
      const map = JSON.parse(readFileSync(repoPath("memory-maps", `${board.name}.fast.map.json`), "utf8"));
      expect([map.model, map.arenaBytes], board.name).toEqual([want, r.map.arenaBytes]);
    }
    const cli = await runCliInProcess(["build", "--board", "gap9", "--model", "fast", "--json", "--out", repoPath("build", "test-fast-gap9")]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ board: "gap9", format: "gray8", model: "tidepool-fast-4bit-grey" });
  });

  it("the shared decoder turns its latents into an image of 8x the latent size", async () => {
    const dec = await loadDecoder(fast.decoder);
    const model = readModel(readFileSync(fast.model), fast.model);
    const v = JSON.parse(readFileSync(repoPath("models", "golden", "latents-fast.json"), "utf8")).vectors[0];
    const latent = { width: v.latent.width, height: v.latent.height, channels: 12, data: new Uint8Array(Buffer.from(v.latent.symbols, "base64")) };
    const img = await dec.decode(latent, new Uint8Array(latent.data.length).fill(1), model);
    expect([img.width, img.height]).toEqual([latent.width * 8, latent.height * 8]);
    await dec.close();
  });
});
