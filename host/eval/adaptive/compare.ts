// Adaptive vs fixed vs oracle vs AdaCompress-on-JPEG over links, with the link/deadline budget applied
// (host/wire/link/budget.ts): what `tidepool simulate --policy` and `npm run bench -- adaptive` print.
import type { Policy } from "../../build/policy/section.ts";
import { TidepoolError } from "../../core/errors.ts";
import { imagesPerDay, linkBudget, loraRadio, type RadioParams } from "../../wire/link/budget.ts";
import { JPEG_QUALITIES, jpegLinkBytes, OUTCOME_PACKET_SIZES, type ImageOutcome } from "./outcomes.ts";
import {
  adaptiveStrategy,
  fixedStrategy,
  jpegAdaptiveStrategy,
  oracleStrategy,
  packetIndex,
  summarize,
  tidepoolChoice,
  type Choice,
  type JpegPolicy,
  type StrategyResult,
} from "./strategies.ts";
import type { PolicySample } from "../../build/policy/train.ts";

export type PolicySpec = { kind: "fixed"; k: number } | { kind: "adaptive" } | { kind: "oracle" } | { kind: "adacompress-jpeg" };

export function parsePolicySpec(s: string, channels: number): PolicySpec {
  const m = /^fixed:(\d+)$/.exec(s);
  if (m) {
    const k = Number(m[1]);
    if (k < 1 || k > channels) throw new TidepoolError("usage", `policy "${s}": k must be 1..${channels}`);
    return { kind: "fixed", k };
  }
  if (s === "adaptive" || s === "oracle" || s === "adacompress-jpeg") return { kind: s };
  throw new TidepoolError("usage", `policy "${s}" is not fixed:K, fixed:best, adaptive, oracle or adacompress-jpeg`);
}

export const specLabel = (p: PolicySpec) => (p.kind === "fixed" ? `fixed:${p.k}` : p.kind);

export interface LinkChoice {
  name: string;
  radio: RadioParams;
}
export const LORA_LINKS: LinkChoice[] = [7, 9, 12].map((sf) => ({ name: `lora-sf${sf}`, radio: loraRadio(sf) }));

export interface CompareRow {
  link: string;
  policy: string;
  /** Mean bytes sent per image, agreement with the original's top-1 (accuracy vs labels when labelled). */
  bytes: number;
  agreement: number;
  accuracy: number | null;
  /** Images a day under TTN's 30 s fair use at these bytes, and the share of images the link cut. */
  imagesPerDay: number;
  cut: number;
}

export interface CompareInput {
  outcomes: ImageOutcome[];
  samples: (PolicySample & { outcome: ImageOutcome })[];
  policy: Policy;
  jpeg: JpegPolicy;
  jpegLambda: number;
  /** Seconds between images (PNC's deadline); the fair-use share per image follows from it. */
  intervalS: number;
  fairUseS?: number;
}

function cutTidepool(o: ImageOutcome, c: Choice, p: number, budget: number): Choice & { cut: boolean } {
  if (c.bytes <= budget) return { ...c, cut: false };
  let k = c.level;
  while (k > 0 && o.bytes[p][k - 1] > budget) k--;
  // The packetizer stops at the budget inside channel k+1; counted as the k whole channels it carries.
  if (k === 0) return { level: 0, bytes: budget, agree: false, correct: o.label === null ? null : false, cut: true };
  return { ...tidepoolChoice(o, k, p), bytes: budget, cut: true };
}

function cutJpeg(o: ImageOutcome, c: Choice, payload: number, budget: number): Choice & { cut: boolean } {
  if (c.bytes <= budget) return { ...c, cut: false };
  let q = JPEG_QUALITIES.indexOf(c.level as never);
  while (q >= 0 && jpegLinkBytes(o.jpegBytes[q], payload) > budget) q--;
  if (q < 0) return { level: 0, bytes: 0, agree: false, correct: o.label === null ? null : false, cut: true };
  const t = o.jpegTop1[q];
  return {
    level: JPEG_QUALITIES[q],
    bytes: jpegLinkBytes(o.jpegBytes[q], payload),
    agree: t === o.top1,
    correct: o.label === null ? null : t === o.label,
    cut: true,
  };
}

export function strategyFor(spec: PolicySpec, inp: CompareInput, p: number): StrategyResult {
  switch (spec.kind) {
    case "fixed":
      return fixedStrategy(inp.outcomes, spec.k, p);
    case "oracle":
      return oracleStrategy(inp.outcomes, p);
    case "adaptive":
      return adaptiveStrategy(inp.samples, inp.policy, p);
    case "adacompress-jpeg":
      return jpegAdaptiveStrategy(inp.samples, inp.jpeg, inp.jpegLambda, OUTCOME_PACKET_SIZES[p]);
  }
}

export function compareOnLinks(inp: CompareInput, specs: PolicySpec[], links = LORA_LINKS): CompareRow[] {
  const rows: CompareRow[] = [];
  const fairUse = inp.fairUseS ?? 30;
  for (const link of links) {
    const p = packetIndex(link.radio.payloadBytes);
    // Steady state: every image gets an even share of the day's fair use; the deadline is the next image.
    const budget = linkBudget({ radio: link.radio, deadlineS: inp.intervalS, offTimeS: 0, fairUseS: fairUse, usedTodayS: 0, secondsLeftToday: 86400 }).bytes;
    for (const spec of specs) {
      const base = strategyFor(spec, inp, p);
      const cutChoices = base.choices.map((c, i) =>
        spec.kind === "adacompress-jpeg" ? cutJpeg(inp.outcomes[i], c, link.radio.payloadBytes, budget) : cutTidepool(inp.outcomes[i], c, p, budget),
      );
      const s = summarize(specLabel(spec), cutChoices);
      rows.push({
        link: link.name,
        policy: specLabel(spec),
        bytes: s.bytes,
        agreement: s.agreement,
        accuracy: s.accuracy,
        imagesPerDay: imagesPerDay(link.radio, base.bytes, fairUse),
        cut: cutChoices.filter((c) => c.cut).length / cutChoices.length,
      });
    }
  }
  return rows;
}

export function formatCompare(rows: CompareRow[], intervalS: number): string {
  const out = [
    `budget = min(policy, link): packets that end before the next image (${intervalS} s) within its share of TTN's 30 s/day fair use; images/day: 30 s / airtime at the policy's bytes`,
    "  link        policy            bytes  agreement  accuracy  images/day  cut by link",
  ];
  for (const r of rows)
    out.push(
      `  ${r.link.padEnd(11)} ${r.policy.padEnd(16)} ${r.bytes.toFixed(0).padStart(6)}  ${r.agreement.toFixed(3).padStart(9)}  ${r.accuracy === null ? "     n/a" : r.accuracy.toFixed(3).padStart(8)}  ${r.imagesPerDay.toFixed(1).padStart(10)}  ${(100 * r.cut).toFixed(0).padStart(10)}%`,
    );
  return out.join("\n");
}
