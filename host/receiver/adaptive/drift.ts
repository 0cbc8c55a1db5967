// The gateway's side of the adaptive policy (AdaCompress's inference–estimate–retrain loop, docs/adaptive.md
// §Drift): reference uploads (all channels, sent with probability p) tell the gateway, for every level,
// whether the classifier keeps the full image's answer; a monitor estimates how often the board's chosen
// levels keep it; below a threshold the gateway retrains the policy on the references it holds and
// produces a new PLCY section to install on the board (over the bridge, or as LoRaWAN downlinks).
import { costTable, latentFeatures, chooseLevel, type CostTable, type PolicyFeatures } from "../../build/policy/reference.ts";
import { parsePolicy, serializePolicy, policyId, type Policy } from "../../build/policy/section.ts";
import { trainPolicy, type PolicySample } from "../../build/policy/train.ts";
import type { EntropyTables } from "../../wire/bitstream/tables.ts";
import type { Model } from "../../core/model-types.ts";
import { TidepoolError } from "../../core/errors.ts";
import type { Latent } from "../../core/types.ts";

/** What one reference upload tells the gateway. */
export interface ReferenceObservation extends PolicyFeatures {
  /** Level the board's policy chose for this image (it sent everything because it was a reference). */
  chosen: number;
  /** agree[k−1]: the decode with k channels gives the all-channels decode's top-1. */
  agree: number[];
}

/**
 * Builds an observation from a reference latent: `top1At(k)` decodes the first k channels and returns
 * the classifier's top-1 (the gateway's decoder + classifier); the reference answer is k = C.
 */
export async function observeReference(
  latent: Latent,
  chosen: number,
  costs: CostTable,
  top1At: (k: number) => Promise<number>,
): Promise<ReferenceObservation> {
  const f = latentFeatures(latent, costs);
  const tops: number[] = [];
  for (let k = 1; k <= latent.channels; k++) tops.push(await top1At(k));
  const ref = tops[tops.length - 1];
  return { ...f, chosen, agree: tops.map((t) => (t === ref ? 1 : 0)) };
}

export interface DriftOptions {
  /** Recent references the estimate is taken over (AdaCompress: 10 steps; more here, images are rarer). */
  window: number;
  /** Retrain when the estimated agreement of the chosen levels falls below this. */
  threshold: number;
  /** References kept for retraining (the most recent ones). */
  keep: number;
  /** Fewest references since the last (re)training before the estimate is trusted. */
  minReferences: number;
}

export const DEFAULT_DRIFT: DriftOptions = { window: 40, threshold: 0.8, keep: 300, minReferences: 30 };

/** Rolling estimate of how often the board's chosen level keeps the answer, from reference uploads. */
export class DriftMonitor {
  private refs: ReferenceObservation[] = [];
  private sinceTrain = 0;
  constructor(readonly opts: DriftOptions = DEFAULT_DRIFT) {}

  observe(r: ReferenceObservation): void {
    if (r.chosen < 1 || r.chosen > r.agree.length)
      throw new TidepoolError("reference", `reference upload: chosen level ${r.chosen} outside 1..${r.agree.length}`);
    this.refs.push(r);
    if (this.refs.length > this.opts.keep) this.refs.shift();
    this.sinceTrain++;
  }

  /** Share of the last `window` references (since the last retraining) whose chosen level kept the answer; null before any. */
  estimate(): number | null {
    const n = Math.min(this.opts.window, this.sinceTrain, this.refs.length);
    if (n === 0) return null;
    const recent = this.refs.slice(-n);
    return recent.filter((r) => r.agree[r.chosen - 1] === 1).length / n;
  }

  needsRetrain(): boolean {
    const e = this.estimate();
    return this.sinceTrain >= this.opts.minReferences && e !== null && e < this.opts.threshold;
  }

  references(): readonly ReferenceObservation[] {
    return this.refs;
  }

  /** After a new policy is installed: the estimate restarts (the old choices say nothing about it). */
  retrained(): void {
    this.sinceTrain = 0;
  }

  /** Re-scores the held references with a candidate policy (what its chosen levels would have kept). */
  agreementOf(policy: Policy): number {
    if (!this.refs.length) return 0;
    return this.refs.filter((r) => r.agree[chooseLevel(policy, r) - 1] === 1).length / this.refs.length;
  }
}

/** A LoRaWAN downlink plan for a section: fragments with a 4-byte header (policy id low 16 bits, index, count). */
export interface DownlinkPlan {
  sectionBytes: number;
  fragmentPayload: number;
  downlinks: number;
}
export const DOWNLINK_FRAGMENT_HEADER = 4;
export function downlinkPlan(sectionBytes: number, maxPayload: number): DownlinkPlan {
  const per = maxPayload - DOWNLINK_FRAGMENT_HEADER;
  return { sectionBytes, fragmentPayload: per, downlinks: Math.ceil(sectionBytes / per) };
}

export interface RetrainResult {
  policy: Policy;
  payload: Uint8Array;
  id: number;
  trainedOn: number;
  estimatedAgreement: number;
}

/**
 * Retrains on the held references (full information: every level's outcome is known) keeping the
 * installed policy's shape, λ and tables, so the payload fits the board's policy region unchanged.
 */
export function retrain(monitor: DriftMonitor, current: Policy, o: { epochs?: number; seed?: number; weightDecay?: number } = {}): RetrainResult {
  const samples: PolicySample[] = monitor.references().map((r) => ({ features: r.features, fraction: r.fraction, agree: r.agree }));
  const { policy } = trainPolicy(samples, {
    tablesId: current.tablesId,
    lambda: current.lambdaQ8 / 256,
    minLevel: current.minLevel,
    hidden: current.hidden,
    epochs: o.epochs ?? 300,
    seed: o.seed ?? 1,
    weightDecay: o.weightDecay,
  });
  const payload = serializePolicy(policy);
  return { policy, payload, id: policyId(payload), trainedOn: samples.length, estimatedAgreement: monitor.agreementOf(policy) };
}

// ---- installing a section ----

export interface PolicyExports {
  memory: WebAssembly.Memory;
  tp_policy_ptr(): number;
  tp_policy_capacity(): number;
  tp_policy_check(): number;
}

/** Writes a new PLCY payload into a running module's policy region (what the bridge does on the board). */
export function installPolicy(ex: PolicyExports, payload: Uint8Array): void {
  parsePolicy(payload, "policy to install");
  const at = ex.tp_policy_ptr(),
    cap = ex.tp_policy_capacity();
  if (!at) throw new TidepoolError("policy-install", "the encoder module has no policy region (built from a model without a PLCY section)");
  if (payload.length > cap)
    throw new TidepoolError(
      "policy-install",
      `policy of ${payload.length} bytes does not fit the module's ${cap}-byte policy region (retrain with the installed shape)`,
    );
  const mem = new Uint8Array(ex.memory.buffer);
  const old = mem.slice(at, at + payload.length);
  mem.set(payload, at);
  const rc = ex.tp_policy_check();
  if (rc !== 0) {
    mem.set(old, at);
    throw new TidepoolError("policy-install", `the module rejected the new policy (tp_policy_check ${rc}); the old one is kept`);
  }
}

/** The model with its PLCY section replaced (for re-flashing, or the gateway's own copy). */
export function withPolicy(model: Model, payload: Uint8Array): Model {
  parsePolicy(payload, "policy section");
  return { ...model, policy: payload };
}

export function gatewayCosts(tables: EntropyTables): CostTable {
  return costTable(tables);
}
