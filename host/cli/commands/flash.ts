import { getBoard } from "../../core/boards.ts";
import { buildEncoder } from "../../build/build.ts";
import { SerialLink } from "../../../flash-tools/serial-link.ts";
import { RawRepl } from "../../../flash-tools/raw-repl.ts";
import { installTidepool } from "../../../flash-tools/install.ts";
import { parseCommandArgs, UserError, type Command } from "../command.ts";
import { bridgeSource } from "../../../flash-tools/install.ts";
import { readFileSync } from "node:fs";
import { buildNativeMpy, mpyModuleName } from "../../build/native/mpy.ts";
import { nativeTargetForBoard } from "../../build/native/targets.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage = "tidepool flash --board NAME --port PATH [--baud N] [--model FILE|NAME] [--mpy] [--json]";

export const command: Command = {
  name: "flash",
  summary:
    "build the encoder for a board and install it with the MicroPython bridge over serial (verified, atomic); --mpy: as a native module instead of a .wasm for wasm3",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        board: { type: "string" },
        port: { type: "string" },
        baud: { type: "string" },
        model: { type: "string" },
        mpy: { type: "boolean" },
        json: { type: "boolean" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (!values.board || !values.port) throw new UserError(`--board and --port are required\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const target = values.mpy ? nativeTargetForBoard(board.name) : undefined;
    if (values.mpy && !target)
      throw new UserError(`board ${board.name} (${board.cpu.isa}) has no native module target: Debian ships no compiler for its core`, 2);
    // A native module is ahead-of-time code: kernels chosen for it, as `tidepool native --mpy` builds them
    // (on Cortex-M7 the DSP kernels replace them natively; one 64 KiB page instead of the interpreter's i64 layout).
    const built = await buildEncoder({ board, modelPath: values.model, ...(target ? { runtime: "aot" as const } : {}) });
    // The encoder as the board runs it: a .wasm for wasm3, or the same C compiled as a native module.
    const module = target
      ? {
          name: `${mpyModuleName(board.name)}.mpy`,
          bytes: readFileSync(buildNativeMpy({ wasm: built.wasm, target, boundsChecks: "off", name: mpyModuleName(board.name), simd: built.simd }).mpy),
        }
      : { name: "encoder.wasm", bytes: built.wasm };
    const link = await SerialLink.open(values.port, values.baud ? Number(values.baud) : board.serial.baud);
    try {
      const repl = new RawRepl(link);
      await repl.enter(true);
      const { result, bridge } = await installTidepool(repl, board.name, bridgeSource(), module.bytes, module.name);
      await bridge.exit(repl);
      await repl.exit();
      const report = { board: board.name, port: values.port, module: module.name, moduleBytes: module.bytes.length, ...result };
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else
        console.log(
          `flashed ${board.name} on ${values.port}: ${result.bytes} bytes written in ${result.seconds.toFixed(2)} s (bridge ${result.bridgeWritten ? "updated" : "up to date"}, ${module.name} ${result.moduleWritten ? "updated" : "up to date"}), sha256 verified on the board`,
        );
      return 0;
    } finally {
      await link.close();
    }
  },
};
