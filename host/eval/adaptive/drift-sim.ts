// The drift loop in simulation (docs/adaptive.md §Drift): a camera streams day images, then the scenery
// changes (night); the board picks levels with its installed policy and sends a reference upload (all
// channels) with probability p; the gateway's monitor (host/receiver/adaptive/drift.ts) estimates the
// agreement of the chosen levels from the references and retrains below its threshold; the new policy
// is installed for the following images. Agreement of each image is with the original's top-1.
import { chooseLevel } from "../../build/policy/reference.ts";
import type { Policy } from "../../build/policy/section.ts";
import { DriftMonitor, retrain, type DriftOptions } from "../../receiver/adaptive/drift.ts";
import type { PolicySample } from "../../build/policy/train.ts";
import type { ImageOutcome } from "./outcomes.ts";
import { xorshiftRandom } from "../../core/seeded-random.ts";

export interface StreamImage extends PolicySample {
  outcome: Pick<ImageOutcome, "top1" | "tpTop1" | "bytes" | "scene">;
}

export interface DriftStep {
  index: number;
  scene: string;
  /** Level the installed policy chose, and what was sent (every channel for a reference upload). */
  level: number;
  sent: number;
  reference: boolean;
  /** The chosen level keeps the all-channels decode's answer (what the monitor estimates). */
  kept: boolean;
  /** What was sent gives the original's top-1. */
  agree: boolean;
  bytes: number;
  estimate: number | null;
  retrained: boolean;
}
export interface DriftEvent {
  index: number;
  references: number;
  sectionBytes: number;
  estimateBefore: number | null;
  estimatedAgreement: number;
}
export interface DriftRun {
  steps: DriftStep[];
  events: DriftEvent[];
}

export function simulateDrift(
  stream: StreamImage[],
  initial: Policy,
  o: { p: number; drift: DriftOptions; seed?: number; packetIndex?: number; epochs?: number },
): DriftRun {
  const monitor = new DriftMonitor(o.drift);
  const r = xorshiftRandom(o.seed ?? 7);
  const pi = o.packetIndex ?? 2;
  let policy = initial;
  const steps: DriftStep[] = [],
    events: DriftEvent[] = [];
  for (const [i, img] of stream.entries()) {
    const C = img.outcome.tpTop1.length;
    const level = chooseLevel(policy, img);
    const reference = r() < o.p;
    const sent = reference ? C : level;
    let retrained = false;
    if (reference) {
      const full = img.outcome.tpTop1[C - 1];
      monitor.observe({ features: img.features, fraction: img.fraction, chosen: level, agree: img.outcome.tpTop1.map((t) => (t === full ? 1 : 0)) });
      if (monitor.needsRetrain()) {
        const before = monitor.estimate();
        const res = retrain(monitor, policy, { seed: i + 1, epochs: o.epochs });
        events.push({
          index: i,
          references: res.trainedOn,
          sectionBytes: res.payload.length,
          estimateBefore: before,
          estimatedAgreement: res.estimatedAgreement,
        });
        policy = res.policy;
        monitor.retrained();
        retrained = true;
      }
    }
    steps.push({
      index: i,
      scene: img.outcome.scene,
      level,
      sent,
      reference,
      retrained,
      kept: img.outcome.tpTop1[level - 1] === img.outcome.tpTop1[C - 1],
      agree: img.outcome.tpTop1[sent - 1] === img.outcome.top1,
      bytes: img.outcome.bytes[pi][sent - 1],
      estimate: monitor.estimate(),
    });
  }
  return { steps, events };
}

/** Agreement and bytes over a range of steps. */
export function phase(run: DriftRun, from: number, to: number) {
  const s = run.steps.slice(from, to);
  return {
    images: s.length,
    kept: s.filter((x) => x.kept).length / Math.max(1, s.length),
    agreement: s.filter((x) => x.agree).length / Math.max(1, s.length),
    bytes: s.reduce((a, x) => a + x.bytes, 0) / Math.max(1, s.length),
    references: s.filter((x) => x.reference).length,
  };
}
