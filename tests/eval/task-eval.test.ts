// The task view: each codec's largest file within a budget is classified by MobileNetV2; the shipped
// and the task-aware decoder decode the same bytes (one encoder, one bitstream), so they must deliver
// the same images at the same sizes and differ only in what the classifier sees.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jpegTurbo } from "../../host/eval/baselines.ts";
import { Classifier } from "../../host/receiver/classifier.ts";
import { classifyAtBudgets } from "../../host/eval/task-eval.ts";
import { DECODER_ONNX, DECODER_TASK_ONNX, loadTidepool } from "../../host/eval/tidepool-codec.ts";
import { imagenetSplit } from "../../host/core/dataset-split.ts";

describe.skipIf(!existsSync(DECODER_ONNX))("classifyAtBudgets", () => {
  it("delivers within budget, counts what does not fit as wrong, and pairs the task decoder with the shipped bytes", async () => {
    const shipped = await loadTidepool();
    if (!shipped.available) throw new Error(shipped.reason);
    const tidepool = [{ name: "tidepool", codec: shipped.codec }];
    if (existsSync(DECODER_TASK_ONNX)) {
      const task = await loadTidepool({ decoderPath: DECODER_TASK_ONNX, rate: shipped.codec.rate });
      if (!task.available) throw new Error(task.reason);
      tidepool.push({ name: "tidepool-task", codec: task.codec });
    }
    const budgets = [60, 1000, 2500];
    const items = imagenetSplit("test").slice(0, 3);
    const r = await classifyAtBudgets(items, budgets, { classifier: await Classifier.load(), baselines: [jpegTurbo()], tidepool });
    expect(r.images).toBe(3);
    expect(r.curves.map((c) => c.name)).toEqual([...tidepool.map((t) => t.name), "jpeg-turbo-bestscale"]);
    for (const c of r.curves) {
      c.points.forEach((p, i) => {
        expect(p.budget).toBe(budgets[i]);
        expect(p.top1).toBeLessThanOrEqual(p.top5);
        expect(p.top5).toBeLessThanOrEqual(p.delivered / p.of);
        if (p.delivered) expect(p.meanBytes).toBeLessThanOrEqual(budgets[i]);
      });
      // 60 bytes hold no picture of either codec: nothing delivered, all wrong.
      expect(c.points[0]).toMatchObject({ delivered: 0, top1: 0, top5: 0 });
      expect(c.points[2].delivered).toBe(3);
    }
    if (tidepool.length === 2) {
      const [a, b] = r.curves;
      a.points.forEach((p, i) => expect({ d: b.points[i].delivered, B: b.points[i].meanBytes }).toEqual({ d: p.delivered, B: p.meanBytes }));
      expect(a.points.map((p) => p.msssim)).not.toEqual(b.points.map((p) => p.msssim));
    }
  });
});
