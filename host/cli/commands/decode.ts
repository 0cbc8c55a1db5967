// `tidepool decode`: like dwebp, a packet file (docs/bitstream.md §Container) → PNG, from any subset of
// its packets (--drop removes some, as a lossy link would); reports what was missing.
import { existsSync } from "node:fs";
import sharp from "sharp";
import { atomicWrite } from "../../core/atomic-write.ts";
import { readInputFile } from "../../core/input-file.ts";
import { DEFAULT_MODEL_PATH, loadDefaultModel } from "../../build/build.ts";
import { readModel } from "../../model/format.ts";
import { readContainer } from "../../wire/container.ts";
import { decodeContainer } from "../../receiver/decode-container.ts";
import { DEFAULT_DECODER_PATH, loadDecoder } from "../../receiver/decoder.ts";
import { parseCommandArgs, UserError, type Command } from "../command.ts";
import { registryEntryForFile, resolveModelPath } from "../../core/model-registry.ts";

const usage = "tidepool decode FILE [-o out.png] [--drop LIST] [--model FILE|NAME] [--decoder FILE.onnx] [--json]";

/** "0,3,5-7" → [0, 3, 5, 6, 7]. */
export function parseDropList(s: string): number[] {
  const out = new Set<number>();
  for (const part of s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m || (m[2] !== undefined && +m[2] < +m[1]) || +(m[2] ?? m[1]) > 0xffff)
      throw new UserError(`invalid drop list "${s}": expected packet indices like 0,3,5-7`, 2);
    for (let i = +m[1]; i <= +(m[2] ?? m[1]); i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

export const command: Command = {
  name: "decode",
  summary: "decode a packet file (any subset of its packets) to a PNG and report what was missing",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        out: { type: "string", short: "o" },
        drop: { type: "string" },
        model: { type: "string" },
        decoder: { type: "string" },
        json: { type: "boolean" },
      },
      usage,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    if (positionals.length !== 1) throw new UserError(`give exactly one packet file (got ${positionals.length})\nusage: ${usage}`, 2);
    const drop = values.drop !== undefined ? parseDropList(values.drop) : [];
    const path = positionals[0];
    const container = readContainer(readInputFile(path, "packet file"), path);
    const modelSource = values.model ?? DEFAULT_MODEL_PATH;
    const model = values.model ? readModel(readInputFile(values.model, "model file"), values.model) : loadDefaultModel();
    // A model with its own decoder (the task encoder) is drawn by it unless --decoder names another.
    const own = values.model ? registryEntryForFile(values.model) : undefined;
    const decoderPath = values.decoder ?? (own?.ownDecoder ? own.decoder : DEFAULT_DECODER_PATH);
    if (values.out && !existsSync(decoderPath)) throw new UserError(`no decoder at ${decoderPath}: cannot draw the image (run \`npm run train\`)`, 1);
    const decoder = values.out ? await loadDecoder(decoderPath) : null;
    try {
      const { report, image } = await decodeContainer(container, model, decoder, { drop, source: path, modelSource });
      if (values.out && image) {
        const png = await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
          .png()
          .toBuffer();
        atomicWrite(values.out, png);
      }
      const missingIndices = [...report.dropped, ...report.rejected.map((r) => r.input)].sort((a, b) => a - b);
      if (values.json)
        console.log(
          JSON.stringify(
            {
              file: path,
              out: values.out ?? null,
              board: container.board,
              width: container.width,
              height: container.height,
              imageId: container.imageId,
              ...report,
              missing: missingIndices,
            },
            null,
            2,
          ),
        );
      else {
        const pct = ((100 * report.symbols) / report.totalSymbols).toFixed(1);
        console.log(
          `${path}: ${report.used.length} of ${report.packets} packets used` +
            (report.dropped.length ? `, dropped ${report.dropped.join(",")}` : "") +
            (report.duplicates.length ? `, duplicates ${report.duplicates.join(",")}` : "") +
            `; ${report.symbols} of ${report.totalSymbols} symbols (${pct} %), ${report.completeChannels} of ${report.latent.channels} channels complete, ${report.missingChannels} missing` +
            (values.out ? `; ${container.width}x${container.height} -> ${values.out}` : ""),
        );
        for (const r of report.rejected) console.log(`  packet ${r.input} rejected (${r.kind}): ${r.reason}`);
      }
      return 0;
    } finally {
      await decoder?.close();
    }
  },
};
