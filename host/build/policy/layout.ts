// What the policy adds to the arena (memory map: policy, policy.scratch): a descriptor, the cost
// table derived from the ENTR tables, the PLCY payload (initialised, baked into the module, and
// rewritable in place when the gateway installs a retrained policy), and the scratch words of one run.
// assembly/policy.ts reads the descriptor at the offset the build passes as TIDEPOOL_POLICY_OFFSET.
import type { ExtraRegion, MemoryMap } from "../memory-map/planner.ts";
import { modelTables } from "../../wire/bitstream/tables.ts";
import type { Model } from "../../core/model-types.ts";
import { costTable } from "./reference.ts";
import { parsePolicy, policyFeatures } from "./section.ts";
import { TidepoolError } from "../../core/errors.ts";

export const POLICY_DESCRIPTOR_MAGIC = 0x44505054; // "TPPD"
export const POLICY_DESCRIPTOR_BYTES = 32;
export const REGION_POLICY = "policy";
export const REGION_POLICY_SCRATCH = "policy.scratch";

/** Scratch words of one run: features (2C), fractions (C), probabilities (C), hidden (H), int8 inputs (2C). */
export const policyScratchWords = (channels: number, hidden: number) => 2 * policyFeatures(channels) + 2 * channels + hidden;

const pad4 = (n: number) => (n + 3) & ~3;

function parts(model: Model) {
  if (!model.policy || !model.entropy) return null;
  const policy = parsePolicy(model.policy, "model PLCY section");
  const tables = modelTables(model);
  if (policy.tablesId !== tables.id)
    throw new TidepoolError(
      "model",
      `model PLCY section was trained with entropy tables 0x${policy.tablesId.toString(16)}, the model's ENTR tables are 0x${tables.id.toString(16)}: retrain the policy`,
    );
  return { policy, costs: costTable(tables) };
}

/** Extra arena regions for a model with PLCY (and ENTR) sections; none otherwise. */
export function policyRegions(model: Model): ExtraRegion[] {
  const p = parts(model);
  if (!p) return [];
  const size = POLICY_DESCRIPTOR_BYTES + pad4(p.costs.costs.length) + model.policy!.length;
  return [
    {
      name: REGION_POLICY,
      kind: "weights",
      size,
      purpose: `policy descriptor + symbol costs ${p.costs.channels}x${p.costs.stride} (from ENTR) + PLCY payload ${model.policy!.length} B: ${policyFeatures(p.policy.channels)}-${p.policy.hidden}-${p.policy.channels} int8 MLP (rewritable by a policy install)`,
    },
    {
      name: REGION_POLICY_SCRATCH,
      kind: "scratch",
      size: 4 * policyScratchWords(p.policy.channels, p.policy.hidden),
      purpose: "features, byte shares, probabilities and hidden units of one policy run (i32 each)",
    },
  ];
}

/** The initialised block (descriptor + costs + payload) at its planned offset, or null without a policy. */
export function policyInit(model: Model, map: MemoryMap): { offset: number; bytes: Uint8Array } | null {
  const p = parts(model);
  const region = map.regions.find((r) => r.name === REGION_POLICY),
    scratch = map.regions.find((r) => r.name === REGION_POLICY_SCRATCH);
  if (!p || !region || !scratch) return null;
  const bytes = new Uint8Array(region.size);
  const dv = new DataView(bytes.buffer);
  const costsAt = POLICY_DESCRIPTOR_BYTES,
    sectionAt = costsAt + pad4(p.costs.costs.length);
  const words = [POLICY_DESCRIPTOR_MAGIC, region.offset + sectionAt, model.policy!.length, region.offset + costsAt, p.costs.stride, scratch.offset];
  words.forEach((w, i) => dv.setInt32(4 * i, w, true));
  bytes.set(p.costs.costs, costsAt);
  bytes.set(model.policy!, sectionAt);
  return { offset: region.offset, bytes };
}
