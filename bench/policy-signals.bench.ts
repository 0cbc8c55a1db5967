// `npm run bench -- policy-signals`: what could predict how many channels keep the classifier's answer
// (docs/adaptive.md §Signals), on the colour model's training outcomes (build/.cache/adaptive, measured
// on first use): AUC of cheap latent statistics, and gateway-driven stopping rules against fixed budgets.
// SIGNALS_IMAGES (default 400) bounds the outcome table, SIGNALS_CONFIDENCE_IMAGES (default 150) the
// per-prefix confidence measurement (12 decodes + classifications per image).
import { readFileSync } from "node:fs";
import { DEFAULT_MODEL_PATH } from "../host/build/build.ts";
import { costTable } from "../host/build/policy/reference.ts";
import { readModel } from "../host/model/format.ts";
import { modelTables } from "../host/wire/bitstream/tables.ts";
import { Classifier } from "../host/receiver/classifier.ts";
import { DECODER_TASK_ONNX, loadTidepool } from "../host/eval/tidepool-codec.ts";
import { encoderKey, outcomeCachePath, precomputeOutcomes } from "../host/eval/adaptive/precompute.ts";
import { packetIndex } from "../host/eval/adaptive/strategies.ts";
import { confidenceStop, fixedPoints, measureConfidence, stabilityStop, statisticAucs, type StopPoint } from "../host/eval/adaptive/signals.ts";

export default async function () {
  const model = readModel(new Uint8Array(readFileSync(DEFAULT_MODEL_PATH)), DEFAULT_MODEL_PATH);
  const costs = costTable(modelTables(model));
  const n = Number(process.env.SIGNALS_IMAGES ?? 400),
    nc = Number(process.env.SIGNALS_CONFIDENCE_IMAGES ?? 150);
  const outcomes = await precomputeOutcomes({ set: "train", scene: "day", count: n, log: (s) => console.log(s) });
  const p = packetIndex(222);
  console.log(`${outcomes.length} training images (colour model), 222-byte packets; agreement = top-1 of the k-channel decode = top-1 of the original`);
  const ks = [2, 4, 8, 12];
  console.log(`\nAUC of each statistic for "kept at k" (folded, 0.5 = no information):`);
  console.log(`  ${"statistic".padEnd(30)}${ks.map((k) => `k=${k}`.padStart(8)).join("")}`);
  for (const r of statisticAucs(outcomes, costs, ks)) console.log(`  ${r.name.padEnd(30)}${r.auc.map((a) => a.toFixed(2).padStart(8)).join("")}`);

  const show = (pts: StopPoint[]) => {
    for (const q of pts)
      console.log(`  ${q.rule.padEnd(36)} ${q.bytes.toFixed(0).padStart(6)} B  agreement ${q.agreement.toFixed(3)}  mean k ${q.meanLevel.toFixed(2)}`);
  };
  console.log("\nfixed budgets, then stopping when the top-1 is stable (outcome table only):");
  show(fixedPoints(outcomes.map((o) => ({ bytes: o.bytes[p], top: o.tpTop1, top1: o.top1 }))));
  show([1, 2, 3, 4].map((s) => stabilityStop(outcomes, s, p)));

  const status = await loadTidepool({ decoderPath: DECODER_TASK_ONNX });
  if (!status.available) {
    console.log(`\nconfidence stop: skipped (${status.reason})`);
    return;
  }
  const cache = outcomeCachePath("train", "day", `${encoderKey(model)}-confidence`);
  const rows = await measureConfidence(outcomes.slice(0, nc), p, { codec: status.codec, classifier: await Classifier.load() }, cache);
  console.log(`\non the first ${rows.length} images: fixed budgets, then stopping once the prefix decode's top-1 probability reaches τ:`);
  show(fixedPoints(rows));
  show([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].flatMap((t) => [confidenceStop(rows, t), confidenceStop(rows, t, 3)]));
}
