import { importOnnxHead } from "../../model/import/onnx-import.ts";
import { writeHeadModel } from "../../model/head-format.ts";
import { headMacs, headShapes } from "../../model/head-geometry.ts";
import { readInputFile } from "../../core/input-file.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { intOption, parseCommandArgs, UserError, type Command } from "../command.ts";

const usage = "tidepool import --onnx FILE --split N -o HEAD.tpm [--json]";

export const command: Command = {
  name: "import",
  summary: "import the head of an int8 (QLinear*) ONNX classifier up to a split point into a split-head model file",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      { onnx: { type: "string" }, split: { type: "string" }, out: { type: "string", short: "o" }, json: { type: "boolean" } },
      usage,
      false,
    );
    if (!values.onnx) throw new UserError(`--onnx is required\nusage: ${usage}`, 2);
    if (!values.out) throw new UserError(`-o is required\nusage: ${usage}`, 2);
    const split = intOption("split", values.split, 0);
    if (split === undefined) throw new UserError(`--split is required\nusage: ${usage}`, 2);
    const r = importOnnxHead(readInputFile(values.onnx, "ONNX model"), { split, source: values.onnx });
    const bytes = writeHeadModel(r.head);
    atomicWrite(values.out, bytes);
    const s = headShapes(r.head, 224, 224).at(-1)!;
    const report = {
      out: values.out,
      bytes: bytes.length,
      split,
      splitTensor: r.splitTensor,
      ops: r.head.ops.length,
      tensorAt224: `${s.width}x${s.height}x${s.channels}`,
      macsAt224: headMacs(r.head, 224, 224),
    };
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else
      console.log(
        `wrote ${values.out} (${bytes.length} bytes): ${report.ops} ops up to "${r.splitTensor}" (block ${split}); at 224x224 the split tensor is ${report.tensorAt224}, ${(report.macsAt224 / 1e6).toFixed(1)} M MAC`,
      );
    return 0;
  },
};
