
import { getBoard } from "../../core/boards.ts";
import { buildEncoder } from "../../build/build.ts";
import { loadRgb, toFrame } from "../../image/load.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { buildDeviceJpeg } from "../../build/jpeg/device-jpeg.ts";
import { profileWorkload, type ProfileResult, type Workload } from "../../build/profile/profile.ts";
import { encoderWorkload } from "../../build/profile/encoder-workload.ts";
import { jpegWorkload } from "../../build/profile/jpeg-workload.ts";
import { calibrate, parseMeasuredTimes } from "../../build/profile/calibrate.ts";
import { costTable, type RuntimeMode } from "../../build/profile/cost-models.ts";
import { intOption, parseCommandArgs, parseFrame, UserError, type Command } from "../command.ts";
import { buildHead } from "../../build/head-build.ts";
import { headWorkload } from "../../build/profile/head-workload.ts";
import { importAllSplits, DEFAULT_SPLIT_ONNX } from "../../build/split-choice.ts";
import { headAtSplit } from "../../model/import/onnx-import.ts";
import { readHeadModel } from "../../model/head-format.ts";
import { readInputFile } from "../../core/input-file.ts";

const usage = "tidepool profile --board NAME [--runtime interp|aot] [--codec tidepool|jpeg|split] [--split N] [--onnx FILE] [--quality Q] [--frame WxH] [--format F] [--model FILE] [--calibrate TIMES.json] IMAGE... [--json]";

export const command: Command = {
  name: "profile",
  summary: "cycle-counted run of the encoder (or the on-device JPEG) with the board's cost model",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      board: { type: "string" }, runtime: { type: "string" }, codec: { type: "string" }, quality: { type: "string" },
      frame: { type: "string" }, format: { type: "string" }, model: { type: "string" }, calibrate: { type: "string" }, json: { type: "boolean" },
      split: { type: "string" }, onnx: { type: "string" },
    }, usage);
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    if (positionals.length === 0) throw new UserError(`no images given\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const runtime = (values.runtime ?? board.runtime.default) as RuntimeMode;
    if (runtime !== "interp" && runtime !== "aot") throw new UserError(`--runtime must be interp or aot, got "${values.runtime}"`, 2);
    const codec = values.codec ?? "tidepool";
    if (codec !== "tidepool" && codec !== "jpeg" && codec !== "split") throw new UserError(`--codec must be tidepool, jpeg or split, got "${codec}"`, 2);
    const split = intOption("split", values.split, 0);
    if (codec === "split" && split === undefined && !values.model) throw new UserError(`--codec split needs --split N (with --onnx, default the int8 MobileNetV2) or --model HEAD.tpm\nusage: ${usage}`, 2);
    const quality = values.quality ? Number(values.quality) : 20;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new UserError(`--quality must be 1..100, got "${values.quality}"`, 2);
    const size = values.frame ? parseFrame(values.frame) : { width: board.camera.width, height: board.camera.height };
    const format = values.format ? parsePixelFormat(values.format) : board.camera.format;

    const frames = await Promise.all(positionals.map(async (p) => toFrame(await loadRgb(p, size), format)));
    // Measured times are read before any work, so a bad file fails at once:
    // [{ "ms": … } | { "encodeUs": … }] measured on the board for the images given, in order.
    let measuredMs: number[] | undefined;
    if (values.calibrate) {
      if (frames.length < 2) throw new UserError("--calibrate needs at least two images (one measured time each)", 2);
      const text = new TextDecoder().decode(readInputFile(values.calibrate, "calibration times file"));
      measuredMs = parseMeasuredTimes(text, values.calibrate, frames.length);
    }
    let workload: Workload;
    if (codec === "split") {
      // The split head is profiled at the board's frame with its split tensor streamed out (as built).
      const head = values.model ? readHeadModel(readInputFile(values.model, "model file"), values.model) : headAtSplit(importAllSplits(values.onnx ?? DEFAULT_SPLIT_ONNX), split!);
      workload = headWorkload(await buildHead({ board, head, ...size, format, withNames: true, streamOutput: true }), frames);
    } else if (codec === "tidepool") {
      const built = await buildEncoder({ board, modelPath: values.model, ...size, format, withNames: true });
      workload = encoderWorkload(built, frames);
    } else {
      workload = jpegWorkload(await buildDeviceJpeg(size.width, 64 * 1024, true), frames, size.width, size.height, format, quality);
    }
    const r = await profileWorkload(workload, board, runtime);
    let calibration: ReturnType<typeof calibrate> | undefined;
    if (measuredMs) {
      const measured = measuredMs;
      const per = await Promise.all(frames.map((_, k) => profileWorkload({ ...workload, frames: 1, run: (ex) => workload.run(ex, k) }, board, runtime)));
      calibration = calibrate(per.map((p, i) => ({ counts: p.instructionsByCategory, measuredCycles: (measured[i] / 1000) * board.cpu.clockHz })), costTable(board.costModel, runtime));
    }
    if (values.json) { console.log(JSON.stringify({ ...r, calibration }, null, 2)); return 0; }
    print(r);
    if (calibration) console.log(`\ncalibration: scales ${JSON.stringify(calibration.scales)}; error ${(100 * calibration.before.rmsRelativeError).toFixed(1)}% -> ${(100 * calibration.rmsRelativeError).toFixed(1)}% rms (max ${(100 * calibration.maxRelativeError).toFixed(1)}%)`);
    return 0;
  },
};

function print(r: ProfileResult) {
  console.log(`${r.workload} on ${r.board} (${r.runtime}, ${r.clockHz / 1e6} MHz), ${r.frames} frame(s)`);
  console.log(`  cycles per frame   ${Math.round(r.cyclesPerFrame).toLocaleString("en")}  (${r.msPerFrame.toFixed(2)} ms)`);
  console.log(`  instructions       ${r.instructions.toLocaleString("en")} total, ${r.instructionsPerPixel.toFixed(1)} per pixel; ${r.cyclesPerPixel.toFixed(1)} cycles per pixel`);
  console.log(`  arena high-water   ${r.arenaHighWaterBytes} B (bytes touched ${r.arenaTouchedBytes}); max call depth ${r.maxCallDepth}`);
  console.log(`  output bytes       ${r.outputBytes.join(", ")}`);
  console.log("  top functions:");
  for (const f of r.functions.slice(0, 8)) console.log(`    ${(100 * f.share).toFixed(1).padStart(5)}%  ${f.name}`);
}
