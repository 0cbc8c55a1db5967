// `tidepool capture`: the board (flashed with `tidepool flash`) captures camera frames, encodes and
// packetizes them itself; with --uplink it also sends every packet through its LoRaWAN modem. The
// packets come back over the bridge and are written as packet files (docs/bitstream.md §12), which
// `tidepool decode` reads.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { getBoard } from "../../core/boards.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { readInputFile } from "../../core/input-file.ts";
import { loadDefaultModel } from "../../build/build.ts";
import { readModel } from "../../model/format.ts";
import { modelTables } from "../../wire/bitstream/tables.ts";
import { modelId, writeContainer } from "../../wire/container.ts";
import { getLink } from "../../wire/link/presets.ts";
import { SerialLink } from "../../../flash-tools/serial-link.ts";
import { RawRepl } from "../../../flash-tools/raw-repl.ts";
import { BridgeClient } from "../../../flash-tools/bridge-client.ts";
import { intOption, parseCommandArgs, UserError, type Command } from "../command.ts";
import { mpyModuleName } from "../../build/native/mpy.ts";
import { modelPathForFormat, resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool capture --board NAME --port PATH [--baud N] [--count N] [--uplink] [--link lora-sf7 | --packet-size N] [--budget BYTES] [--model FILE|NAME] [--mpy] [-o DIR] [--json]";

export const command: Command = {
  name: "capture",
  summary: "the flashed board captures, encodes and packetizes camera frames (--uplink: and sends them over its LoRaWAN modem); writes packet files",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        board: { type: "string" },
        port: { type: "string" },
        baud: { type: "string" },
        count: { type: "string" },
        uplink: { type: "boolean" },
        link: { type: "string" },
        "packet-size": { type: "string" },
        budget: { type: "string" },
        model: { type: "string" },
        mpy: { type: "boolean" },
        out: { type: "string", short: "o" },
        json: { type: "boolean" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (!values.board || !values.port) throw new UserError(`--board and --port are required\nusage: ${usage}`, 2);
    if (values.link !== undefined && values["packet-size"] !== undefined)
      throw new UserError(`--link and --packet-size both set the packet size: give one\nusage: ${usage}`, 2);
    const board = getBoard(values.board);
    const count = intOption("count", values.count, 1) ?? 1;
    let packetBytes = intOption("packet-size", values["packet-size"], 12);
    if (packetBytes !== undefined && packetBytes > 255) throw new UserError(`--packet-size must be 12..255, got ${packetBytes}`, 2);
    packetBytes ??= getLink(values.link ?? "lora-sf7").payloadBytes;
    const budgetBytes = intOption("budget", values.budget, 12);
    // The model the board's module was built from (`tidepool flash --model`): it names the packet files.
    // On a GRAY8 camera the build took the model's grey variant (fast -> fast-grey), and grey for the default.
    const modelPath = values.model ? modelPathForFormat(values.model, board.camera.format) : undefined;
    const model = modelPath ? readModel(readInputFile(modelPath, "model file"), modelPath) : loadDefaultModel(board.camera.format);
    if (!model.entropy) throw new UserError(`the model has no entropy tables (ENTR): the board makes no packets; run \`tidepool fit-tables\``, 2);
    const tables = modelTables(model, modelPath ?? "the default model");
    const { width, height, format } = board.camera;
    const outDir = values.out ?? ".";
    mkdirSync(outDir, { recursive: true });
    const link = await SerialLink.open(values.port, values.baud ? Number(values.baud) : board.serial.baud);
    const results = [];
    try {
      const repl = new RawRepl(link);
      await repl.enter(false);
      const bridge = await BridgeClient.start(repl, board.name);
      const modem = values.uplink ? await bridge.modem() : null;
      if (modem && packetBytes > modem.max_payload)
        throw new UserError(`packets of ${packetBytes} bytes do not fit the modem's ${modem.max_payload}-byte payload at its data rate`, 2);
      for (let i = 0; i < count; i++) {
        // A duty-cycled uplink run waits on the radio: allow it a generous reply time.
        const r = await bridge.encode(width, height, format, null, {
          output: values.uplink ? "uplink" : "packets",
          // `tidepool flash --mpy` installed the native module: the bridge runs it instead of wasm3.
          module: values.mpy ? `${mpyModuleName(board.name)}.mpy` : undefined,
          imageId: i,
          packetBytes,
          budgetBytes,
          timeoutMs: values.uplink ? 6 * 3600_000 : 60_000,
        });
        const file = join(outDir, `capture-${String(i).padStart(3, "0")}.tpk`);
        atomicWrite(
          file,
          writeContainer({
            board: board.name,
            format,
            width,
            height,
            tablesId: tables.id,
            modelId: modelId(model),
            imageId: i,
            packetBytes,
            packets: r.packets,
          }),
        );
        results.push({
          file,
          packets: r.packets.length,
          bytes: r.bytes,
          complete: r.complete,
          encodeMs: r.encodeUs / 1000,
          uplinks: r.uplinks,
          uplinkWaitMs: r.uplinkWaitMs,
        });
        if (!values.json)
          console.log(
            `${file}: ${r.packets.length} packets, ${r.bytes} B${r.complete ? "" : " (budget reached)"}, board encode ${(r.encodeUs / 1000).toFixed(0)} ms${values.uplink ? `, ${r.uplinks} uplinks, ${(r.uplinkWaitMs / 1000).toFixed(0)} s waiting for the duty cycle` : ""}`,
          );
      }
      await bridge.exit(repl);
    } finally {
      await link.close();
    }
    if (values.json) console.log(JSON.stringify({ board: board.name, port: values.port, uplink: !!values.uplink, images: results }, null, 2));
    return 0;
  },
};
