// What could tell, per image, how many channels keep the classifier's answer (docs/adaptive.md §Signals):
// the AUC of cheap latent statistics for "kept at k", and two stopping rules the gateway could drive
// (it decodes each prefix as it arrives and would answer with a stop downlink): stop once the top-1 has
// been stable for s prefixes, or once the classifier is confident. Each is compared with the fixed budgets.
import { latentFeatures, type CostTable } from "../../build/policy/reference.ts";
import type { Classifier } from "../../receiver/classifier.ts";
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { latentOf, readOutcomes, type ImageOutcome } from "./outcomes.ts";
import type { TidepoolCodec } from "../tidepool-codec.ts";

/** Area under the ROC curve of score x for binary y (ties share ranks); NaN without both classes. */
export function auc(x: readonly number[], y: readonly number[]): number {
  const idx = x.map((v, i) => [v, y[i]] as const).sort((a, b) => a[0] - b[0]);
  let sumPos = 0,
    nPos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && idx[j][0] === idx[i][0]) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++)
      if (idx[k][1]) {
        sumPos += rank;
        nPos++;
      }
    i = j;
  }
  const nNeg = idx.length - nPos;
  return nPos && nNeg ? (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg) : NaN;
}

/** Cheap statistics of one latent: what the policy reads, and what else a board could compute in one pass. */
export function latentStatistics(o: ImageOutcome, costs: CostTable): Record<string, number> {
  const L = latentOf(o),
    C = L.channels,
    P = L.width * L.height,
    W = L.width,
    H = L.height;
  const f = latentFeatures(L, costs);
  const s: Record<string, number> = {};
  let total = 0;
  for (let c = 0; c < C; c++) total += f.features[c];
  s["code length, all channels"] = total;
  s["code length, channel 0"] = f.features[0];
  s["mean symbol, channel 0"] = f.features[C];
  let variance = 0,
    sparsity = 0,
    entropy = 0,
    gradient = 0;
  for (let c = 0; c < C; c++) {
    const d = L.data.subarray(c * P, (c + 1) * P);
    let m = 0;
    for (const v of d) m += v / P;
    const hist = new Map<number, number>();
    for (const v of d) {
      variance += (v - m) ** 2 / P;
      hist.set(v, (hist.get(v) ?? 0) + 1);
    }
    sparsity += Math.max(...hist.values()) / P / C;
    for (const n of hist.values()) entropy -= (n / P) * Math.log2(n / P);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        if (x) gradient += Math.abs(d[y * W + x] - d[y * W + x - 1]) / P;
        if (y) gradient += Math.abs(d[y * W + x] - d[(y - 1) * W + x]) / P;
      }
  }
  Object.assign(s, { "symbol variance": variance, "sparsity (share at the mode)": sparsity, "histogram entropy": entropy, "gradient energy": gradient });
  s["byte share of 3 channels"] = f.fraction[2];
  let curvature = 0;
  for (let k = 1; k < C - 1; k++) curvature += Math.abs(f.fraction[k + 1] - 2 * f.fraction[k] + f.fraction[k - 1]);
  s["rate curvature"] = curvature;
  return s;
}

/** AUC (folded: max(a, 1 − a)) of each statistic for "the k-channel decode keeps the original's top-1". */
export function statisticAucs(outcomes: ImageOutcome[], costs: CostTable, ks: number[]): { name: string; auc: number[] }[] {
  const stats = outcomes.map((o) => latentStatistics(o, costs));
  return Object.keys(stats[0]).map((name) => ({
    name,
    auc: ks.map((k) => {
      const a = auc(
        stats.map((s) => s[name]),
        outcomes.map((o) => (o.tpTop1[k - 1] === o.top1 ? 1 : 0)),
      );
      return Math.max(a, 1 - a);
    }),
  }));
}

export interface StopPoint {
  rule: string;
  bytes: number;
  agreement: number;
  meanLevel: number;
}

function summarizeStops(rule: string, rows: { bytes: number[]; top: number[]; top1: number }[], stopAt: (i: number) => number): StopPoint {
  let bytes = 0,
    agree = 0,
    level = 0;
  rows.forEach((r, i) => {
    const k = stopAt(i);
    bytes += r.bytes[k - 1];
    agree += r.top[k - 1] === r.top1 ? 1 : 0;
    level += k;
  });
  return { rule, bytes: bytes / rows.length, agreement: agree / rows.length, meanLevel: level / rows.length };
}

/** Stop once the prefix decode's top-1 has not changed for `s` prefixes (outcome table only). */
export function stabilityStop(outcomes: ImageOutcome[], s: number, p: number): StopPoint {
  const C = outcomes[0].tpTop1.length;
  const rows = outcomes.map((o) => ({ bytes: o.bytes[p], top: o.tpTop1, top1: o.top1 }));
  return summarizeStops(`top-1 stable for ${s} prefixes`, rows, (i) => {
    const t = rows[i].top;
    for (let k = s + 1; k <= C; k++) if (t.slice(k - 1 - s, k - 1).every((x) => x === t[k - 1])) return k;
    return C;
  });
}

/** Per-prefix classifier confidence of one image (what a gateway sees as channels arrive). */
export interface PrefixConfidence {
  name: string;
  top1: number;
  bytes: number[];
  top: number[];
  prob: number[];
  margin: number[];
}

/** Measures (and caches, JSON lines) the confidence of every prefix decode; resumable like the outcome table. */
export async function measureConfidence(
  outcomes: ImageOutcome[],
  p: number,
  t: { codec: TidepoolCodec; classifier: Classifier },
  cachePath: string,
): Promise<PrefixConfidence[]> {
  const have = new Map<string, PrefixConfidence>();
  // The same JSON-lines reader as the outcome table (a torn last line is skipped).
  for (const r of readOutcomes(cachePath) as unknown as PrefixConfidence[]) have.set(r.name, r);
  for (const o of outcomes) {
    if (have.has(o.name)) continue;
    const L = latentOf(o);
    const views = [];
    for (let k = 1; k <= L.channels; k++) views.push(await t.codec.decodePrefix(L, k));
    const c = await t.classifier.confidence(views, views.length);
    const r: PrefixConfidence = {
      name: o.name,
      top1: o.top1,
      bytes: o.bytes[p],
      top: c.map((x) => x.top1),
      prob: c.map((x) => x.prob),
      margin: c.map((x) => x.margin),
    };
    mkdirSync(dirname(cachePath), { recursive: true });
    appendFileSync(cachePath, `${JSON.stringify(r)}\n`);
    have.set(o.name, r);
  }
  return outcomes.map((o) => have.get(o.name)!);
}

/** Stop at the first prefix (≥ minLevel) whose top-1 probability reaches `tau` (else every channel). */
export function confidenceStop(rows: PrefixConfidence[], tau: number, minLevel = 1): StopPoint {
  const C = rows[0].top.length;
  return summarizeStops(`top-1 probability >= ${tau}${minLevel > 1 ? `, k >= ${minLevel}` : ""}`, rows, (i) => {
    for (let k = minLevel; k <= C; k++) if (rows[i].prob[k - 1] >= tau) return k;
    return C;
  });
}

/** The fixed budgets on the same rows (what a stopping rule has to beat). */
export function fixedPoints(rows: { bytes: number[]; top: number[]; top1: number }[]): StopPoint[] {
  const C = rows[0].top.length;
  return Array.from({ length: C }, (_, i) => summarizeStops(`fixed:${i + 1}`, rows, () => i + 1));
}
