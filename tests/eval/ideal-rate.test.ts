// Static per-channel tables and the ideal code length; the rate path of Tidepool's operating points
// (WASM encoder -> rate -> decoder) with the seeded random model and a recording test decoder.
import { describe, expect, it } from "vitest";
import { fitTables, IdealRate, idealBits, RateError, symbolBits, tablesFromJson, tablesToJson } from "../../host/wire/bitstream/ideal-rate.ts";
import { TidepoolCodec } from "../../host/eval/tidepool-codec.ts";
import { loadRgb } from "../../host/image/load.ts";
import { randomModel } from "../../host/model/random-model.ts";
import { imagenetSplit } from "../../host/core/dataset-split.ts";
import type { Latent } from "../../host/core/types.ts";
import type { ServerDecoder } from "../../host/core/types.ts";

const lat = (channels: number, plane: number[][]): Latent => ({ width: plane[0].length, height: 1, channels, data: Uint8Array.from(plane.flat()) });

describe("ideal rate", () => {
  it("costs each symbol −log2((count+1)/(total+levels)) per channel, prefix by prefix", () => {
    const t = fitTables(
      [
        lat(2, [
          [0, 0, 0, 1],
          [2, 2, 2, 2],
        ]),
      ],
      [2, 4],
      "unit",
    );
    expect(t.counts).toEqual([
      [3, 1],
      [0, 0, 4, 0],
    ]);
    const bits = symbolBits(t);
    expect(bits[0][0]).toBeCloseTo(-Math.log2(4 / 6), 12);
    expect(bits[1][2]).toBeCloseTo(-Math.log2(5 / 8), 12);
    const x = lat(2, [
      [0, 1],
      [2, 3],
    ]);
    const c1 = -Math.log2(4 / 6) - Math.log2(2 / 6);
    expect(idealBits(bits, x, 1)).toBeCloseTo(c1, 12);
    expect(idealBits(bits, x, 2)).toBeCloseTo(c1 - Math.log2(5 / 8) - Math.log2(1 / 8), 12);
    expect(idealBits(bits, x, 0)).toBe(0);
    expect(new IdealRate(t).bytes(x, 2)).toBe(Math.ceil(idealBits(bits, x, 2) / 8));
  });

  it("rejects symbols outside a channel's levels, channel mismatches and empty fits", () => {
    expect(() => fitTables([lat(1, [[5]])], [4], "unit")).toThrow(/outside its 4 levels/);
    expect(() => fitTables([lat(2, [[0], [0]])], [4], "unit")).toThrow(RateError);
    expect(() => fitTables([], [4], "unit")).toThrow(/no latents/);
    const bits = symbolBits(fitTables([lat(1, [[0]])], [2], "unit"));
    expect(() => idealBits(bits, lat(1, [[0]]), 2)).toThrow(/cannot keep 2 of 1/);
  });

  it("round-trips tables through JSON and refuses files that are not tables", () => {
    const t = fitTables([lat(1, [[0, 1, 1]])], [2], "unit");
    expect(tablesFromJson(tablesToJson(t), "x")).toEqual(t);
    expect(() => tablesFromJson('{"levels":[2],"counts":[[1]]}', "bad.json")).toThrow(/bad.json: not a rate-table file/);
    expect(() => tablesFromJson("nope", "bad.json")).toThrow(/not JSON/);
  });

  it("fits on the imagenet-sample training split only (label_index % 5 != 0), disjoint from the test split", () => {
    const train = imagenetSplit("train"),
      test = imagenetSplit("test");
    expect(train).toHaveLength(800);
    expect(test).toHaveLength(200);
    expect(train.every((t) => t.label % 5 !== 0)).toBe(true);
    expect(test.every((t) => t.label % 5 === 0)).toBe(true);
    expect(train.some((t) => /kodim/i.test(t.path))).toBe(false);
  });

  it("Tidepool points: WASM latent -> bytes grow with kept channels; the decoder sees exactly the prefix", async () => {
    const model = randomModel({ seed: 1 });
    const seen: { present: Uint8Array; data: Uint8Array }[] = [];
    const decoder: ServerDecoder = {
      async decode(latent, present) {
        seen.push({ present, data: latent.data });
        return { width: 224, height: 224, data: new Uint8Array(224 * 224 * 3).fill(128) };
      },
    };
    const codec = new TidepoolCodec(model, "test", decoder, { name: "x", describe: "x", bytes: () => 0 });
    const train = imagenetSplit("train").slice(0, 3);
    const latents = [];
    for (const t of train) latents.push(await codec.encode(await loadRgb(t.path, { width: 224, height: 224 })));
    codec.rate = new IdealRate(fitTables(latents, Array.from(model.latent.levels), "3 training images"));
    const img = await loadRgb(imagenetSplit("test")[0].path, { width: 224, height: 224 });
    const pts = await codec.points(img, [1, 2, codec.channels]);
    expect(pts[0].bytes).toBeGreaterThan(0);
    expect(pts[1].bytes).toBeGreaterThan(pts[0].bytes);
    expect(pts[2].bytes).toBeGreaterThan(pts[1].bytes);
    const plane = seen[0].present.length / codec.channels;
    expect(seen[1].present.subarray(0, 2 * plane).every((v) => v === 1)).toBe(true);
    expect(seen[1].present.subarray(2 * plane).every((v) => v === 0)).toBe(true);
    expect(seen[1].data.subarray(2 * plane).every((v) => v === 0)).toBe(true);
    expect(pts[0].psnr).toBeLessThan(30); // a grey picture is a poor reconstruction
  });
});
