// The 224×224 task view: MobileNetV2 top-1/top-5 on images each codec delivers within a byte budget.
// A sender transmits a real file, so each image uses the largest file within the budget (best of
// 1×/2×/4× by that file's MS-SSIM for the baselines; the largest channel prefix for Tidepool). An image
// no file of a codec fits into is not delivered and counts as wrong.
import { downscale, SCALES, type BaselineCodec } from "./baselines.ts";
import { QualitySweep } from "./budget-search.ts";
import { accuracy, classifierView, type Classifier } from "../receiver/classifier.ts";
import { msssimReference } from "./metrics.ts";
import type { TidepoolCodec } from "./tidepool-codec.ts";
import type { LabelledImage } from "../core/dataset-split.ts";
import type { RgbImage } from "../core/types.ts";

export interface TaskPoint {
  budget: number;
  top1: number;
  top5: number;
  delivered: number;
  of: number;
  meanBytes: number;
  msssim: number;
}
export interface TaskCurve {
  name: string;
  points: TaskPoint[];
}
export interface TaskResult {
  reference: { top1: number; top5: number };
  images: number;
  curves: TaskCurve[];
}

export async function classifyAtBudgets(
  items: LabelledImage[],
  budgets: number[],
  o: {
    classifier: Classifier;
    baselines: BaselineCodec[];
    /** Tidepool codecs under their report names (e.g. the reconstruction and the task-aware decoder). */
    tidepool: { name: string; codec: TidepoolCodec }[];
    log?: (s: string) => void;
  },
): Promise<TaskResult> {
  const names = [...o.tidepool.map((t) => t.name), ...o.baselines.map((b) => `${b.name}-bestscale`)];
  type Got = { top5: number[]; bytes: number; msssim: number } | null;
  const got: Got[][][] = names.map(() => budgets.map(() => [])); // [codec][budget][image]
  const refPreds: number[][] = [];
  for (const [i, item] of items.entries()) {
    const img = await classifierView(item.path);
    // Everything delivered for this image, classified in one batch (keeps memory flat).
    const pending: { ci: number; bi: number; img: RgbImage; bytes: number; msssim: number }[] = [];
    let ci = 0;
    for (const { codec: tp } of o.tidepool) {
      const latent = await tp.encode(img);
      const sizes = Array.from({ length: tp.channels }, (_, k) => tp.rate.bytes(latent, k + 1));
      for (const [bi, b] of budgets.entries()) {
        let k = 0;
        while (k < sizes.length && sizes[k] <= b) k++;
        if (k === 0) {
          got[ci][bi][i] = null;
          continue;
        }
        const dec = await tp.decodePrefix(latent, k);
        pending.push({ ci, bi, img: dec, bytes: sizes[k - 1], msssim: msssimReference(img).msssim(dec) });
      }
      ci++;
    }
    const smalls = await Promise.all(SCALES.map((s) => downscale(img, s)));
    for (const codec of o.baselines) {
      const sweeps = SCALES.map((s, si) => new QualitySweep(codec, img, smalls[si], s));
      for (const [bi, b] of budgets.entries()) {
        let best: { img: RgbImage; bytes: number; msssim: number } | null = null;
        for (const s of sweeps) {
          const { lo } = await s.bracket(b);
          if (lo === null) continue;
          const p = await s.pointAt(lo);
          if (!best || p.msssim > best.msssim) best = { img: p.decoded, bytes: p.bytes, msssim: p.msssim };
        }
        if (best) pending.push({ ci, bi, ...best });
        else got[ci][bi][i] = null;
      }
      ci++;
    }
    const preds = await o.classifier.top5([img, ...pending.map((p) => p.img)], 32);
    refPreds.push(preds[0]);
    pending.forEach((p, j) => {
      got[p.ci][p.bi][i] = { top5: preds[j + 1], bytes: p.bytes, msssim: p.msssim };
    });
    if ((i + 1) % 20 === 0) o.log?.(`classification view: ${i + 1}/${items.length} images`);
  }
  const labels = items.map((t) => t.label);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, c) => a + c, 0) / xs.length : NaN);
  const curves: TaskCurve[] = names.map((name, ci) => ({
    name,
    points: budgets.map((b, bi) => {
      const g = got[ci][bi],
        ok = g.filter((x): x is NonNullable<Got> => x !== null);
      return {
        budget: b,
        ...accuracy(
          g.map((x) => x?.top5 ?? null),
          labels,
        ),
        delivered: ok.length,
        of: items.length,
        meanBytes: mean(ok.map((x) => x.bytes)),
        msssim: mean(ok.map((x) => x.msssim)),
      };
    }),
  }));
  return { reference: accuracy(refPreds, labels), images: items.length, curves };
}
