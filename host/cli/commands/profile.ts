import { getBoard } from "../../core/boards.ts";
import { buildEncoder, parseKernelMode } from "../../build/build.ts";
import { loadRgb, toFrame } from "../../image/load.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { buildDeviceJpeg } from "../../build/jpeg/device-jpeg.ts";
import { profileWorkload, type ProfileResult, type Workload } from "../../build/profile/profile.ts";
import { encoderWorkload } from "../../build/profile/encoder-workload.ts";
import { jpegWorkload } from "../../build/profile/jpeg-workload.ts";
import { calibrate, parseMeasuredTimes } from "../../build/profile/calibrate.ts";
import { costTable, type RuntimeMode } from "../../build/profile/cost-models.ts";
import { intOption, parseCommandArgs, parseFlag, parseFrame, UserError, type Command } from "../command.ts";
import { buildHead } from "../../build/head-build.ts";
import { headWorkload } from "../../build/profile/head-workload.ts";
import { importAllSplits, DEFAULT_SPLIT_ONNX, COMPRESSED_FRAME } from "../../build/split-choice.ts";
import { headAtSplit } from "../../model/import/onnx-import.ts";
import { isHeadModelFile, readHeadModel } from "../../model/head-format.ts";
import { readInputFile } from "../../core/input-file.ts";
import { nativeProfile, type NativeProfile } from "../../build/profile/native-profile.ts";
import { nativeTargetForRuntime } from "../../build/native/targets.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool profile --board NAME [--runtime interp|aot|qemu-m7|qemu-rv32|qemu-rv64] [--bounds-checks on|off] [--codec tidepool|jpeg|split] [--split N] [--onnx FILE] [--quality Q] [--frame WxH] [--format F] [--model FILE|NAME] [--kernels specialised|generic] [--calibrate TIMES.json] IMAGE... [--json]";

