// Shared fixtures for the bitstream tests: the seeded random model with context tables fitted on its
// own latents of generated frames (no trained model or dataset needed).
import { fitEntropyTables } from "../../host/wire/bitstream/fit-tables.ts";
import { parseTables, type EntropyTables } from "../../host/wire/bitstream/tables.ts";
import { randomModel } from "../../host/model/random-model.ts";
import type { Model } from "../../host/core/model-types.ts";
import { referenceEncode } from "../../host/build/reference/encoder.ts";
import { randomRgb } from "../helpers/frames.ts";
import type { Latent } from "../../host/core/types.ts";

export function modelWithTables(seed = 1, opts: Parameters<typeof fitEntropyTables>[2] = {}): { model: Model; tables: EntropyTables } {
  const model = randomModel({ seed });
  const latents = [1, 2, 3].map((s) => referenceEncode(model, randomRgb(100 + s, 160, 120), 160, 120, "rgb888"));
  model.entropy = fitEntropyTables(latents, model.latent.levels, opts).bytes;
  return { model, tables: parseTables(model.entropy) };
}

export function latentOf(model: Model, seed: number, width: number, height: number): Latent {
  return referenceEncode(model, randomRgb(seed, width, height), width, height, "rgb888");
}

/** Seeded integers for fuzzing (mulberry32). */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}
