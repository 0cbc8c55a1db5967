// Compressed split computing on the task: the "split-b2-compressed" route (device WASM head + learned
// compressor → packets within each budget → seeded packet loss → server expander + ONNX tail) on the
// imagenet-sample TEST split, top-1/top-5 per budget, at 0 % and 20 % packet loss; against the whole
// int8 classifier on the same 224² views (uncompressed reference) and the full latent without packets.
// Settings: SPLIT_FC_IMAGES (default 200), SPLIT_FC_MODEL (default models/split-b2-compressed.tpm),
// SPLIT_FC_PACKET (default 222), SPLIT_FC_LOSS (default 0,0.2), loss seed 1.
import { SplitFeatureRoute } from "../host/eval/split-feature-route.ts";
import { Classifier, classifierView } from "../host/receiver/classifier.ts";
import { imagenetSplit } from "../host/core/dataset-split.ts";

const BUDGETS = [500, 1000, 1200, 1500, 1700, 2000, 2250, 2500];

export default async function splitFeatureBench() {
  const n = Number(process.env.SPLIT_FC_IMAGES ?? 200);
  const losses = (process.env.SPLIT_FC_LOSS ?? "0,0.2").split(",").map(Number);
  const route = await SplitFeatureRoute.load({ model: process.env.SPLIT_FC_MODEL, packetBytes: Number(process.env.SPLIT_FC_PACKET ?? 222) });
  const classifier = await Classifier.load();
  const items = imagenetSplit("test").slice(0, n);
  console.log(`${route.name}: ${route.settings}`);
  console.log(`${items.length} imagenet-sample test-split images, budgets ${BUDGETS.join(", ")} B, losses ${losses.join(", ")} (seed 1)`);
  const hits = losses.map(() => BUDGETS.map(() => ({ top1: 0, top5: 0, delivered: 0, bytes: 0 })));
  const ref = { top1: 0, top5: 0 },
    full = { top1: 0, top5: 0 };
  for (const [i, it] of items.entries()) {
    const view = await classifierView(it.path);
    const [r] = await classifier.top5([view]);
    ref.top1 += r[0] === it.label ? 1 : 0;
    ref.top5 += r.includes(it.label) ? 1 : 0;
    const f = await route.decoder.classifyLatent(route.latent(view));
    full.top1 += f[0] === it.label ? 1 : 0;
    full.top5 += f.includes(it.label) ? 1 : 0;
    for (const [li, rate] of losses.entries()) {
      const got = await route.deliver(view, BUDGETS, { rate, seed: 1 });
      got.forEach((d, bi) => {
        if (!d?.top5) return;
        const h = hits[li][bi];
        h.delivered++;
        h.bytes += d.bytes;
        h.top1 += d.top5[0] === it.label ? 1 : 0;
        h.top5 += d.top5.includes(it.label) ? 1 : 0;
      });
    }
    if ((i + 1) % 25 === 0) console.log(`  ${i + 1}/${items.length} images`);
  }
  const N = items.length,
    f3 = (v: number) => (v / N).toFixed(3);
  console.log(`uncompressed reference (whole int8 classifier): top-1 ${f3(ref.top1)}, top-5 ${f3(ref.top5)}`);
  console.log(`full latent, no packets (compressor ceiling): top-1 ${f3(full.top1)}, top-5 ${f3(full.top5)}`);
  console.log("| loss | budget B | mean bytes | delivered | top-1 | top-5 | share of uncompressed top-1 |");
  console.log("|---|---|---|---|---|---|---|");
  for (const [li, rate] of losses.entries())
    for (const [bi, b] of BUDGETS.entries()) {
      const h = hits[li][bi];
      console.log(
        `| ${rate * 100} % | ${b} | ${h.delivered ? (h.bytes / h.delivered).toFixed(0) : "-"} | ${h.delivered}/${N} | ${f3(h.top1)} | ${f3(h.top5)} | ${(h.top1 / Math.max(1, ref.top1)).toFixed(2)} |`,
      );
    }
}
