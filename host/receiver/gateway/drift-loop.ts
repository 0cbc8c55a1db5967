// The gateway's half of the adaptive policy's drift loop (docs/adaptive.md §Drift, docs/gateway.md
// §Drift): reference uploads (every channel, sent by the board with probability p on the reference
// LoRaWAN port) are decoded at every channel prefix and classified; a per-device DriftMonitor estimates
// how often the level the board's policy chose keeps the all-channels answer; below the threshold the
// gateway retrains the policy on the references it holds and offers the new PLCY section for install
// (over the bridge, or as LoRaWAN downlinks). State is in memory: a restart starts the window over.
import { chooseLevel, costTable, latentFeatures, type CostTable } from "../../build/policy/reference.ts";
import { parsePolicy, policyId, type Policy } from "../../build/policy/section.ts";
import type { Latent } from "../../core/types.ts";
import { DEFAULT_DRIFT, DriftMonitor, downlinkPlan, retrain, type DriftOptions, type ReferenceObservation } from "../adaptive/drift.ts";
import type { Codec } from "./frames.ts";

export interface DriftLoopOptions extends DriftOptions {
  /** Probability with which boards send a reference upload (what the installer sets on the board with the policy). */
  referenceProbability: number;
  /** LoRaWAN port the boards send reference uploads on (their data port + 1 by default: 9). */
  referencePort: number;
  /** Training epochs of a retraining (the gateway's TypeScript trainer). */
  epochs: number;
  /**
   * Decoupled weight decay of a retraining. Strong (1, against 1e-4 for the shipped policy's 1 275 images):
   * a few dozen references would otherwise be memorised by their features, which barely predict the
   * outcome (docs/adaptive.md); decayed weights leave mostly the new scenery's per-level rates.
   */
  weightDecay: number;
}

export const DEFAULT_DRIFT_LOOP: DriftLoopOptions = { ...DEFAULT_DRIFT, referenceProbability: 0.1, referencePort: 9, epochs: 300, weightDecay: 1 };

/** The classifier's top-1 at every channel prefix of a latent (the gateway's Labeller). */
export type PrefixClassifier = (latent: Latent, codec: Codec) => Promise<number[]>;

export interface PolicyIssue {
  deviceId: string;
  policyId: number;
  payload: Uint8Array;
  /** References it was trained on, and the estimate (of the old policy) that triggered it. */
  trainedOn: number;
  estimateBefore: number;
  /** Its kept-answer rate re-scored on the held references. */
  estimatedAgreement: number;
  atReference: number;
}

export interface DeviceDriftState {
  deviceId: string;
  /** The policy the gateway scores this device's references with: the model's, then the last one it issued. */
  policyId: number;
  references: number;
  estimate: number | null;
  retrains: number;
  /** Chosen level and kept (0/1) of every reference so far, in arrival order. */
  history: { imageRowId: number; chosen: number; kept: number; policyId: number; agree: number[] }[];
  issued: PolicyIssue[];
}

interface DeviceDrift {
  monitor: DriftMonitor;
  policy: Policy;
  payload: Uint8Array;
  costs: CostTable;
  state: DeviceDriftState;
}

export class DriftLoop {
  private readonly devices = new Map<string, DeviceDrift>();
  private readonly observed = new Set<number>();

  constructor(
    readonly o: DriftLoopOptions,
    private readonly classify: PrefixClassifier,
    private readonly onIssue: (issue: PolicyIssue) => void,
    private readonly log: (line: string) => void = () => {},
  ) {}

  isReferencePort(fPort: number): boolean {
    return fPort === this.o.referencePort;
  }

  private device(deviceId: string, codec: Codec): DeviceDrift | null {
    let d = this.devices.get(deviceId);
    if (d) return d;
    if (!codec.model.policy) return null;
    const payload = codec.model.policy;
    const policy = parsePolicy(payload, `PLCY section of ${codec.source}`);
    d = {
      monitor: new DriftMonitor(this.o),
      policy,
      payload,
      costs: costTable(codec.tables),
      state: { deviceId, policyId: policyId(payload), references: 0, estimate: null, retrains: 0, history: [], issued: [] },
    };
    this.devices.set(deviceId, d);
    return d;
  }

  /**
   * One complete reference upload (every symbol received). Scores the level the device's policy chose
   * for it, and retrains when the estimate falls below the threshold. Each image counts once.
   */
  async observe(deviceId: string, imageRowId: number, latent: Latent, codec: Codec): Promise<PolicyIssue | null> {
    if (this.observed.has(imageRowId)) return null;
    const d = this.device(deviceId, codec);
    if (!d) return null;
    if (d.policy.channels !== latent.channels || d.policy.tablesId !== codec.tables.id) return null; // another model's packets
    this.observed.add(imageRowId);
    if (this.observed.size > 10_000) this.observed.delete(this.observed.values().next().value!);
    const tops = await this.classify(latent, codec);
    const features = latentFeatures(latent, d.costs);
    // The level the board chose: the same integer policy on the same latent (bit-exact with the device).
    const chosen = chooseLevel(d.policy, features);
    const obs: ReferenceObservation = { ...features, chosen, agree: tops.map((t) => (t === tops[tops.length - 1] ? 1 : 0)) };
    d.monitor.observe(obs);
    const s = d.state;
    s.references++;
    s.estimate = d.monitor.estimate();
    s.history.push({ imageRowId, chosen, kept: obs.agree[chosen - 1], policyId: s.policyId, agree: obs.agree });
    if (!d.monitor.needsRetrain()) return null;
    const before = s.estimate ?? 0;
    const r = retrain(d.monitor, d.policy, { epochs: this.o.epochs, seed: s.retrains + 1, weightDecay: this.o.weightDecay });
    d.policy = r.policy;
    d.payload = r.payload;
    d.monitor.retrained();
    s.retrains++;
    s.policyId = r.id;
    s.estimate = null;
    const issue: PolicyIssue = {
      deviceId,
      policyId: r.id,
      payload: r.payload,
      trainedOn: r.trainedOn,
      estimateBefore: before,
      estimatedAgreement: r.estimatedAgreement,
      atReference: s.references,
    };
    s.issued.push(issue);
    const plan = downlinkPlan(r.payload.length, 115);
    this.log(
      `device ${deviceId}: kept-answer estimate ${before.toFixed(2)} < ${this.o.threshold}; retrained on ${r.trainedOn} references → policy ${r.id.toString(16).padStart(8, "0")} (${r.payload.length} B, ${plan.downlinks} downlinks at DR3)`,
    );
    this.onIssue(issue);
    return issue;
  }

  /** The references held for retraining (features, fractions, outcome per level), oldest first. */
  held(deviceId: string): readonly ReferenceObservation[] {
    return this.devices.get(deviceId)?.monitor.references() ?? [];
  }

  state(deviceId: string): DeviceDriftState | null {
    return this.devices.get(deviceId)?.state ?? null;
  }

  /** The policy section the device should run (the last one issued, else null while it runs the model's). */
  pending(deviceId: string): PolicyIssue | null {
    const s = this.devices.get(deviceId)?.state;
    return s?.issued.at(-1) ?? null;
  }
}
