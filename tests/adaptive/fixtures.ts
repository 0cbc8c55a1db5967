// Fixtures of the adaptive tests: the shipped model with a seeded random policy, and a committed small
// outcome table (tests/adaptive/fixtures/outcomes-small.jsonl.gz) so tests never run the classifier.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { modelTables } from "../../host/wire/bitstream/tables.ts";
import { DEFAULT_MODEL_PATH } from "../../host/build/build.ts";
import { policyFeatures, serializePolicy, type Policy } from "../../host/build/policy/section.ts";
import { readModel } from "../../host/model/format.ts";
import type { ImageOutcome } from "../../host/eval/adaptive/outcomes.ts";
import { seededRandom } from "../../host/core/seeded-random.ts";

export function shippedModel() {
  const model = readModel(new Uint8Array(readFileSync(DEFAULT_MODEL_PATH)), DEFAULT_MODEL_PATH);
  return { model, tables: modelTables(model) };
}

/** A valid policy with seeded random weights: exercises every path of the integer inference. */
export function randomPolicy(channels: number, tablesId: number, seed: number, hidden = 16): Policy {
  const r = seededRandom(seed),
    F = policyFeatures(channels);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  return {
    channels,
    tablesId,
    lambdaQ8: int(0, 300),
    minLevel: int(1, 3),
    hidden,
    featureOffsets: Int32Array.from({ length: F }, () => int(200, 2100)),
    featureScales: Array.from({ length: F }, () => ({ multiplier: int(2 ** 30, 2 ** 31 - 1), shift: int(30, 34) })),
    w1: Int8Array.from({ length: hidden * F }, () => int(-127, 127)),
    b1: Int32Array.from({ length: hidden }, () => int(-5000, 5000)),
    r1: { multiplier: int(2 ** 30, 2 ** 31 - 1), shift: int(40, 44) },
    w2: Int8Array.from({ length: channels * hidden }, () => int(-127, 127)),
    b2: Int32Array.from({ length: channels }, () => int(-3000, 3000)),
    r2: { multiplier: int(2 ** 30, 2 ** 31 - 1), shift: int(31, 34) },
  };
}

export function modelWithPolicy(seed: number) {
  const { model, tables } = shippedModel();
  const policy = randomPolicy(tables.channels.length, tables.id, seed);
  return { model: { ...model, policy: serializePolicy(policy) }, tables, policy };
}

export const SMALL_OUTCOMES = join(import.meta.dirname, "fixtures", "outcomes-small.jsonl.gz");

/** Outcome rows without latents, with the policy features computed from them (tests/adaptive/make-fixtures.ts). */
export type FixtureRow = Omit<ImageOutcome, "latent"> & { features: number[]; fraction: number[] };

export function smallOutcomes(): FixtureRow[] {
  return gunzipSync(readFileSync(SMALL_OUTCOMES))
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** Fixture rows as policy samples (agreement with the original's top-1, or with the all-channels decode). */
export function fixtureSamples(rows: FixtureRow[], ref: "original" | "full" = "original") {
  return rows.map((r) => {
    const target = ref === "original" ? r.top1 : r.tpTop1[r.tpTop1.length - 1];
    return { features: Int32Array.from(r.features), fraction: Int32Array.from(r.fraction), agree: r.tpTop1.map((t) => (t === target ? 1 : 0)), outcome: r };
  });
}
