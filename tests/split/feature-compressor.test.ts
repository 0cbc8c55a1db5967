// The learned feature compressor after the split head (docs/split-computing.md §Feature compression):
// device (WASM) and TypeScript reference give the same symbols on an odd frame; the latent's packets,
// any subset, decode on the server to a top-5; the shipped head fits GAP8's arena at 224x224; the model
// file sections round trip.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildHead, type HeadBuildResult } from "../../host/build/head-build.ts";
import { HeadInstance } from "../../host/build/runtime/head-instance.ts";
import { referenceHead } from "../../host/build/reference/head.ts";
import { latentFromHeadOutput } from "../../host/build/feature-latent.ts";
import { compressedSplitPoints, COMPRESSED_FRAME, DEFAULT_SPLIT_ONNX } from "../../host/build/split-choice.ts";
import { readHeadModel, writeHeadModel } from "../../host/model/head-format.ts";
import { packetize } from "../../host/wire/bitstream/packetizer.ts";
import { SplitFeatureDecoder } from "../../host/receiver/split-feature-decoder.ts";
import { SPLIT_B2_COMPRESSED_MODEL } from "../../host/eval/split-feature-route.ts";
import { classifierView } from "../../host/receiver/classifier.ts";
import { imagenetSplit } from "../../host/core/dataset-split.ts";
import { getBoard } from "../../host/core/boards.ts";
import type { HeadModel } from "../../host/core/head-types.ts";

const head: HeadModel = readHeadModel(new Uint8Array(readFileSync(SPLIT_B2_COMPRESSED_MODEL)), SPLIT_B2_COMPRESSED_MODEL);
let built: HeadBuildResult;
let device: HeadInstance;

beforeAll(async () => {
  // Built for GAP8's arena at the classifier's view: the build itself refuses a head that does not fit.
  built = await buildHead({ board: "gap8", head, width: 224, height: 224, format: "rgb888", streamOutput: false });
  device = await HeadInstance.load(built.wasm, built.board);
}, 120_000);

describe("feature compressor", () => {
  it("model file: FCMP/FEXP/ENTR round trip, the compressor is the last op", () => {
    const fc = head.compressor!;
    expect(fc.headOps).toBe(head.ops.length - 1);
    expect(fc.entropy).not.toBeNull();
    const again = readHeadModel(writeHeadModel(head));
    expect(again.compressor!.expander.conv2.weight).toEqual(fc.expander.conv2.weight);
    expect(again.compressor!.entropy).toEqual(fc.entropy);
    expect(again.ops.at(-1)).toEqual(head.ops.at(-1));
  });

  it("WASM symbols equal the TypeScript reference on an odd-size frame", () => {
    const w = 61,
      h = 45;
    let s = 12345;
    const frame = Uint8Array.from({ length: w * h * 3 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24) & 255);
    const got = device.run(frame, w, h, "rgb888");
    const want = referenceHead(head, frame, w, h, "rgb888").at(-1)!;
    expect([got.width, got.height, got.channels]).toEqual([want.width, want.height, want.channels]);
    expect(got.width * got.height).toBeGreaterThan(1);
    expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
    for (const v of got.data) expect(v).toBeLessThan(head.compressor!.levels);
  });

  it("packets of a photo's latent round trip to the server's top-5; a subset still classifies", async () => {
    const photo = imagenetSplit("test")[1];
    const view = await classifierView(photo.path);
    const latent = latentFromHeadOutput(device.run(view.data, 224, 224, "rgb888"));
    const decoder = await SplitFeatureDecoder.load(head, readFileSync(DEFAULT_SPLIT_ONNX));
    expect([latent.channels, latent.height, latent.width]).toEqual([decoder.latent.channels, decoder.latent.height, decoder.latent.width]);
    const sent = packetize(latent, decoder.tables, { imageId: 7, packetBytes: 222 });
    expect(sent.complete).toBe(true);
    const all = await decoder.decode(sent.packets);
    expect(all.packets.latent.data).toEqual(latent.data);
    expect(all.top5).toEqual(await decoder.classifyLatent(latent));
    // every other packet lost: the rest still decodes and classifies (missing symbols are zeros)
    const some = await decoder.decode(sent.packets.filter((_, i) => i % 2 === 0));
    expect(some.packets.rejected).toEqual([]);
    expect(new Set(some.top5).size).toBe(5);
    // a budget prefix (the first packet) is a valid delivery too
    const first = await decoder.decode(sent.packets.slice(0, 1));
    expect(first.top5.length).toBe(5);
  });

  it("--split auto's candidate: the shipped block-2 compressed head fits GAP8 at 224x224 (gray8 camera)", () => {
    const board = getBoard("gap8");
    const points = compressedSplitPoints(board, COMPRESSED_FRAME.width, COMPRESSED_FRAME.height, "gray8");
    const b2 = points.find((p) => p.split === 2)!;
    expect(b2.fits).toBe(true);
    expect(b2.arenaBytes).toBeLessThanOrEqual(board.memory.arenaBudgetBytes);
    expect(built.map.arenaBytes).toBeLessThanOrEqual(board.memory.arenaBudgetBytes);
  });
});
