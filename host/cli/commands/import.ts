import { importOnnxHead } from "../../model/import/onnx-import.ts";
import { writeHeadModel } from "../../model/head-format.ts";
import { headMacs, headShapes } from "../../model/head-geometry.ts";
import { readInputFile } from "../../core/input-file.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { intOption, parseCommandArgs, UserError, type Command } from "../command.ts";
import { attachCompressor, parseCompressorJson } from "../../model/import/feature-compressor.ts";
import { fitCompressorTables, withCompressorTables } from "../../build/feature-latent.ts";
import { imagenetSplit } from "../../core/dataset-split.ts";
import { classifierView } from "../../receiver/classifier.ts";
import type { HeadModel } from "../../core/head-types.ts";
import type { RgbImage } from "../../core/types.ts";

const usage = "tidepool import --onnx FILE --split N [--compressor FC.json [--table-images N]] -o HEAD.tpm [--json]";

/** Classifier views of the first `n` imagenet-sample training-split photos (never a test image). */
async function trainingViews(n: number): Promise<RgbImage[]> {
  const items = imagenetSplit("train").slice(0, n);
  const out: RgbImage[] = [];
  for (const it of items) out.push(await classifierView(it.path));
  return out;
}

export const command: Command = {
  name: "import",
  summary: "import the head of an int8 (QLinear*) ONNX classifier up to a split point into a split-head model file",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        onnx: { type: "string" },
        split: { type: "string" },
        compressor: { type: "string" },
        "table-images": { type: "string" },
        out: { type: "string", short: "o" },
        json: { type: "boolean" },
      },
      usage,
      false,
    );
    if (!values.onnx) throw new UserError(`--onnx is required\nusage: ${usage}`, 2);
    if (!values.out) throw new UserError(`-o is required\nusage: ${usage}`, 2);
    const split = intOption("split", values.split, 0);
    if (split === undefined) throw new UserError(`--split is required\nusage: ${usage}`, 2);
    const r = importOnnxHead(readInputFile(values.onnx, "ONNX model"), { split, source: values.onnx });
    let head: HeadModel = r.head;
    if (values.compressor) {
      // The learned feature compressor (training/export_feature_compressor.py) and its entropy tables,
      // fitted on the reference latents of training-split views (docs/split-computing.md).
      const text = new TextDecoder().decode(readInputFile(values.compressor, "feature compressor"));
      head = attachCompressor(head, parseCompressorJson(text, values.compressor), values.compressor);
      const n = intOption("table-images", values["table-images"], 1) ?? 200;
      head = withCompressorTables(head, await fitCompressorTables(head, await trainingViews(n)));
    }
    const bytes = writeHeadModel(head);
    atomicWrite(values.out, bytes);
    const s = headShapes(head, 224, 224).at(-1)!;
    const report = {
      out: values.out,
      bytes: bytes.length,
      split,
      splitTensor: r.splitTensor,
      ops: head.ops.length,
      compressor: head.compressor ? `${head.compressor.levels} levels, ratio ${head.compressor.ratio}, expander width ${head.compressor.expander.width}` : null,
      tensorAt224: `${s.width}x${s.height}x${s.channels}`,
      macsAt224: headMacs(head, 224, 224),
    };
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else
      console.log(
        `wrote ${values.out} (${bytes.length} bytes): ${report.ops} ops up to "${r.splitTensor}" (block ${split})${head.compressor ? " + feature compressor" : ""}; at 224x224 the ${head.compressor ? "latent" : "split tensor"} is ${report.tensorAt224}, ${(report.macsAt224 / 1e6).toFixed(1)} M MAC`,
      );
    return 0;
  },
};
