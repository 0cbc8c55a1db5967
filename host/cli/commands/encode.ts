import { performance } from "node:perf_hooks";
import { buildEncoder } from "../../build/build.ts";
import { loadRgb, toFrame } from "../../image/load.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { EncoderInstance } from "../../build/runtime/encoder-instance.ts";
import { parseCommandArgs, parseFrame, UserError, type Command } from "../command.ts";
import { basename } from "node:path";
import { PacketRate } from "../../wire/bitstream/packet-rate.ts";
import { modelTables } from "../../wire/bitstream/tables.ts";

const usage = "tidepool encode --board NAME [--model FILE] [--frame WxH] [--format F] IMAGE... [--json]";

export const command: Command = {
  name: "encode",
  summary: "encode images with the board's WASM encoder (images are resized to the camera frame)",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      board: { type: "string" }, model: { type: "string" }, frame: { type: "string" }, format: { type: "string" }, json: { type: "boolean" },
    }, usage);
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    if (positionals.length === 0) throw new UserError(`no images given\nusage: ${usage}`, 2);
    const frameSize = values.frame ? parseFrame(values.frame) : undefined;
    const format = values.format ? parsePixelFormat(values.format) : undefined;
    const built = await buildEncoder({ board: values.board, modelPath: values.model, width: frameSize?.width, height: frameSize?.height, format });
    const enc = await EncoderInstance.load(built.wasm, built.board);
    const { width, height, format: fmt } = built.map;
    // Real bytes: the link packets the board would send (no estimate).
    const rate = built.model.entropy ? new PacketRate(modelTables(built.model, "the built model")) : null;
    const results = [];
    for (const path of positionals) {
      const img = await loadRgb(path, { width, height });
      const frame = toFrame(img, fmt);
      const t0 = performance.now();
      const latent = enc.encode(frame, width, height, fmt);
      const ms = performance.now() - t0;
      results.push({ image: path, width, height, format: fmt, latent: { width: latent.width, height: latent.height, channels: latent.channels, symbols: latent.data.length },
        bytes: rate ? rate.bytes(latent, latent.channels) : null, hostEncodeMs: +ms.toFixed(3) });
    }
    if (values.json) console.log(JSON.stringify({ board: built.board.name, moduleBytes: built.moduleBytes, arenaBytes: built.map.arenaBytes, images: results }, null, 2));
    else for (const r of results)
      console.log(`${basename(r.image)}: ${r.width}x${r.height} ${r.format} -> latent ${r.latent.channels}x${r.latent.height}x${r.latent.width} (${r.latent.symbols} symbols, ${r.bytes ?? "-"} B of packets), ${r.hostEncodeMs} ms on host`);
    return 0;
  },
};
