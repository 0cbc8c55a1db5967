// The entropy tables a command works with: the model's ENTR section, or, when the model has none,
// tables fitted on the training split and cached in build/.cache (keyed by the model bytes), with a note.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Model } from "../core/model-types.ts";
import { repoPath } from "../core/paths.ts";
import { DEFAULT_FIT, fitEntropyTables } from "../wire/bitstream/fit-tables.ts";
import { modelTables, parseTables, type EntropyTables } from "../wire/bitstream/tables.ts";
import { trainingLatents, TRAINING_SOURCE } from "./training-latents.ts";
import { writeModel } from "../model/format.ts";
import { atomicWrite } from "../core/atomic-write.ts";

export async function ensureTables(model: Model, opts: { images?: number; log?: (s: string) => void } = {}): Promise<{ tables: EntropyTables; note: string }> {
  if (model.entropy) return { tables: modelTables(model), note: "the model's ENTR tables" };
  const images = opts.images ?? 800;
  const key = createHash("sha256").update(writeModel(model)).update(JSON.stringify(DEFAULT_FIT)).digest("hex").slice(0, 16);
  const cache = join(repoPath("build", ".cache"), `entr-${key}-${images}.bin`);
  if (!existsSync(cache)) {
    opts.log?.(
      `model has no ENTR section: fitting tables on up to ${images} images of the ${TRAINING_SOURCE} (cached in ${cache}; \`tidepool fit-tables\` stores them in the model)`,
    );
    const { latents } = await trainingLatents(model, { limit: images, log: opts.log });
    mkdirSync(repoPath("build", ".cache"), { recursive: true });
    atomicWrite(cache, fitEntropyTables(latents, model.latent.levels).bytes);
  }
  model.entropy = new Uint8Array(readFileSync(cache));
  return { tables: parseTables(model.entropy, cache), note: `tables fitted on the training split (${cache}); the model file has no ENTR section` };
}
