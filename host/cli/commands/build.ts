import { buildEncoder, buildReport, parseKernelMode } from "../../build/build.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { repoPath } from "../../core/paths.ts";
import { parseCommandArgs, parseFlag, parseFrame, UserError, type Command } from "../command.ts";

const usage = "tidepool build --board NAME [--model FILE] [--frame WxH] [--format rgb565|rgb888|gray8] [--kernels specialised|generic] [--out DIR] [--json]";

export const command: Command = {
  name: "build",
  summary: "build the encoder WASM for a board and write it with its memory map and report",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      board: { type: "string" }, model: { type: "string" }, frame: { type: "string" },
      format: { type: "string" }, out: { type: "string" }, json: { type: "boolean" }, kernels: { type: "string" },
    }, usage, false);
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    const frame = values.frame ? parseFrame(values.frame) : undefined;
    const format = values.format ? parsePixelFormat(values.format) : undefined;
    const outDir = values.out ?? repoPath("build", values.board);
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
