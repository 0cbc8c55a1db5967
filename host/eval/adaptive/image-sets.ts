// The image sets the adaptive policy is trained and evaluated on, in a fixed shuffled order so that
// any prefix of a set (a bounded precomputation, a test subset) is a spread-out sample of it.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SHARED_DIR } from "../../core/paths.ts";
import { TidepoolError } from "../../core/errors.ts";
import { imagenetSplit } from "../../core/dataset-split.ts";
import { xorshift32 } from "../../core/seeded-random.ts";

export interface SetImage {
  path: string;
  name: string;
  label: number | null;
}

export const ADAPTIVE_SETS = ["train", "val"] as const;
export type AdaptiveSet = (typeof ADAPTIVE_SETS)[number];

function shuffled<T>(items: T[], seed: number): T[] {
  const a = items.slice();
  const next = xorshift32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function photos(dir: string): SetImage[] {
  return readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => ({ path: join(dir, f), name: f, label: null }));
}

/**
 * train: imagenet-sample's training split (label_index % 5 != 0) + photos-train (BSDS500 + imagen),
 * never an evaluation image. val: imagenet-val-1000, evaluation only.
 */
export function adaptiveSet(set: AdaptiveSet, shared = SHARED_DIR): SetImage[] {
  try {
    if (set === "train") {
      const inet = imagenetSplit("train", join(shared, "datasets", "imagenet-sample")).map((r) => ({
        path: r.path,
        name: `imagenet-sample/${r.path.split("/").pop()}`,
        label: r.label,
      }));
      const pt = join(shared, "datasets", "photos-train");
      const more = [
        ...photos(join(pt, "bsds500")).map((p) => ({ ...p, name: `bsds500/${p.name}` })),
        ...photos(join(pt, "imagen")).map((p) => ({ ...p, name: `imagen/${p.name}` })),
      ];
      return shuffled([...inet, ...more], 0x5eed);
    }
    const dir = join(shared, "datasets", "imagenet-val-1000");
    const rows = imagenetSplit("train", dir).concat(imagenetSplit("test", dir));
    return shuffled(
      rows.map((r) => ({ path: r.path, name: r.path.split("/").pop()!, label: r.label })),
      0x7a1,
    );
  } catch (e) {
    throw new TidepoolError("dataset", `adaptive image set "${set}" under ${shared}: ${(e as Error).message}`);
  }
}
