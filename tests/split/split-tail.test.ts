// The server's half: the int8 MobileNetV2 from the split tensor on (onnxruntime), fed the device
// head's split tensor, classifies a test-split photo as the whole classifier does.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_SPLIT_ONNX } from "../../host/build/split-choice.ts";
import { importOnnxHead } from "../../host/model/import/onnx-import.ts";
import { SplitTail, tailOnnx, top5 } from "../../host/receiver/split-tail.ts";
import { buildHead } from "../../host/build/head-build.ts";
import { HeadInstance } from "../../host/build/runtime/head-instance.ts";
import { Classifier, classifierView } from "../../host/receiver/classifier.ts";
import { imagenetSplit } from "../../host/core/dataset-split.ts";

const onnx = new Uint8Array(readFileSync(DEFAULT_SPLIT_ONNX));

describe("split computing end to end", () => {
  it("device head (WASM, block 3) + server tail gives the whole classifier's top-5", async () => {
    const r = importOnnxHead(onnx, { split: 3 });
    const built = await buildHead({ board: "k210", head: r.head, width: 224, height: 224, format: "rgb888", streamOutput: true });
    const device = await HeadInstance.load(built.wasm, built.board);
    const photo = imagenetSplit("test")[1];
    const im = await classifierView(photo.path);
    const t = device.run(im.data, 224, 224, "rgb888");
    const tail = await SplitTail.load(onnx, r.splitTensor, t);
    const got = top5(await tail.logits(t));
    const want = (await (await Classifier.load()).top5([im]))[0];
    expect(got).toEqual(want);
    expect(got[0]).toBe(photo.label);
  });

  it("refuses a tensor that does not cut the graph (a residual branch still needs an earlier tensor)", () => {
    // 498_quantized is block 3's projection; its QLinearAdd still reads the block input 489_quantized.
    expect(() => tailOnnx(onnx, "498_quantized", { channels: 24, height: 56, width: 56 })).toThrow(
      /node "Add_15_quant" after the split reads "489_quantized", computed before it/,
    );
  });
});
