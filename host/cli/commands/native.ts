import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildEncoder } from "../../build/build.ts";
import { getBoard } from "../../core/boards.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { repoPath } from "../../core/paths.ts";
import { buildNative, NATIVE_DIR } from "../../build/native/compile.ts";
import { NATIVE_TARGETS, nativeTargetForBoard, type NativeTargetName } from "../../build/native/targets.ts";
import { parseCommandArgs, parseFrame, UserError, type Command } from "../command.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { buildNativeMpy, mpyModuleName } from "../../build/native/mpy.ts";
import type { BuildResult } from "../../build/build.ts";
import type { NativeTarget } from "../../build/native/targets.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool native --board NAME [--isa m7|rv32|rv64] [--bounds-checks on|off] [--model FILE|NAME] [--frame WxH] [--format F] [--mpy] [--out DIR] [--json]";

export const command: Command = {
  name: "native",
  summary:
    "build the encoder as a C library for a board runtime (wasm2c + GCC; Cortex-M7: DSP kernels with SMLAD for the conv layers), or with --mpy as a MicroPython native module: code size and RAM",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        board: { type: "string" },
        isa: { type: "string" },
        "bounds-checks": { type: "string" },
        model: { type: "string" },
        frame: { type: "string" },
        format: { type: "string" },
        out: { type: "string" },
        mpy: { type: "boolean" },
        json: { type: "boolean" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const isa = values.isa as NativeTargetName | undefined;
    if (isa && !(isa in NATIVE_TARGETS)) throw new UserError(`--isa must be one of ${Object.keys(NATIVE_TARGETS).join(", ")}, got "${isa}"`, 2);
    const target = isa ? NATIVE_TARGETS[isa] : nativeTargetForBoard(board.name);
    if (!target)
      throw new UserError(`board ${board.name} (${board.cpu.isa}) has no native target: Debian ships no compiler for its core; give one with --isa`, 2);
    const boundsChecks = values["bounds-checks"] ?? "off";
    if (boundsChecks !== "on" && boundsChecks !== "off") throw new UserError(`--bounds-checks must be on or off, got "${boundsChecks}"`, 2);
    const frame = values.frame ? parseFrame(values.frame) : undefined;
    const format = values.format ? parsePixelFormat(values.format) : undefined;
    // The C library is ahead-of-time code: kernels chosen for it (counted native instructions where a QEMU target exists).
    const built = await buildEncoder({ board, modelPath: values.model, width: frame?.width, height: frame?.height, format, runtime: "aot" });
    const dir = resolve(values.out ?? repoPath("build", board.name, "native"));
    mkdirSync(dir, { recursive: true });
    if (values.mpy) return writeMpy(built, board.name, target, boundsChecks, dir, !!values.json);
    const nb = buildNative({ wasm: built.wasm, target, boundsChecks, workload: "encoder", simd: built.simd });

    const lib = join(dir, `libtidepool-${board.name}.a`),
      header = join(dir, "tidepool_native.h"),
      reportPath = join(dir, `tidepool-${board.name}.native.json`);
    atomicWrite(lib, readFileSync(nb.library));
    atomicWrite(header, readFileSync(join(NATIVE_DIR, "lib", "tidepool_native.h")));
    const report = {
      board: board.name,
      isa: target.isa,
      target: target.name,
      boundsChecks,
      compiler: nb.cc,
      wasm2c: nb.wasm2c,
      frame: `${built.map.width}x${built.map.height}`,
      format: built.map.format,
      packetizer: nb.hasPacketizer,
      // Layers whose kernel is the generated Cortex-M7 DSP code (SMLAD) instead of the wasm2c translation.
      simdLayers: nb.simdLayers,
      library: lib,
      header,
      flashBytes: {
        moduleCode: nb.moduleSplit.code,
        moduleConstants: nb.moduleSplit.constants,
        simdKernelCode: nb.simdSplit.code,
        simdKernelWeights: nb.simdSplit.constants,
        api: nb.apiSizes.text,
        runtime: nb.runtimeSizes.text,
        total: nb.moduleSizes.text + nb.simdSizes.text + nb.apiSizes.text + nb.runtimeSizes.text,
      },
      ramBytes: {
        linearMemory: nb.linearMemoryBytes,
        arenaInUse: built.map.arenaBytes,
        runtimeState:
          nb.runtimeSizes.bss + nb.runtimeSizes.data - nb.linearMemoryBytes + nb.apiSizes.bss + nb.apiSizes.data + nb.moduleSizes.bss + nb.moduleSizes.data,
        total: nb.runtimeSizes.bss + nb.runtimeSizes.data + nb.apiSizes.bss + nb.apiSizes.data + nb.moduleSizes.bss + nb.moduleSizes.data,
      },
      cflags: target.cflags,
    };
    atomicWrite(reportPath, JSON.stringify(report, null, 2) + "\n");
    if (values.json) console.log(JSON.stringify({ ...report, report: reportPath }, null, 2));
    else {
      console.log(`built ${lib} for ${board.name} (${target.isa}, bounds checks ${boundsChecks}) with ${header}`);
      console.log(
        `flash ${report.flashBytes.total} B (module code ${report.flashBytes.moduleCode} + constants ${report.flashBytes.moduleConstants}${nb.simdLayers.length ? `, DSP kernels of layers ${nb.simdLayers.join(", ")}: code ${nb.simdSplit.code} + weights ${nb.simdSplit.constants}` : ""}, API ${report.flashBytes.api}, runtime ${report.flashBytes.runtime}); RAM ${report.ramBytes.total} B static (linear memory ${report.ramBytes.linearMemory}, arena in use ${report.ramBytes.arenaInUse})`,
      );
    }
    return 0;
  },
};

