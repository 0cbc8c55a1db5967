// Budget strategies over the outcome table (host/eval/adaptive/outcomes.ts): fixed k, the oracle,
// the adaptive policy (integer reference, as the board runs it), and AdaCompress on the device JPEG.
// Each gives, per image, the level chosen, its bytes on a link's packets and whether the classifier
// kept its answer. Agreement is with MobileNetV2's top-1 on the original 224×224 view.
import { chooseLevel, costTable, latentFeatures, type CostTable, type PolicyFeatures } from "../../build/policy/reference.ts";
import type { Policy } from "../../build/policy/section.ts";
import { floatProbabilities, trainFloatPolicy, type FloatPolicy, type PolicySample } from "../../build/policy/train.ts";
import { JPEG_QUALITIES, jpegLinkBytes, latentOf, OUTCOME_PACKET_SIZES, type ImageOutcome } from "./outcomes.ts";

export type Reference = "original" | "full";

export interface Choice {
  level: number;
  bytes: number;
  agree: boolean;
  correct: boolean | null;
}
export interface StrategyResult {
  name: string;
  bytes: number;
  agreement: number;
  accuracy: number | null;
  meanLevel: number;
  choices: Choice[];
}

export function packetIndex(packetBytes: number): number {
  const i = OUTCOME_PACKET_SIZES.indexOf(packetBytes as never);
  if (i < 0) throw new Error(`outcomes keep bytes for ${OUTCOME_PACKET_SIZES.join("/")}-byte packets, not ${packetBytes}`);
  return i;
}

/** The answer a level must keep: the original's top-1, or (at a gateway, which never sees the original) the all-channels decode's. */
export const referenceTop1 = (o: ImageOutcome, ref: Reference) => (ref === "original" ? o.top1 : o.tpTop1[o.tpTop1.length - 1]);

export function tidepoolChoice(o: ImageOutcome, k: number, p: number, ref: Reference = "original"): Choice {
  const t = o.tpTop1[k - 1];
  return { level: k, bytes: o.bytes[p][k - 1], agree: t === referenceTop1(o, ref), correct: o.label === null ? null : t === o.label };
}

export function jpegChoice(o: ImageOutcome, qi: number, payload: number): Choice {
  const t = o.jpegTop1[qi];
  return { level: JPEG_QUALITIES[qi], bytes: jpegLinkBytes(o.jpegBytes[qi], payload), agree: t === o.top1, correct: o.label === null ? null : t === o.label };
}

export function summarize(name: string, choices: Choice[]): StrategyResult {
  const n = choices.length;
  const labelled = choices.filter((c) => c.correct !== null);
  return {
    name,
    choices,
    bytes: choices.reduce((a, c) => a + c.bytes, 0) / n,
    agreement: choices.filter((c) => c.agree).length / n,
    accuracy: labelled.length ? labelled.filter((c) => c.correct).length / labelled.length : null,
    meanLevel: choices.reduce((a, c) => a + c.level, 0) / n,
  };
}

/** Features and outcomes of each image as training samples of the PLCY policy. */
export function policySamples(outcomes: ImageOutcome[], costs: CostTable, ref: Reference = "original"): (PolicySample & { outcome: ImageOutcome })[] {
  return outcomes.map((o) => {
    const f = latentFeatures(latentOf(o), costs);
    const r = referenceTop1(o, ref);
    return { ...f, agree: o.tpTop1.map((t) => (t === r ? 1 : 0)), outcome: o };
  });
}

export function fixedStrategy(outcomes: ImageOutcome[], k: number, p: number): StrategyResult {
  return summarize(
    `fixed:${k}`,
    outcomes.map((o) => tidepoolChoice(o, k, p)),
  );
}

/** Each image's smallest level that keeps the answer (the cheapest level when none does): the upper bound. */
export function oracleStrategy(outcomes: ImageOutcome[], p: number): StrategyResult {
  return summarize(
    "oracle",
    outcomes.map((o) => {
      const k = o.tpTop1.indexOf(o.top1);
      return tidepoolChoice(o, k < 0 ? 1 : k + 1, p);
    }),
  );
}

export function adaptiveStrategy(
  samples: { features: Int32Array; fraction: Int32Array; outcome: ImageOutcome }[],
  policy: Policy,
  p: number,
  lambdaQ8 = policy.lambdaQ8,
  name = "adaptive",
): StrategyResult {
  return summarize(
    name,
    samples.map((s) => tidepoolChoice(s.outcome, chooseLevel(policy, s as PolicyFeatures, lambdaQ8), p)),
  );
}

// ---- AdaCompress on the device JPEG ----

/**
 * AdaCompress's learner on JPEG qualities 5..95 with the same reward (agreement − λ·bytes/reference,
 * reference = quality 75 as in the paper). State: the same cheap features as the PLCY policy (the
 * paper's 1280-d MobileNetV2 state needs a second network on the board; the JPEG oracle bounds any
 * state). Full-information bandit as for Tidepool: P(agree | q) and the byte share per quality are
 * regressed, then argmax_q P − λ·share.
 */
export interface JpegPolicy {
  agree: FloatPolicy;
  share: FloatPolicy;
}

const Q75 = JPEG_QUALITIES.indexOf(75);

export function trainJpegPolicy(samples: { features: Int32Array; outcome: ImageOutcome }[], seed = 1): JpegPolicy {
  const agree = trainFloatPolicy(
    samples.map((s) => ({ features: s.features, fraction: new Int32Array(0), agree: s.outcome.jpegTop1.map((t) => (t === s.outcome.top1 ? 1 : 0)) })),
    { tablesId: 0, lambda: 0, seed },
  );
  const share = trainFloatPolicy(
    samples.map((s) => ({ features: s.features, fraction: new Int32Array(0), agree: s.outcome.jpegBytes.map((b) => b / s.outcome.jpegBytes[Q75]) })),
    { tablesId: 0, lambda: 0, seed: seed + 1 },
  );
  return { agree, share };
}

export function jpegAdaptiveStrategy(
  samples: { features: Int32Array; outcome: ImageOutcome }[],
  jp: JpegPolicy,
  lambda: number,
  payload: number,
): StrategyResult {
  return summarize(
    "adacompress-jpeg",
    samples.map((s) => {
      const pa = floatProbabilities(jp.agree, s.features),
        sh = floatProbabilities(jp.share, s.features);
      let best = 0,
        bestScore = -Infinity;
      for (let q = 0; q < JPEG_QUALITIES.length; q++) {
        const sc = pa[q] - lambda * sh[q];
        if (sc > bestScore) {
          bestScore = sc;
          best = q;
        }
      }
      return jpegChoice(s.outcome, best, payload);
    }),
  );
}

export function jpegFixedStrategy(outcomes: ImageOutcome[], qi: number, payload: number): StrategyResult {
  return summarize(
    `jpeg:q${JPEG_QUALITIES[qi]}`,
    outcomes.map((o) => jpegChoice(o, qi, payload)),
  );
}

export function jpegOracleStrategy(outcomes: ImageOutcome[], payload: number): StrategyResult {
  return summarize(
    "jpeg-oracle",
    outcomes.map((o) => {
      const q = o.jpegTop1.indexOf(o.top1);
      return jpegChoice(o, q < 0 ? 0 : q, payload);
    }),
  );
}

export { costTable };
