// Fills the outcome cache of an image set (host/eval/adaptive/outcomes.ts), bounded by a count and
// resumable: images already in the cache are skipped. Used by `npm run train` (policy config), the
// adaptive bench and `tidepool simulate --policy`.
import { modelTables } from "../../wire/bitstream/tables.ts";
import { repoPath } from "../../core/paths.ts";
import { Classifier, classifierView } from "../../receiver/classifier.ts";
import { DECODER_TASK_ONNX, loadTidepool } from "../tidepool-codec.ts";
import { adaptiveSet, type AdaptiveSet, type SetImage } from "./image-sets.ts";
import { appendOutcome, loadJpegTool, measureImage, nightView, readOutcomes, type ImageOutcome } from "./outcomes.ts";
import { FailureError } from "../../core/errors.ts";
import { createHash } from "node:crypto";
import { writeModel } from "../../model/format.ts";
import type { Model } from "../../core/model-types.ts";

/** Outcomes depend on the encoder, tables and decoder, not on the policy: a key without the PLCY section. */
export function encoderKey(model: Model): string {
  return createHash("sha256")
    .update(writeModel({ ...model, policy: null }))
    .digest("hex")
    .slice(0, 16);
}

export function outcomeCachePath(set: AdaptiveSet, scene: "day" | "night", modelKey: string): string {
  return repoPath("build", ".cache", "adaptive", `${set}-${scene}-${modelKey}.jsonl`);
}

export interface PrecomputeOptions {
  set: AdaptiveSet;
  scene: "day" | "night";
  count: number;
  log?: (s: string) => void;
  modelPath?: string;
}

export async function precomputeOutcomes(o: PrecomputeOptions): Promise<ImageOutcome[]> {
  return measureImages(adaptiveSet(o.set).slice(0, o.count), (key) => outcomeCachePath(o.set, o.scene, key), o);
}

/** Outcomes of a list of images, cached in the file `cacheFor(encoder key)`; measures only what is missing. */
export async function measureImages(
  images: SetImage[],
  cacheFor: (key: string) => string,
  o: { scene: "day" | "night"; log?: (s: string) => void; modelPath?: string; set?: string },
): Promise<ImageOutcome[]> {
  const status = await loadTidepool({ decoderPath: DECODER_TASK_ONNX, modelPath: o.modelPath });
  if (!status.available) throw new FailureError("adaptive", `cannot measure outcomes: ${status.reason}`);
  const { codec } = status;
  const path = cacheFor(encoderKey(codec.model));
  const have = readOutcomes(path);
  const done = new Set(have.map((h) => h.name));
  const todo = images.filter((i) => !done.has(i.name));
  if (todo.length) {
    o.log?.(`measuring ${todo.length} ${o.set ?? "simulated"}/${o.scene} images (${have.length} cached in ${path})`);
    const tools = { codec, tables: modelTables(codec.model), classifier: await Classifier.load(), jpeg: o.scene === "day" ? await loadJpegTool() : null };
    const t0 = Date.now();
    for (const [n, img] of todo.entries()) {
      let view = await classifierView(img.path);
      if (o.scene === "night") view = nightView(view, n + 1 + img.name.length * 7919);
      const out = await measureImage(view, { name: img.name, label: img.label, scene: o.scene }, tools);
      appendOutcome(path, out);
      have.push(out);
      if ((n + 1) % 25 === 0) o.log?.(`  ${n + 1}/${todo.length} (${((Date.now() - t0) / (n + 1)).toFixed(0)} ms/image)`);
    }
  }
  const order = new Map(images.map((i, n) => [i.name, n]));
  // One row per image even if two runs appended the same one.
  const unique = new Map<string, ImageOutcome>();
  for (const h of have) if (order.has(h.name) && !unique.has(h.name)) unique.set(h.name, h);
  return [...unique.values()].sort((a, b) => order.get(a.name)! - order.get(b.name)!);
}

// Script entry: npx tsx host/eval/adaptive/precompute.ts SET SCENE COUNT
if (import.meta.url === `file://${process.argv[1]}`) {
  const [set, scene, count] = process.argv.slice(2);
  precomputeOutcomes({ set: set as AdaptiveSet, scene: scene as "day" | "night", count: Number(count), log: (s) => console.error(s) }).then((r) =>
    console.error(`${r.length} outcomes`),
  );
}