export const command: Command = {
  name: "profile",
  summary: "cycle-counted run of the encoder (or the on-device JPEG) with the board's cost model",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        board: { type: "string" },
        runtime: { type: "string" },
        codec: { type: "string" },
        quality: { type: "string" },
        frame: { type: "string" },
        format: { type: "string" },
        model: { type: "string" },
        calibrate: { type: "string" },
        json: { type: "boolean" },
        "bounds-checks": { type: "string" },
        kernels: { type: "string" },
        split: { type: "string" },
        onnx: { type: "string" },
      },
      usage,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    if (positionals.length === 0) throw new UserError(`no images given\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    // qemu-*: the native build under QEMU (counted), beside the AOT cost model (modelled).
    const native = values.runtime ? nativeTargetForRuntime(values.runtime) : undefined;
    const runtime = (native ? "aot" : (values.runtime ?? board.runtime.default)) as RuntimeMode;
    if (runtime !== "interp" && runtime !== "aot")
      throw new UserError(`--runtime must be interp or aot (modelled), or qemu-m7, qemu-rv32, qemu-rv64 (native, counted), got "${values.runtime}"`, 2);
    const boundsChecks = values["bounds-checks"] ?? "off";
    if (boundsChecks !== "on" && boundsChecks !== "off") throw new UserError(`--bounds-checks must be on or off, got "${values["bounds-checks"]}"`, 2);
    if (values["bounds-checks"] && !native) throw new UserError("--bounds-checks applies to a qemu-* runtime only", 2);
    const codec = values.codec ?? "tidepool";
    if (codec !== "tidepool" && codec !== "jpeg" && codec !== "split") throw new UserError(`--codec must be tidepool, jpeg or split, got "${codec}"`, 2);
    const split = intOption("split", values.split, 0);
    if (codec === "split" && split === undefined && !values.model)
      throw new UserError(`--codec split needs --split N (with --onnx, default the int8 MobileNetV2) or --model HEAD.tpm\nusage: ${usage}`, 2);
    const quality = values.quality ? Number(values.quality) : 20;
    if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new UserError(`--quality must be 1..100, got "${values.quality}"`, 2);
    // A compressed split head (docs/split-computing.md §Feature compression) runs on the classifier's
    // 224² view it was trained on, unless a frame is given.
    const compressedHead =
      codec === "split" && values.model && isHeadModelFile(readInputFile(values.model, "model file"))
        ? readHeadModel(readInputFile(values.model, "model file"), values.model)
        : null;
    const size = values.frame
      ? parseFrame(values.frame)
      : compressedHead?.compressor
        ? { ...COMPRESSED_FRAME }
        : { width: board.camera.width, height: board.camera.height };
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
    let built: Awaited<ReturnType<typeof buildEncoder>> | undefined, jpegBuild: Awaited<ReturnType<typeof buildDeviceJpeg>> | undefined;
    if (codec === "split") {
      if (native) throw new UserError("--codec split runs modelled only (interp or aot), not on a qemu-* runtime", 2);
      // The split head is profiled at the board's frame with its split tensor streamed out (as built).
      const head =
        compressedHead ??
        (values.model
          ? readHeadModel(readInputFile(values.model, "model file"), values.model)
          : headAtSplit(importAllSplits(values.onnx ?? DEFAULT_SPLIT_ONNX), split!));
      // a compressor's latent is kept whole (the packetizer reads it after the last row)
      workload = headWorkload(await buildHead({ board, head, ...size, format, withNames: true, streamOutput: !head.compressor }), frames);
    } else if (codec === "tidepool") {
      // The specialised kernels are tuned for the runtime being profiled (docs/kernels.md).
      const kernels = values.kernels === undefined ? undefined : parseFlag("kernels", () => parseKernelMode(values.kernels!));
      built = await buildEncoder({ board, modelPath: values.model, ...size, format, withNames: true, kernels, runtime });
      workload = encoderWorkload(built, frames);
    } else {
      jpegBuild = await buildDeviceJpeg(size.width, 64 * 1024, true);
      workload = jpegWorkload(jpegBuild, frames, size.width, size.height, format, quality);
    }
    const modelled = await profileWorkload(workload, board, runtime);
    let r: ProfileResult & { native?: NativeProfile; modelledRuntime?: string } = modelled;
    if (native) {
      const np = await nativeProfile({
        target: native.name,
        boundsChecks,
        frames,
        spec: { ...size, format },
        modelled,
        encoder: built,
        jpeg: jpegBuild ? { build: jpegBuild, quality } : undefined,
        packets: built ? { packetBytes: 222 } : undefined,
      });
      r = { ...modelled, runtime: native.runtime as never, modelledRuntime: "aot", native: np };
      if (!np.bitExact) {
        if (values.json) console.log(JSON.stringify(r, null, 2));
        else print(r);
        throw new UserError(`native ${native.name} output differs from the host WASM: ${np.mismatches.join("; ")}`, 1);
      }
    }
    let calibration: ReturnType<typeof calibrate> | undefined;
    if (measuredMs) {
      const measured = measuredMs;
      const per = await Promise.all(frames.map((_, k) => profileWorkload({ ...workload, frames: 1, run: (ex) => workload.run(ex, k) }, board, runtime)));
      calibration = calibrate(
        per.map((p, i) => ({ counts: p.instructionsByCategory, measuredCycles: (measured[i] / 1000) * board.cpu.clockHz })),
        costTable(board.costModel, runtime),
      );
    }
    if (values.json) {
      console.log(JSON.stringify({ ...r, calibration }, null, 2));
      return 0;
    }
    print(r);
    if (calibration)
      console.log(
        `\ncalibration: scales ${JSON.stringify(calibration.scales)}; error ${(100 * calibration.before.rmsRelativeError).toFixed(1)}% -> ${(100 * calibration.rmsRelativeError).toFixed(1)}% rms (max ${(100 * calibration.maxRelativeError).toFixed(1)}%)`,
      );
    return 0;
  },
};

function print(r: ProfileResult & { native?: NativeProfile }) {
  console.log(`${r.workload} on ${r.board} (${r.native ? "modelled: aot cost model" : r.runtime}, ${r.clockHz / 1e6} MHz), ${r.frames} frame(s)`);
  console.log(`  cycles per frame   ${Math.round(r.cyclesPerFrame).toLocaleString("en")}  (${r.msPerFrame.toFixed(2)} ms)`);
  console.log(
    `  instructions       ${r.instructions.toLocaleString("en")} total, ${r.instructionsPerPixel.toFixed(1)} per pixel; ${r.cyclesPerPixel.toFixed(1)} cycles per pixel`,
  );
  console.log(`  arena high-water   ${r.arenaHighWaterBytes} B (bytes touched ${r.arenaTouchedBytes}); max call depth ${r.maxCallDepth}`);
  console.log(`  output bytes       ${r.outputBytes.join(", ")}`);
  if (r.layers?.length) {
    console.log("  conv layers (WebAssembly instructions and modelled cycles per multiply-accumulate):");
    console.log("    layer                          MAC/frame   instr/frame  instr/MAC  cycles/MAC");
    for (const l of r.layers)
      console.log(
        `    ${l.name.padEnd(30)} ${Math.round(l.macsPerFrame).toLocaleString("en").padStart(11)} ${Math.round(l.instructionsPerFrame).toLocaleString("en").padStart(13)} ${l.instructionsPerMac.toFixed(2).padStart(10)} ${l.cyclesPerMac.toFixed(2).padStart(11)}`,
      );
  }
  console.log("  top functions:");
  for (const f of r.functions.slice(0, 8)) console.log(`    ${(100 * f.share).toFixed(1).padStart(5)}%  ${f.name}`);
  const n = r.native;
  if (!n) return;
  console.log(`native ${n.target} (${n.isa}), bounds checks ${n.boundsChecks}: ${n.bitExact ? "bit-exact with the host WASM" : "DIFFERS from the host WASM"}`);
  console.log(
    `  counted instructions per frame  ${Math.round(n.instructionsPerFrame).toLocaleString("en")}  (${n.instructionsPerPixel.toFixed(1)} per pixel${n.instructionsPerMac ? `, ${n.instructionsPerMac.toFixed(2)} per MAC` : ""})`,
  );
  if (n.layers?.length) {
    console.log("  conv layers (instructions per multiply-accumulate: WebAssembly executed, native counted):");
    console.log("    layer                          kernel       MAC/frame  native/frame  WASM/MAC  native/MAC");
    for (const l of n.layers)
      console.log(
        `    ${l.name.padEnd(30)} ${(l.variant ?? "").padEnd(10)} ${Math.round(l.macsPerFrame).toLocaleString("en").padStart(11)} ${Math.round(l.nativePerFrame).toLocaleString("en").padStart(13)} ${l.wasmPerMac.toFixed(2).padStart(9)} ${l.nativePerMac.toFixed(2).padStart(11)}`,
      );
  }
  if (n.packetInstructionsPerFrame) console.log(`  packetizer                      ${Math.round(n.packetInstructionsPerFrame).toLocaleString("en")} per frame`);
  console.log(
    `  WASM instructions per native    ${n.wasmPerNativeInstruction.toFixed(2)}; the AOT model implies ${n.modelCyclesPerInstruction.toFixed(2)} cycles per counted instruction`,
  );
  console.log(
    `  module ${n.sizes.moduleCode} B code + ${n.sizes.moduleConstants} B constants${n.sizes.simdCode ? `, DSP kernels ${n.sizes.simdCode} B code + ${n.sizes.simdConstants} B weights` : ""}, runtime ${n.sizes.runtimeText} B; linear memory ${n.sizes.linearMemoryBytes} B (static)`,
  );
  console.log(`  (${n.note}; ${n.qemu})`);
}
