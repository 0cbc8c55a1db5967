import { buildEncoder, buildReport, parseKernelMode } from "../../build/build.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { repoPath } from "../../core/paths.ts";
import { parseCommandArgs, parseFlag, parseFrame, UserError, type Command } from "../command.ts";
import { buildSplitHead, isHeadModelPath } from "../../build/split-build.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool build --board NAME [--model FILE|NAME] [--split N|auto [--onnx FILE] [--whole-output]] [--frame WxH] [--format rgb565|rgb888|gray8] [--kernels specialised|generic] [--out DIR] [--json]";

export const command: Command = {
  name: "build",
  summary: "build the encoder WASM for a board and write it with its memory map and report",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        board: { type: "string" },
        model: { type: "string" },
        frame: { type: "string" },
        format: { type: "string" },
        out: { type: "string" },
        json: { type: "boolean" },
        kernels: { type: "string" },
        split: { type: "string" },
        onnx: { type: "string" },
        "whole-output": { type: "boolean" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    const frame = values.frame ? parseFrame(values.frame) : undefined;
    const format = values.format ? parsePixelFormat(values.format) : undefined;
    const outDir = values.out ?? repoPath("build", values.board);
    if (values.split !== undefined || (values.model && isHeadModelPath(values.model))) {
      // A split-computing head (docs/split-computing.md) instead of the picture encoder.
      if (values.split !== undefined && values.split !== "auto" && !/^\d+$/.test(values.split))
        throw new UserError(`--split must be a block number or auto, got "${values.split}"`, 2);
      const report = await buildSplitHead({
        board: values.board,
        split: values.split,
        onnx: values.onnx,
        modelPath: values.model,
        width: frame?.width,
        height: frame?.height,
        format,
        outDir,
        wholeOutput: values["whole-output"],
      });
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(
          `built ${report.wasm} (${report.moduleBytes} bytes) for ${report.board}: split head to block ${report.split} ("${report.splitTensor}"), frame ${report.frame} ${report.format}${report.rule ? ` — ${report.rule}` : ""}`,
        );
        console.log(`arena ${report.arenaBytes} / ${report.arenaBudgetBytes} bytes (${report.headroomBytes} headroom); map: ${report.map}`);
      }
      return 0;
    }
    const kernels = values.kernels === undefined ? undefined : parseFlag("kernels", () => parseKernelMode(values.kernels!));
    const r = await buildEncoder({ board: values.board, modelPath: values.model, width: frame?.width, height: frame?.height, format, outDir, kernels });
    const report = buildReport(r, r.files);
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`built ${report.wasm} (${r.moduleBytes} bytes) for ${r.board.name}, frame ${report.frame} ${report.format}`);
      console.log(`arena ${r.map.arenaBytes} / ${r.map.arenaBudgetBytes} bytes (${r.map.headroomBytes} headroom); map: ${report.map}`);
    }
    return 0;
  },
};
