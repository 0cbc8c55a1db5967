// The task encoder (models/task.tpm + models/decoder-task-encoder.onnx, trained end to end for
// MobileNetV2) against the picture codec with its task-aware decoder (models/default.tpm +
// models/decoder-task.onnx), in the same run: MobileNetV2 int8 (onnxruntime) top-1/top-5 on the 200
// imagenet-sample test-split images (classifier view 224², short side 256), each image sent as the
// largest channel prefix whose real packet bytes (each model's own ENTR tables) fit the budget.
// `npm run bench -- task-encoder [LIMIT]`
import { Classifier } from "../host/receiver/classifier.ts";
import { classifyAtBudgets } from "../host/eval/task-eval.ts";
import { DECODER_TASK_ONNX, loadTidepool, taskEncoderCodec, type TidepoolCodec } from "../host/eval/tidepool-codec.ts";
import { imagenetSplit } from "../host/core/dataset-split.ts";

const BUDGETS = [1000, 1200, 1500, 1700, 2000, 2250, 2500];
/** Issue 13's goals: share of the uncompressed top-1 kept at 1.2 / 1.7 / 2.25 kB (LimitNet: 0.64 / 0.71 / 0.75). */
const GOALS: Record<number, number> = { 1200: 0.7, 1700: 0.78, 2250: 0.82 };

export default async function taskEncoderBench() {
  const limit = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 0) || undefined;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const rows: { name: string; codec: TidepoolCodec }[] = [];
  const picture = await loadTidepool({ decoderPath: DECODER_TASK_ONNX, log });
  if (picture.available) rows.push({ name: "picture codec + decoder-task.onnx", codec: picture.codec });
  else console.log(`picture codec: ${picture.reason}`);
  const task = await taskEncoderCodec({ log });
  if (task.available) rows.push({ name: "task encoder (task.tpm)", codec: task.codec });
  else console.log(`task encoder: ${task.reason}`);
  if (!rows.length) return;
  const test = imagenetSplit("test").slice(0, limit);
  console.log(`imagenet-sample test split: ${test.length} images; MobileNetV2-1.0 int8 (onnxruntime) on the 224x224 view; real packet bytes`);
  const r = await classifyAtBudgets(test, BUDGETS, { classifier: await Classifier.load(), baselines: [], tidepool: rows, log });
  console.log(`uncompressed: top-1 ${r.reference.top1.toFixed(3)}, top-5 ${r.reference.top5.toFixed(3)}`);
  console.log("budget  route                               top-1  top-5  kept  goal  MS-SSIM  mean B  delivered");
  BUDGETS.forEach((b, bi) => {
    for (const c of r.curves) {
      const p = c.points[bi];
      const goal = GOALS[b] ? GOALS[b].toFixed(2) : "    ";
      console.log(
        `${`${b} B`.padEnd(7)} ${c.name.padEnd(35)} ${p.top1.toFixed(3)}  ${p.top5.toFixed(3)}  ${(p.top1 / r.reference.top1).toFixed(2)}  ${goal}  ${p.msssim.toFixed(4)}   ${Number.isFinite(p.meanBytes) ? p.meanBytes.toFixed(0).padStart(5) : "  n/a"}  ${p.delivered}/${p.of}`,
      );
    }
  });
}
