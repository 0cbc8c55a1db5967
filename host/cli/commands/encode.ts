// `tidepool encode`: with -o, a codec like cwebp (one photo → the packet container, docs/bitstream.md
// §Container); without -o, the report of what the board's encoder makes of each photo (latent, bytes).
import { performance } from "node:perf_hooks";
import { basename } from "node:path";
import { buildEncoder } from "../../build/build.ts";
import { encodeFile } from "../../build/encode-file.ts";
import { loadRgb, toFrame } from "../../image/load.ts";
import { parsePixelFormat } from "../../core/pixel-format.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { EncoderInstance } from "../../build/runtime/encoder-instance.ts";
import { intOption, parseCommandArgs, parseFrame, UserError, type Command } from "../command.ts";
import { PacketRate } from "../../wire/bitstream/packet-rate.ts";
import { modelTables } from "../../wire/bitstream/tables.ts";
import { writeContainer } from "../../wire/container.ts";
import { getLink } from "../../wire/link/presets.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage =
  "tidepool encode IMAGE -o FILE [--board NAME] [--model FILE|NAME] [--frame WxH] [--format F] [--budget BYTES] [--link lora-sf7 | --packet-size N] [--image-id N] [--json]\n" +
  "       tidepool encode --board NAME [--model FILE|NAME] [--frame WxH] [--format F] IMAGE... [--json]   (report only)";

export const command: Command = {
  name: "encode",
  summary: "encode a photo into a packet file with the board's WASM encoder and packetizer (-o), or report latents and bytes",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        out: { type: "string", short: "o" },
        board: { type: "string" },
        model: { type: "string" },
        frame: { type: "string" },
        format: { type: "string" },
        budget: { type: "string" },
        link: { type: "string" },
        "packet-size": { type: "string" },
        "image-id": { type: "string" },
        json: { type: "boolean" },
      },
      usage,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    const frameSize = values.frame ? parseFrame(values.frame) : undefined;
    const format = values.format ? parsePixelFormat(values.format) : undefined;
    if (values.out !== undefined) return encodeToFile(values, positionals, frameSize, format);
    for (const flag of ["budget", "link", "packet-size", "image-id"] as const)
      if (values[flag] !== undefined) throw new UserError(`--${flag} applies to a packet file: give -o FILE\nusage: ${usage}`, 2);
    if (!values.board) throw new UserError(`--board is required\nusage: ${usage}`, 2);
    if (positionals.length === 0) throw new UserError(`no images given\nusage: ${usage}`, 2);
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
      results.push({
        image: path,
        width,
        height,
        format: fmt,
        latent: { width: latent.width, height: latent.height, channels: latent.channels, symbols: latent.data.length },
        bytes: rate ? rate.bytes(latent, latent.channels) : null,
        hostEncodeMs: +ms.toFixed(3),
      });
    }
    if (values.json)
      console.log(JSON.stringify({ board: built.board.name, moduleBytes: built.moduleBytes, arenaBytes: built.map.arenaBytes, images: results }, null, 2));
    else
      for (const r of results)
        console.log(
          `${basename(r.image)}: ${r.width}x${r.height} ${r.format} -> latent ${r.latent.channels}x${r.latent.height}x${r.latent.width} (${r.latent.symbols} symbols, ${r.bytes ?? "-"} B of packets), ${r.hostEncodeMs} ms on host`,
        );
    return 0;
  },
};

async function encodeToFile(
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  frame: { width: number; height: number } | undefined,
  format: ReturnType<typeof parsePixelFormat> | undefined,
) {
  const out = values.out as string;
  if (!out) throw new UserError(`-o needs a file name\nusage: ${usage}`, 2);
  if (positionals.length !== 1) throw new UserError(`-o writes one image's packets: give exactly one IMAGE (got ${positionals.length})\nusage: ${usage}`, 2);
  if (values.link !== undefined && values["packet-size"] !== undefined)
    throw new UserError(`--link and --packet-size both set the packet size: give one\nusage: ${usage}`, 2);
  let packetBytes = intOption("packet-size", values["packet-size"] as string | undefined, 12);
  if (packetBytes !== undefined && packetBytes > 255) throw new UserError(`--packet-size must be 12..255 (a Tidepool packet's length), got ${packetBytes}`, 2);
  if (values.link !== undefined) packetBytes = getLink(values.link as string).payloadBytes;
  const budgetBytes = intOption("budget", values.budget as string | undefined, 12);
  const imageId = intOption("image-id", values["image-id"] as string | undefined, 0);
  if (imageId !== undefined && imageId > 255) throw new UserError(`--image-id must be 0..255 (one byte in every packet), got ${imageId}`, 2);
  const t0 = performance.now();
  const r = await encodeFile(positionals[0], {
    board: values.board as string | undefined,
    modelPath: values.model as string | undefined,
    frame,
    format,
    packetBytes,
    budgetBytes,
    imageId,
  });
  const file = writeContainer(r.container);
  atomicWrite(out, file);
  const c = r.container;
  const summary = {
    image: positionals[0],
    out,
    board: c.board,
    width: c.width,
    height: c.height,
    format: c.format,
    latent: r.latent,
    packetBytes: c.packetBytes,
    budgetBytes: budgetBytes ?? null,
    imageId: c.imageId,
    tablesId: c.tablesId.toString(16).padStart(8, "0"),
    modelId: c.modelId,
    bytes: r.bytes,
    fileBytes: file.length,
    symbols: r.symbols,
    complete: r.complete,
    seconds: +((performance.now() - t0) / 1000).toFixed(3),
    packets: c.packets.map((p) => Buffer.from(p).toString("base64")),
  };
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else
    console.log(
      `${basename(positionals[0])}: ${c.width}x${c.height} ${c.format} on ${c.board} -> ${c.packets.length} packets of <= ${c.packetBytes} B, ${r.bytes} B` +
        `${r.complete ? "" : ` (budget reached: ${r.symbols} of ${r.latent.width * r.latent.height * r.latent.channels} symbols)`}; ${out} (${file.length} B)`,
    );
  return 0;
}