/** The .mpy native module and its report: what the board's heap holds once it is imported and opened. */
function writeMpy(built: BuildResult, board: string, target: NativeTarget, boundsChecks: "on" | "off", dir: string, json: boolean): number {
  const name = mpyModuleName(board);
  const mb = buildNativeMpy({ wasm: built.wasm, target, boundsChecks, name, simd: built.simd });
  const mpy = join(dir, `${name}.mpy`),
    reportPath = join(dir, `${name}.mpy.json`);
  atomicWrite(mpy, readFileSync(mb.mpy));
  const report = {
    board,
    isa: target.isa,
    target: target.name,
    arch: mb.arch,
    boundsChecks,
    compiler: mb.cc,
    linker: mb.mpyLd,
    frame: `${built.map.width}x${built.map.height}`,
    format: built.map.format,
    mpy,
    import: name,
    exports: mb.exports,
    // Layers whose kernel is the generated Cortex-M7 DSP code (SMLAD) instead of the wasm2c translation.
    simdLayers: mb.native.simdLayers,
    mpyFileBytes: mb.mpyBytes,
    ramBytes: {
      // MicroPython copies a native module's text into RAM at import (code and constants).
      text: mb.textBytes,
      code: mb.code,
      constants: mb.constants,
      bss: mb.bssBytes,
      linearMemory: mb.linearMemoryBytes,
      arenaInUse: built.map.arenaBytes,
      total: mb.textBytes + mb.bssBytes + mb.linearMemoryBytes,
    },
  };
  atomicWrite(reportPath, JSON.stringify(report, null, 2) + "\n");
  if (json) console.log(JSON.stringify({ ...report, report: reportPath }, null, 2));
  else {
    console.log(`built ${mpy} (MicroPython native module, arch ${mb.arch}, bounds checks ${boundsChecks}): import ${name}; ${name}.Module()`);
    console.log(
      `.mpy ${mb.mpyBytes} B; RAM once imported and opened ${report.ramBytes.total} B (text ${mb.textBytes}: code ${mb.code} + constants ${mb.constants}; bss ${mb.bssBytes}; linear memory ${mb.linearMemoryBytes}, arena in use ${built.map.arenaBytes})`,
    );
  }
  return 0;
}
