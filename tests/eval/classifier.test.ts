// MobileNetV2 int8 via onnxruntime-node with the documented preprocessing and label order.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { accuracy, Classifier, classifierView, MOBILENET_PATH } from "../../host/receiver/classifier.ts";
import { KODAK_DIR } from "./msssim-pairs.ts";
import { imagenetSplit } from "../../host/core/dataset-split.ts";

describe("classifier", () => {
  it("labels kodim23 as macaw (88), as the model's README records", async () => {
    const c = await Classifier.load();
    const [top] = await c.top5([await classifierView(join(KODAK_DIR, "kodim23.png"))]);
    expect(top[0]).toBe(88);
    const labels = readFileSync(join(MOBILENET_PATH, "..", "imagenet_labels.txt"), "utf8").split("\n");
    expect(labels[88]).toMatch(/macaw/);
  });

  it("gets most of a few test-split images right (the classifier view is 224x224)", async () => {
    const c = await Classifier.load();
    const test = imagenetSplit("test").slice(0, 16);
    const views = await Promise.all(test.map((t) => classifierView(t.path)));
    expect(views.every((v) => v.width === 224 && v.height === 224)).toBe(true);
    const acc = accuracy(
      await c.top5(views),
      test.map((t) => t.label),
    );
    expect(acc.top5).toBeGreaterThanOrEqual(0.75);
    expect(acc.top1).toBeLessThanOrEqual(acc.top5);
  });

  it("counts undelivered images (null) as wrong", () => {
    expect(accuracy([[1, 2, 3, 4, 5], null, [7, 1, 2, 3, 4]], [1, 9, 1])).toEqual({ top1: 1 / 3, top5: 2 / 3 });
  });

  it("names the file when the model cannot be loaded", async () => {
    await expect(Classifier.load("/nonexistent/model.onnx")).rejects.toThrow(/\/nonexistent\/model.onnx/);
  });
});
