import { resolve } from "node:path";
import { DEFAULT_MODEL_PATH } from "../../build/build.ts";
import { DEFAULT_FIT, fitEntropyTables } from "../../wire/bitstream/fit-tables.ts";
import { codeLengths } from "../../wire/bitstream/code-length.ts";
import { trainingLatents, TRAINING_SOURCE } from "../../build/training-latents.ts";
import { readModel, writeModel } from "../../model/format.ts";
import { parsePolicy } from "../../build/policy/section.ts";
import { parseCommandArgs, UserError, type Command } from "../command.ts";
import { atomicWrite } from "../../core/atomic-write.ts";
import { readInputFile } from "../../core/input-file.ts";
import { resolveModelPath } from "../../core/model-registry.ts";

const usage = "tidepool fit-tables [--model FILE|NAME] [--out FILE] [--images N] [--size N] [--classes K] [--block WxH] [--json]";

export const command: Command = {
  name: "fit-tables",
  summary: "fit the bitstream's context tables on training-split latents and write them into a model's ENTR section",
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        model: { type: "string" },
        out: { type: "string" },
        images: { type: "string" },
        size: { type: "string" },
        classes: { type: "string" },
        block: { type: "string" },
        json: { type: "boolean" },
      },
      usage,
      false,
    );
    if (values.model !== undefined) values.model = resolveModelPath(values.model); // a registered name ("task") or a file
    const int = (name: string, v: string | undefined, min: number, max: number) => {
      if (v === undefined) return undefined;
      if (!/^\d+$/.test(v) || +v < min || +v > max) throw new UserError(`--${name} must be an integer in ${min}..${max}, got "${v}"`, 2);
      return +v;
    };
    const modelPath = resolve(values.model ?? DEFAULT_MODEL_PATH);
    const out = resolve(values.out ?? modelPath);
    let block = { width: DEFAULT_FIT.blockWidth, height: DEFAULT_FIT.blockHeight };
    if (values.block) {
      const m = /^(\d+)x(\d+)$/.exec(values.block);
      if (!m || +m[1] < 1 || +m[2] < 1 || +m[1] * +m[2] > 256) throw new UserError(`--block must be WxH with W·H in 1..256, got "${values.block}"`, 2);
      block = { width: +m[1], height: +m[2] };
    }
    const classes = int("classes", values.classes, 1, 8) ?? DEFAULT_FIT.classes;
    const size = int("size", values.size, 16, 4096);
    const limit = int("images", values.images, 1, 100000);
    const bytes = readInputFile(modelPath, "model file");
    const model = readModel(bytes, modelPath);
    const log = (s: string) => process.stderr.write(`${s}\n`);
    const { latents, images, size: side } = await trainingLatents(model, { size, limit, log });
    const fit = fitEntropyTables(latents, model.latent.levels, { classes, blockWidth: block.width, blockHeight: block.height });
    const lengths = codeLengths(latents, fit.tables, model.latent.levels);
    model.entropy = fit.bytes;
    // The adaptive policy's features are priced with the tables it was trained for: new tables invalidate it.
    if (model.policy && parsePolicy(model.policy, modelPath).tablesId !== fit.tables.id) {
      model.policy = null;
      log(`dropped the PLCY section (adaptive policy trained for the old tables); retrain it: npm run train -- --config training/configs/policy.json`);
    }
    model.meta = {
      ...model.meta,
      entropyTables: {
        source: TRAINING_SOURCE,
        images,
        crop: `${side}x${side}`,
        classes,
        block: `${block.width}x${block.height}`,
        id: `0x${fit.tables.id.toString(16).padStart(8, "0")}`,
      },
    };
    atomicWrite(out, writeModel(model));
    const summary = {
      model: out,
      source: TRAINING_SOURCE,
      images,
      crop: `${side}x${side}`,
      tablesBytes: fit.bytes.length,
      tablesId: fit.tables.id,
      classes,
      block: `${block.width}x${block.height}`,
      trainingBitsPerSymbol: { staticPerChannel: lengths.staticBits / lengths.symbols, context: lengths.contextBits / lengths.symbols },
    };
    if (values.json) console.log(JSON.stringify(summary));
    else {
      console.log(`wrote ENTR tables (${fit.bytes.length} bytes, id 0x${fit.tables.id.toString(16)}) into ${out}`);
      console.log(
        `fitted on ${images} images of the ${TRAINING_SOURCE}, ${side}x${side} crops; ${block.width}x${block.height} blocks, ${classes} neighbour classes`,
      );
      console.log(
        `ideal bits/symbol on those latents: static per-channel ${summary.trainingBitsPerSymbol.staticPerChannel.toFixed(3)}, with context ${summary.trainingBitsPerSymbol.context.toFixed(3)}`,
      );
    }
    return 0;
  },
};
