// `tidepool simulate --policy …`: the adaptive level per image over LoRaWAN links with the link/deadline
// budget, next to fixed budgets, the oracle and AdaCompress on the device JPEG (host/eval/adaptive/compare.ts).
import { createHash } from "node:crypto";
import { modelTables } from "../../wire/bitstream/tables.ts";
import { costTable } from "../../build/policy/reference.ts";
import { parsePolicy, type Policy } from "../../build/policy/section.ts";
import { TidepoolError } from "../../core/errors.ts";
import type { Model } from "../../core/model-types.ts";
import { repoPath } from "../../core/paths.ts";
import { compareOnLinks, LORA_LINKS, parsePolicySpec, type CompareRow, type PolicySpec } from "./compare.ts";
import type { SetImage } from "./image-sets.ts";
import { JPEG_QUALITIES, readOutcomes, type ImageOutcome } from "./outcomes.ts";
import { measureImages, outcomeCachePath, encoderKey, precomputeOutcomes } from "./precompute.ts";
import { adaptiveStrategy, jpegAdaptiveStrategy, packetIndex, policySamples, trainJpegPolicy, type JpegPolicy } from "./strategies.ts";
import { bytesAtAgreement } from "./goals.ts";

export const ALL_POLICIES = "adaptive,fixed:best,oracle,adacompress-jpeg";

export function modelPolicy(model: Model, where: string): Policy {
  if (!model.policy)
    throw new TidepoolError("model", `${where} has no PLCY section (adaptive policy): train one with npm run train -- --config training/configs/policy.json`);
  return parsePolicy(model.policy, `${where} PLCY section`);
}

/** AdaCompress on JPEG trained on the training images' outcomes, its λ matched to the Tidepool policy's training agreement. */
export async function jpegBaseline(
  model: Model,
  policy: Policy,
  o: { log?: (s: string) => void; trainImages?: number } = {},
): Promise<{ jpeg: JpegPolicy; lambda: number; trainAgreement: number }> {
  const key = encoderKey(model);
  let train = readOutcomes(outcomeCachePath("train", "day", key));
  if (train.length < 100) train = await precomputeOutcomes({ set: "train", scene: "day", count: o.trainImages ?? 200, log: o.log });
  const costs = costTable(modelTables(model));
  const samples = policySamples(train, costs);
  const p = packetIndex(222);
  const target = adaptiveStrategy(samples, policy, p).agreement;
  const jpeg = trainJpegPolicy(samples);
  // The smallest-bytes λ whose agreement on the training images is at least the Tidepool policy's.
  let lambda = 0;
  for (const l of [0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10])
    if (jpegAdaptiveStrategy(samples, jpeg, l, 222).agreement >= target) lambda = l;
  return { jpeg, lambda, trainAgreement: target };
}

export interface PolicySimulation {
  rows: CompareRow[];
  images: number;
  specs: string[];
  jpegLambda: number;
}

export async function simulatePolicies(
  images: SetImage[],
  model: Model,
  where: string,
  o: { policies: string; intervalS: number; log?: (s: string) => void },
): Promise<PolicySimulation> {
  const policy = modelPolicy(model, where);
  const C = policy.channels;
  // Parse every spec before the (slow) measuring, so a typo fails at once.
  const parsed = o.policies
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s === "fixed:best" ? null : parsePolicySpec(s, C)));
  if (!parsed.length) throw new TidepoolError("usage", `no policy given (one of ${ALL_POLICIES}, fixed:K)`);
  const dirKey = createHash("sha256")
    .update(images.map((i) => i.path).join("\n"))
    .digest("hex")
    .slice(0, 12);
  const outcomes: ImageOutcome[] = await measureImages(images, (key) => repoPath("build", ".cache", "adaptive", `sim-${dirKey}-day-${key}.jsonl`), {
    scene: "day",
    log: o.log,
  });
  const samples = policySamples(outcomes, costTable(modelTables(model)));
  const { jpeg, lambda } = await jpegBaseline(model, policy, { log: o.log });
  // fixed:best = the smallest k within one point of every channel's agreement on these images.
  const specs: PolicySpec[] = parsed.map((spec) => {
    if (spec) return spec;
    const all = Array.from({ length: C }, (_, k) => outcomes.filter((x) => x.tpTop1[k] === x.top1).length / outcomes.length);
    return { kind: "fixed", k: all.findIndex((a) => a >= all[C - 1] - 0.01) + 1 } as PolicySpec;
  });
  const rows = compareOnLinks({ outcomes, samples, policy, jpeg, jpegLambda: lambda, intervalS: o.intervalS }, specs, LORA_LINKS);
  return { rows, images: outcomes.length, specs: specs.map((s) => (s.kind === "fixed" ? `fixed:${s.k}` : s.kind)), jpegLambda: lambda };
}

export { JPEG_QUALITIES, bytesAtAgreement };
