import { readFileSync } from "node:fs";
import { getBoard } from "../../boards/boards.ts";
import { buildEncoder, parseKernelMode } from "../../build/build.ts";
import { loadRgb, toFrame } from "../../image/load.ts";
import { parsePixelFormat } from "../../image/pixel-format.ts";
import { buildDeviceJpeg } from "../../jpeg/device-jpeg.ts";
import { profileWorkload, type ProfileResult, type Workload } from "../../profile/profile.ts";
import { encoderWorkload } from "../../profile/encoder-workload.ts";
import { jpegWorkload } from "../../profile/jpeg-workload.ts";
import { calibrate, parseMeasuredTimes, TimesFileError } from "../../profile/calibrate.ts";
import { costTable, type RuntimeMode } from "../../profile/cost-models.ts";
import { parseCommandArgs, parseFlag, parseFrame, UserError, type Command } from "../command.ts";

const usage = "tidepool profile --board NAME [--runtime interp|aot] [--codec tidepool|jpeg] [--quality Q] [--frame WxH] [--format F] [--model FILE] [--kernels specialised|generic] [--calibrate TIMES.json] IMAGE... [--json]";

export const command: Command = {
  name: "profile",
  summary: "cycle-counted run of the encoder (or the on-device JPEG) with the board's cost model",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      board: { type: "string" }, runtime: { type: "string" }, codec: { type: "string" }, quality: { type: "string" },
      frame: { type: "string" }, format: { type: "string" }, model: { type: "string" }, calibrate: { type: "string" }, json: { type: "boolean" }, kernels: { type: "string" },
    }, usage);
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    if (positionals.length === 0) throw new UserError(`no images given\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const runtime = (values.runtime ?? board.runtime.default) as RuntimeMode;
    if (runtime !== "interp" && runtime !== "aot") throw new UserError(`--runtime must be interp or aot, got "${values.runtime}"`, 2);
    const codec = values.codec ?? "tidepool";
    if (codec !== "tidepool" && codec !== "jpeg") throw new UserError(`--codec must be tidepool or jpeg, got "${codec}"`, 2);
    const quality = values.quality ? Number(values.quality) : 20;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new UserError(`--quality must be 1..100, got "${values.quality}"`, 2);
    const size = values.frame ? parseFrame(values.frame) : { width: board.camera.width, height: board.camera.height };
    const format = values.format ? parsePixelFormat(values.format) : board.camera.format;

    const frames = await Promise.all(positionals.map(async (p) => toFrame(await loadRgb(p, size), format)));
    let workload: Workload;
    if (codec === "tidepool") {
      // The specialised kernels are tuned for the runtime being profiled (docs/kernels.md).
      const kernels = values.kernels === undefined ? undefined : parseFlag("kernels", () => parseKernelMode(values.kernels!));
      const built = await buildEncoder({ board, modelPath: values.model, ...size, format, withNames: true, kernels, runtime });
      workload = encoderWorkload(built, frames);
    } else {
      workload = jpegWorkload(await buildDeviceJpeg(size.width, 64 * 1024, true), frames, size.width, size.height, format, quality);
    }
    const r = await profileWorkload(workload, board, runtime);
    let calibration;
    if (values.calibrate) {
      if (frames.length < 2) throw new UserError("--calibrate needs at least two images (one measured time each)", 2);
      // [{ "ms": … } | { "encodeUs": … }] measured on the board for the images given, in order.
      let text: string;
      try { text = readFileSync(values.calibrate, "utf8"); } catch (e) { throw new UserError(`cannot read --calibrate file ${values.calibrate}: ${(e as Error).message}`); }
      let measuredMs: number[];
      try { measuredMs = parseMeasuredTimes(text, values.calibrate, frames.length); } catch (e) { if (e instanceof TimesFileError) throw new UserError(e.message); throw e; }
      const per = await Promise.all(frames.map((_, k) => profileWorkload({ ...workload, frames: 1, run: (ex) => workload.run(ex, k) }, board, runtime)));
      calibration = calibrate(per.map((p, i) => ({ counts: p.instructionsByCategory, measuredCycles: (measuredMs[i] / 1000) * board.cpu.clockHz })), costTable(board.costModel, runtime));
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
  if (r.layers?.length) {
    console.log("  conv layers (WebAssembly instructions and modelled cycles per multiply-accumulate):");
    console.log("    layer                          MAC/frame   instr/frame  instr/MAC  cycles/MAC");
    for (const l of r.layers)
      console.log(`    ${l.name.padEnd(30)} ${Math.round(l.macsPerFrame).toLocaleString("en").padStart(11)} ${Math.round(l.instructionsPerFrame).toLocaleString("en").padStart(13)} ${l.instructionsPerMac.toFixed(2).padStart(10)} ${l.cyclesPerMac.toFixed(2).padStart(11)}`);
  }
  console.log("  top functions:");
  for (const f of r.functions.slice(0, 8)) console.log(`    ${(100 * f.share).toFixed(1).padStart(5)}%  ${f.name}`);
}
