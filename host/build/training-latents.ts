// Latents the tables are fitted on: the imagenet-sample TRAINING split only (label_index % 5 != 0,
// host/receiver/classifier.ts imagenetSplit), never the test split and never Kodak.
import { loadRgb, toFrame } from "../image/load.ts";
import type { Model } from "../core/model-types.ts";
import { referenceEncode } from "./reference/encoder.ts";
import { imagenetSplit, IMAGENET_DIR } from "../core/dataset-split.ts";
import type { Latent } from "../core/types.ts";

export interface TrainingLatentOptions {
  /** Square cover crop side in pixels (the eval's 224 view by default). */
  size?: number;
  /** Use at most this many training images, spread evenly over the split. */
  limit?: number;
  dir?: string;
  log?: (s: string) => void;
}

export const TRAINING_SOURCE = "imagenet-sample train split (label_index % 5 != 0)";

export async function trainingLatents(model: Model, opts: TrainingLatentOptions = {}): Promise<{ latents: Latent[]; images: number; size: number }> {
  const size = opts.size ?? 224;
  const train = imagenetSplit("train", opts.dir ?? IMAGENET_DIR);
  const n = Math.min(opts.limit ?? train.length, train.length);
  const picked = Array.from({ length: n }, (_, i) => train[Math.floor((i * train.length) / n)]);
  const latents: Latent[] = [];
  for (const [i, t] of picked.entries()) {
    const img = await loadRgb(t.path, { width: size, height: size });
    latents.push(referenceEncode(model, toFrame(img, "rgb888"), size, size, "rgb888"));
    if (opts.log && (i + 1) % 100 === 0) opts.log(`encoded ${i + 1}/${n} training images`);
  }
  return { latents, images: n, size };
}
